"""Which runs of a sweep train together in one process (train.multiseed): runs whose configs differ
only in the per-model settings (seed, data_seed, weight_decay and the optimizer settings of
train.multiseed.OPTIMIZER_FIELDS) form a group; a group is cut into work items of at most
`max_models` runs ([batch] in the spec), never more than half the free memory holds
(train.multiseed's estimate), and, on a pool of several workers, into at least one item per worker
when it has that many runs, so batching never leaves a worker idle. An item of one run is an
ordinary single run.

The default is 1 (no batching): sweep workers train on one CPU thread, where a batch of K models
through the loop forward (the CPU default, each model its single run bit for bit) measured
0.96-1.05x the model-epochs per second of K single runs, through vmap 0.63-0.77x
(bench/many_models.py; the matmuls are the same either way), so on a CPU batching saves
processes, not time. `max_models` > 1 turns it on."""

from __future__ import annotations

import math

DEFAULT_MAX_MODELS = 1  # on a CPU worker batching measured no faster (see above)


def work_items(runs: list, max_models: int | None, workers: int = 1) -> list[list]:
    """`runs` (SweepRuns, in order) as work items: lists of runs that train together."""
    import torch

    from groklab.train.multiseed import batch_key, memory_max_models

    groups: dict = {}
    for r in runs:
        groups.setdefault(batch_key(r.config), []).append(r)
    items = []
    for group in groups.values():
        cap = max_models or DEFAULT_MAX_MODELS
        fits = memory_max_models(group[0].config, torch.device("cpu")) if cap > 1 else None
        cap = min(cap, max(1, fits)) if fits is not None else cap
        size = max(1, min(cap, math.ceil(len(group) / max(1, workers))))
        items += [group[i:i + size] for i in range(0, len(group), size)]
    return items
