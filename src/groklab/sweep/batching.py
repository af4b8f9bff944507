"""Which runs of a sweep train together in one process (train.multiseed): runs whose configs differ
only in the per-model settings (seed, data_seed, weight_decay) form a group; a group is cut into
work items of at most `max_models` runs ([batch] in the spec; default: as many as half the free
memory holds, at most DEFAULT_CAP), and, on a pool of several workers, into at least one item per
worker when it has that many runs, so batching never leaves a worker idle. An item of one run is
an ordinary single run."""

from __future__ import annotations

import math

DEFAULT_CAP = 64  # models per item when the spec does not say (and memory allows)


def default_max_models(config) -> int:
    """As many models as half the free memory holds by train.multiseed's estimate (1..DEFAULT_CAP)."""
    import torch

    from groklab.train.multiseed import available_bytes, estimate_bytes

    free = available_bytes(torch.device("cpu"))
    if free is None:
        return 8
    return int(max(1, min(DEFAULT_CAP, free // (2 * estimate_bytes(config, 1)))))


def work_items(runs: list, max_models: int | None, workers: int = 1) -> list[list]:
    """`runs` (SweepRuns, in order) as work items: lists of runs that train together."""
    from groklab.train.multiseed import batch_key

    groups: dict = {}
    for r in runs:
        groups.setdefault(batch_key(r.config), []).append(r)
    items = []
    for group in groups.values():
        cap = max_models or default_max_models(group[0].config)
        size = max(1, min(cap, math.ceil(len(group) / max(1, workers))))
        items += [group[i:i + size] for i in range(0, len(group), size)]
    return items
