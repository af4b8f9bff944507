"""Phases of a run from its metrics (a declared rule), after Nanda et al. 2023.

The boundaries are anchored before or at the grokking epoch, or found by a causal (look-back only)
test, so the same run cut at two lengths past cleanup gets the same phases:
- memorization ends at the first evaluated epoch with train accuracy >= 99%;
- circuit formation ends when the test loss starts its sharp fall: the first epoch after the end of
  memorization at which log test loss has fallen DROP of the way from its peak (between the end of
  memorization and grokking) to its value at grokking (test accuracy >= 99%);
- cleanup ends when the weight norm stops falling sharply: the first epoch from grokking on at which
  its decline per epoch, averaged over the last WINDOW evaluations, is <= DROP x the fastest such
  decline since circuit formation ended (the log test loss stands in when no weight norm is logged).
The phases are ordered (memorization end <= circuit formation end <= grokking <= cleanup end); rows
with a non-finite value are skipped; a run that never memorizes or never generalizes gets None for
the phases it did not reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from groklab.epochs import first_epoch
from groklab.rules import PHASE_DROP, PHASE_WINDOW, RIGHT

DROP = PHASE_DROP
WINDOW = PHASE_WINDOW
RULE = (f"memorization ends at train acc >= {RIGHT}; circuit formation ends when log test loss has "
        f"fallen {DROP:.0%} of the way from its peak (after memorization) to its value at grokking "
        f"(test acc >= {RIGHT}); cleanup ends, from grokking on, when the weight norm's decline per "
        f"epoch (mean of the last {WINDOW} evaluations) is <= {DROP:.0%} of its fastest since "
        "circuit formation ended")


@dataclass(frozen=True)
class Phases:
    memorization_end: int | None
    circuit_formation_end: int | None
    cleanup_end: int | None
    memorized_epoch: int | None
    grokked_epoch: int | None
    rule: str = RULE


def _finite(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [r for r in rows if all(isinstance(r.get(k), (int, float)) and math.isfinite(r[k])
                                   for k in keys)]


def _circuit_end(rows: list[dict], mem: int, grok: int) -> int:
    window = [r for r in rows if mem <= r["epoch"] <= grok]
    log_loss = np.log(np.maximum([r["loss/test"] for r in window], 1e-300))
    peak = int(np.argmax(log_loss))
    target = log_loss[peak] - DROP * (log_loss[peak] - log_loss[-1])
    i = next(i for i in range(peak, len(window)) if log_loss[i] <= target)
    return window[i]["epoch"]


def _cleanup_end(rows: list[dict], circuit_end: int, grok: int) -> int | None:
    key = "norm/total" if all("norm/total" in r for r in rows) else "loss/test"
    after = [r for r in rows if r["epoch"] >= circuit_end]
    if len(after) < WINDOW + 1:
        return None
    epochs = np.array([r["epoch"] for r in after], dtype=float)
    values = np.array([r[key] for r in after], dtype=float)
    values = np.log(np.maximum(values, 1e-300)) if key == "loss/test" else values
    decline = -np.diff(values) / np.maximum(np.diff(epochs), 1e-12)  # per epoch, >0 when falling
    fastest = 0.0
    for i in range(WINDOW - 1, len(decline)):
        rate = float(decline[i - WINDOW + 1:i + 1].mean())
        fastest = max(fastest, rate)
        epoch = int(epochs[i + 1])
        if epoch >= grok and fastest > 0 and rate <= DROP * fastest:
            return epoch
    return None


def phases(rows: list[dict]) -> Phases:
    rows = _finite(rows, ("epoch", "loss/test", "acc/train", "acc/test"))
    mem = first_epoch(rows, "acc/train")
    grok = first_epoch(rows, "acc/test")
    if mem is None or grok is None:
        return Phases(mem, None, None, mem, grok)
    circuit = max(_circuit_end(rows, mem, max(grok, mem)), mem)
    circuit = min(circuit, max(grok, mem))
    norm_rows = _finite(rows, ("epoch", "norm/total")) or rows
    cleanup = _cleanup_end(norm_rows, circuit, grok)
    return Phases(mem, circuit, None if cleanup is None else max(cleanup, grok, circuit), mem, grok)
