"""Headline epochs of a run from its metric rows: memorization and grokking.

memorized_epoch: the first epoch with train accuracy >= threshold (0.99).
grokked_epoch: the first epoch with test accuracy >= threshold (0.99).
"""

from __future__ import annotations

from groklab.epochs import first_epoch


def summarize(rows: list[dict], stopped: str, wall_s: float) -> dict:
    last = rows[-1]
    return {
        "epochs": last["epoch"],
        "stopped": stopped,
        "memorized_epoch": first_epoch(rows, "acc/train"),
        "grokked_epoch": first_epoch(rows, "acc/test"),
        "final": {k: v for k, v in last.items() if not k.startswith("norm/") or k == "norm/total"},
        "wall_s": round(wall_s, 2),
    }
