"""Headline epochs of a run from its metric rows, shared by training (summary.json) and analysis
(phases): the first epoch at which a metric reaches a threshold."""

from __future__ import annotations

import math

from groklab.rules import RIGHT

THRESHOLD = RIGHT  # train accuracy: memorized; test accuracy: grokked


def first_epoch(rows: list[dict], key: str, threshold: float = THRESHOLD) -> int | None:
    """The first row's epoch with a finite `key` >= threshold, or None."""
    for r in rows:
        value = r.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value) and value >= threshold:
            return r["epoch"]
    return None
