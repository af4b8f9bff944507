"""Figures of a sweep from its results table: the phase diagram over two axes, the grokking
epochs with bootstrap confidence intervals, key-frequency usage. Numbers only; report/ draws.

Regions (Liu et al. 2022, "Towards understanding grokking"), per run, by REGION_RULE:
confusion (never fits its training pairs), memorization (fits them, never generalizes), grokking
(generalizes more than COMPREHENSION_LAG epochs after fitting), comprehension (generalizes within
COMPREHENSION_LAG epochs of fitting). A cell's region is its runs' majority (ties: the later region
in that order, the one its seeds reached)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

BOOTSTRAP = 1000
CONFIDENCE = 0.95
COMPREHENSION_LAG = 100
REGIONS = ("confusion", "memorization", "grokking", "comprehension")
REGION_RULE = (f"confusion: train accuracy never >= 99%; memorization: it is, test accuracy never "
               f">= 99%; grokking: test follows train by > {COMPREHENSION_LAG} epochs; "
               f"comprehension: within {COMPREHENSION_LAG} epochs")


def region(row: dict) -> str | None:
    """The region of one finished run (None for a run that did not finish)."""
    if row.get("state") != "done":
        return None
    mem, grok = row.get("memorized_epoch"), row.get("grokked_epoch")
    if mem is None:
        return "grokking" if grok is not None else "confusion"  # test first: never seen so far
    if grok is None:
        return "memorization"
    return "grokking" if grok - mem > COMPREHENSION_LAG else "comprehension"


def bootstrap_median(values: list[float], seed: int = 0) -> tuple[float, float, float] | None:
    """(median, low, high): the median and its 95% bootstrap interval (seeded resamples)."""
    if not values:
        return None
    x = np.asarray(values, dtype=float)
    rng = np.random.Generator(np.random.PCG64(seed))
    meds = np.median(rng.choice(x, size=(BOOTSTRAP, len(x)), replace=True), axis=1)
    tail = (1 - CONFIDENCE) / 2
    return float(np.median(x)), float(np.quantile(meds, tail)), float(np.quantile(meds, 1 - tail))


def phase_diagram(rows: list[dict], x: str, y: str) -> dict:
    """Per (x, y) cell: the fraction of its runs that grokked, and their median grokking epoch."""
    xs = sorted({r[x] for r in rows})
    ys = sorted({r[y] for r in rows})
    frac = [[None] * len(xs) for _ in ys]
    median = [[None] * len(xs) for _ in ys]
    regions = [[None] * len(xs) for _ in ys]
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            cell = [r for r in rows if r[x] == xv and r[y] == yv and r["state"] == "done"]
            if cell:
                grok = [r["grokked_epoch"] for r in cell if r["grokked_epoch"] is not None]
                frac[i][j] = len(grok) / len(cell)
                median[i][j] = float(np.median(grok)) if grok else None
                counts = Counter(region(r) for r in cell)
                regions[i][j] = max(REGIONS, key=lambda g: (counts[g], REGIONS.index(g)))
    return {"x": x, "y": y, "xs": xs, "ys": ys, "fraction_grokked": frac,
            "median_grokked_epoch": median, "region": regions, "region_rule": REGION_RULE}


def grokking_by(rows: list[dict], axis: str) -> list[dict]:
    """Per value of `axis`: the grokking epochs of its runs, the median and its bootstrap CI."""
    out = []
    for v in sorted({r[axis] for r in rows}):
        epochs = [r["grokked_epoch"] for r in rows if r[axis] == v
                  and r["grokked_epoch"] is not None]
        ci = bootstrap_median(epochs)
        out.append({"value": v, "epochs": epochs,
                    "median": None if ci is None else ci[0],
                    "low": None if ci is None else ci[1], "high": None if ci is None else ci[2]})
    return out


def frequency_usage(rows: list[dict]) -> dict:
    """How many grokked runs use each key frequency (or, for group tasks, each key irrep): a run
    that never generalized has no algorithm whose parts could be counted."""
    counts: Counter = Counter()
    for r in rows:
        if r.get("grokked_epoch") is None:
            continue
        for column in ("key_frequencies", "key_irreps"):
            if r.get(column):
                counts.update(json.loads(r[column]))
    return dict(sorted(counts.items(), key=lambda kv: (isinstance(kv[0], str), kv[0])))
