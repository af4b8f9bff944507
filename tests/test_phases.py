"""Phases and co-movement: known answers on synthetic curves, invariance to the run's length."""

import math

import numpy as np
import pytest

from groklab.analysis.grokking import phases
from groklab.analysis.cyclic.progress import ProgressPoint
from groklab.analysis.trends import lead, spearman


def _rows(last: int = 6000, nan_at: int | None = None) -> list[dict]:
    """A run that memorizes at 100, groks at 2000 (test loss falls from 1500 on) and whose weight
    norm falls fast from 1500 and flattens out by ~2500."""
    rows = []
    for e in range(0, last + 1, 10):
        fall = 1 / (1 + math.exp(-(e - 1800) / 80))  # the sharp fall, centred at 1800
        test_loss = 8.0 * (1 - fall) + 1e-3 + 0.5 * math.exp(-((e - 300) / 200) ** 2)
        rows.append({"epoch": e, "acc/train": 1.0 if e >= 100 else e / 200,
                     "acc/test": 1.0 if e >= 2000 else 0.02, "loss/test": test_loss,
                     "norm/total": 100 - 60 * fall})
    if nan_at is not None:
        rows[nan_at // 10]["loss/test"] = float("nan")
    return rows


def test_phases_known_answer_and_order():
    ph = phases(_rows())
    assert ph.memorization_end == 100 and ph.grokked_epoch == 2000
    assert 1500 <= ph.circuit_formation_end <= 1800  # the fall has begun, before grokking
    assert 2000 <= ph.cleanup_end <= 2400  # the norm has flattened
    assert ph.memorization_end <= ph.circuit_formation_end <= ph.grokked_epoch <= ph.cleanup_end


def test_phases_do_not_depend_on_how_long_the_run_went_on():
    long, short = phases(_rows(12000)), phases(_rows(3500))
    for key in ("memorization_end", "circuit_formation_end", "cleanup_end"):
        assert getattr(short, key) == pytest.approx(getattr(long, key), rel=0.05)


def test_phases_are_nan_safe_and_none_without_grokking():
    ph = phases(_rows(nan_at=1000))
    assert ph.cleanup_end is not None and ph.grokked_epoch == 2000
    never = [dict(r, **{"acc/test": 0.02}) for r in _rows()]
    ph = phases(never)
    assert ph.memorization_end == 100 and ph.circuit_formation_end is None \
        and ph.cleanup_end is None


def test_spearman_known_answers():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)  # 1 − 6·4/(5·24)
    assert math.isnan(spearman([1, 2], [1, 2]))


def _point(epoch: int, restricted: float, test: float) -> ProgressPoint:
    return ProgressPoint(epoch, 0.0, test, 1.0, 0.0, restricted, 1.0, 0.0, 0.0, 1.0, [])


def test_lead_is_measured_between_the_crossings():
    points = [_point(e, r, t) for e, r, t in
              [(0, 5, 5), (100, 2, 6), (200, 0.05, 3), (300, 0.01, 0.5), (400, 0.01, 0.05)]]
    assert lead(points) == {"threshold": 0.1, "restricted_epoch": 200, "test_epoch": 400,
                            "lead_epochs": 200}
    assert lead(points[:3])["lead_epochs"] is None
    assert np.isfinite(lead(points)["lead_epochs"])
