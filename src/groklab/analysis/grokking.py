"""Phases of a run from its metrics (a declared rule), after Nanda et al. 2023.

- memorization ends at the first evaluated epoch with train accuracy >= 99%;
- circuit formation ends when cleanup starts: the first epoch after the test-loss peak (searched from
  the end of memorization) where log test loss has fallen by 10% of its range
  (log peak − log minimum after the peak);
- cleanup ends at the first epoch where log test loss is within 10% of that range of its minimum.
A run that never memorizes or never generalizes gets None for the phases it did not reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.train.summary import first_epoch

DROP = 0.10


@dataclass(frozen=True)
class Phases:
    memorization_end: int | None
    circuit_formation_end: int | None
    cleanup_end: int | None
    memorized_epoch: int | None
    grokked_epoch: int | None
    rule: str = ("memorization ends at train acc >= 0.99; circuit formation ends when log test loss "
                 "has dropped 10% of its peak-to-minimum range; cleanup ends within 10% of the minimum")


def phases(rows: list[dict]) -> Phases:
    mem = first_epoch(rows, "acc/train")
    grok = first_epoch(rows, "acc/test")
    if mem is None:
        return Phases(None, None, None, mem, grok)
    after = [r for r in rows if r["epoch"] >= mem]
    log_loss = np.log(np.maximum([r["loss/test"] for r in after], 1e-12))
    peak = int(np.argmax(log_loss))
    low = float(log_loss[peak:].min())
    span = float(log_loss[peak] - low)
    if grok is None or span <= 0:
        return Phases(mem, None, None, mem, grok)
    start = next(i for i in range(peak, len(after)) if log_loss[i] <= log_loss[peak] - DROP * span)
    end = next(i for i in range(start, len(after)) if log_loss[i] <= low + DROP * span)
    circuit_end = max(after[start]["epoch"], mem)
    return Phases(mem, circuit_end, max(after[end]["epoch"], circuit_end), mem, grok)
