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


# ---- the rule against a reference written from its statement, on varied synthetic runs ----------
def _ok(r, keys):
    return all(isinstance(r.get(k), (int, float)) and math.isfinite(r[k]) for k in keys)


def _reference_phases(rows, right=0.99, drop=0.10, window=5):
    """The docstring's rule, loop by loop."""
    rows = [r for r in rows if _ok(r, ("epoch", "loss/test", "acc/train", "acc/test"))]
    mem = next((r["epoch"] for r in rows if r["acc/train"] >= right), None)
    grok = next((r["epoch"] for r in rows if r["acc/test"] >= right), None)
    if mem is None or grok is None:
        return (mem, None, None, mem, grok)
    top = max(grok, mem)
    win = [r for r in rows if mem <= r["epoch"] <= top]
    ll = [math.log(max(r["loss/test"], 1e-300)) for r in win]
    peak = ll.index(max(ll))
    target = ll[peak] - drop * (ll[peak] - ll[-1])
    circuit = next(win[i]["epoch"] for i in range(peak, len(win)) if ll[i] <= target)
    circuit = min(max(circuit, mem), top)
    normed = [r for r in rows if _ok(r, ("epoch", "norm/total"))] or rows
    use_norm = all("norm/total" in r for r in normed)
    after = [r for r in normed if r["epoch"] >= circuit]
    cleanup = None
    if len(after) >= window + 1:
        vals = [r["norm/total"] if use_norm else math.log(max(r["loss/test"], 1e-300)) for r in after]
        dec = [-(vals[j + 1] - vals[j]) / max(after[j + 1]["epoch"] - after[j]["epoch"], 1e-12)
               for j in range(len(after) - 1)]
        fastest = 0.0
        for i in range(window - 1, len(dec)):
            rate = sum(dec[i - window + 1:i + 1]) / window
            fastest = max(fastest, rate)
            if after[i + 1]["epoch"] >= grok and fastest > 0 and rate <= drop * fastest:
                cleanup = max(after[i + 1]["epoch"], grok, circuit)
                break
    return (mem, circuit, cleanup, mem, grok)


def _random_run(rng):
    """Irregular evaluation steps, a memorization and a grokking epoch, a test-loss bump then a
    fall, a weight norm falling then flat (or none logged), noise, NaNs and zero losses."""
    epochs = np.cumsum(rng.integers(1, 25, size=rng.integers(8, 160)))
    epochs = np.concatenate([[0], epochs])
    last = int(epochs[-1])
    mem = rng.uniform(0, 0.4) * last
    grok = rng.uniform(0.05, 1.3) * last
    centre, width = grok - rng.uniform(0, 0.2) * last, rng.uniform(1, 0.1 * last + 2)
    norm = rng.random() < 0.7
    rows = []
    for e in epochs:
        fall = 1 / (1 + math.exp(-np.clip((e - centre) / width, -60, 60)))
        loss = (rng.uniform(1, 9) * (1 - fall) + rng.uniform(0, 1e-3)
                + rng.uniform(0, 2) * math.exp(-((e - mem) / (0.1 * last + 1)) ** 2))
        if rng.random() < 0.03:
            loss = 0.0
        row = {"epoch": int(e), "acc/train": 1.0 if e >= mem else rng.uniform(0, 0.98),
               "acc/test": 1.0 if e >= grok else rng.uniform(0, 0.5), "loss/test": loss}
        if norm:
            row["norm/total"] = 100 - 60 * fall + rng.normal(0, 0.3)
        if rng.random() < 0.03:
            row[rng.choice(["loss/test", "acc/test", "norm/total" if norm else "acc/train"])] = \
                float("nan")
        rows.append(row)
    return rows


def test_phases_equal_the_stated_rule_on_varied_runs():
    rng = np.random.default_rng(7)
    found = {"circuit": 0, "cleanup": 0, "none": 0}
    for _ in range(300):
        rows = _random_run(rng)
        ph = phases(rows)
        got = (ph.memorization_end, ph.circuit_formation_end, ph.cleanup_end,
               ph.memorized_epoch, ph.grokked_epoch)
        assert got == _reference_phases(rows), rows
        found["circuit"] += ph.circuit_formation_end is not None
        found["cleanup"] += ph.cleanup_end is not None
        found["none"] += ph.grokked_epoch is None
    assert min(found.values()) >= 20, found  # every branch is exercised


def test_phases_without_a_norm_use_the_test_loss_and_skip_bad_rows():
    rows = [{k: v for k, v in r.items() if k != "norm/total"} for r in _rows()]
    rows[50]["acc/train"] = "1.0"  # not a number: skipped
    ph = phases(rows)
    assert (ph.memorization_end, ph.circuit_formation_end, ph.cleanup_end) == \
        _reference_phases(rows)[:3]
    assert ph.cleanup_end is not None and ph.rule.startswith("memorization ends")
