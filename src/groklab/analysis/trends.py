"""Trends over the checkpoints of a run, for any domain: rank correlation, and when structure leads
held-out performance (the `lead` of a progress curve whose points have restricted_loss and
loss_test)."""

from __future__ import annotations

import numpy as np

from groklab.rules import LEAD_LOSS


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):
        tie = x == value
        ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(x, y) -> float:
    if len(x) < 3:
        return float("nan")
    rx, ry = rankdata(x), rankdata(y)
    return float(np.corrcoef(rx, ry)[0, 1])




def lead(points: list, threshold: float = LEAD_LOSS) -> dict:
    """When structure forms vs when held-out performance follows: the first checkpoint epoch at
    which the restricted loss (the key-frequency circuit alone, all pairs) is <= threshold, the
    first at which the test loss is, and the difference (positive: the structure leads)."""
    def first(values: list[float]) -> int | None:
        return next((p.epoch for p, v in zip(points, values) if v <= threshold), None)

    restricted = first([p.restricted_loss for p in points])
    test = first([p.loss_test for p in points])
    return {"threshold": threshold, "restricted_epoch": restricted, "test_epoch": test,
            "lead_epochs": None if restricted is None or test is None else test - restricted}
