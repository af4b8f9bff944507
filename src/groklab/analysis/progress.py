"""Progress measures over every checkpoint of a run (Nanda et al. 2023), and their correlation.

Per checkpoint: train/test loss and accuracy; restricted loss (all grid pairs) and excluded loss
(train grid pairs) for the run's final key frequencies; Gini of the Fourier norms of W_E and W_L; the
total sum of squared weights; the key frequencies by the voting rule at that checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

from groklab.analysis import keyfreq
from groklab.analysis.fourier import gini
from groklab.analysis.logits import excluded, restricted
from groklab.analysis.neurons import cluster_neurons
from groklab.analysis.probe import Probe


@dataclass(frozen=True)
class Snapshot:
    """The Fourier views of one model state, shared by the final analysis and the progress scan."""

    grid_logits: np.ndarray  # [N², N]
    views: dict[str, list[int]]
    clusters: object
    embed_energy: np.ndarray  # [K]
    unembed_energy: np.ndarray  # [K]


def snapshot(probe: Probe) -> Snapshot:
    model, c = probe.model, probe.coords
    name = model.neuron_hook
    logits, cache = model.run_with_cache(probe.grid_pairs, [name])
    acts = cache[name].reshape(len(probe.grid_pairs), -1, cache[name].shape[-1])[:, -1]
    grid = logits[:, torch.as_tensor(c.out_tokens)].double().numpy()
    clusters = cluster_neurons(acts.numpy(), c.n)
    e = keyfreq.embed_energy(model.token_embeddings().detach().double().numpy(), c)
    u = keyfreq.unembed_energy(model.neuron_to_logits().detach().double().numpy(), c)
    views = {"embed": keyfreq.energy_view(e), "neurons": keyfreq.neuron_view(clusters),
             "unembed": keyfreq.energy_view(u)}
    return Snapshot(grid, views, clusters, e, u)


@dataclass(frozen=True)
class ProgressPoint:
    epoch: int
    loss_train: float
    loss_test: float
    acc_train: float
    acc_test: float
    restricted_loss: float
    excluded_loss: float
    gini_embed: float
    gini_unembed: float
    weight_norm: float  # total sum of squared weights
    key_freqs: list[int]  # by the voting rule at this checkpoint
    gradient_symmetricity: float | None = None  # analysis.diagnostics, final coordinates
    distance_irrelevance: float | None = None

    @property
    def n_key(self) -> int:
        return len(self.key_freqs)


def measure(probe: Probe, epoch: int, freqs: list[int]) -> ProgressPoint:
    snap = snapshot(probe)
    all_logits = probe.all_from_grid(snap.grid_logits)
    all_logits = probe.all_logits() if all_logits is None else all_logits
    loss_train, acc_train = probe.scores(all_logits, probe.data.train_idx)
    loss_test, acc_test = probe.scores(all_logits, probe.data.test_idx)
    r_loss, _ = probe.grid_scores(restricted(snap.grid_logits, probe.coords, freqs))
    x_loss, _ = probe.grid_scores(excluded(snap.grid_logits, probe.coords, freqs), probe.grid_train)
    norm = sum(float(p.detach().double().pow(2).sum()) for p in probe.model.parameters())
    return ProgressPoint(epoch, loss_train, loss_test, acc_train, acc_test, r_loss, x_loss,
                         gini(np.sqrt(snap.embed_energy)), gini(np.sqrt(snap.unembed_energy)), norm,
                         keyfreq.vote(snap.views))


def scan(probe: Probe, states: Iterable[tuple[int, Callable[[], None]]], freqs: list[int],
         progress: Callable[[int], None] | None = None,
         diagnostics: Callable[[], tuple[float, float]] | None = None) -> list[ProgressPoint]:
    """Measure every (epoch, load) state: `load()` puts that checkpoint's weights in probe.model;
    `diagnostics()` gives (gradient symmetricity, distance irrelevance) of the loaded state."""
    points = []
    for epoch, load in states:
        load()
        point = measure(probe, epoch, freqs)
        if diagnostics:
            point = dataclasses.replace(point, **dict(zip(
                ("gradient_symmetricity", "distance_irrelevance"), diagnostics())))
        points.append(point)
        if progress:
            progress(epoch)
    return points


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


def emergence(points: list[ProgressPoint], freqs: list[int]) -> dict[int, int | None]:
    """For each key frequency, the first checkpoint epoch from which it stays key to the end."""
    out = {}
    for k in freqs:
        epoch = None
        for p in reversed(points):
            if k not in p.key_freqs:
                break
            epoch = p.epoch
        out[k] = epoch
    return out


LEAD_LOSS = 0.1  # nats: a loss this low means the answers are right with confidence


def lead(points: list[ProgressPoint], threshold: float = LEAD_LOSS) -> dict:
    """When structure forms vs when held-out performance follows: the first checkpoint epoch at
    which the restricted loss (the key-frequency circuit alone, all pairs) is <= threshold, the
    first at which the test loss is, and the difference (positive: the structure leads)."""
    def first(values: list[float]) -> int | None:
        return next((p.epoch for p, v in zip(points, values) if v <= threshold), None)

    restricted = first([p.restricted_loss for p in points])
    test = first([p.loss_test for p in points])
    return {"threshold": threshold, "restricted_epoch": restricted, "test_epoch": test,
            "lead_epochs": None if restricted is None or test is None else test - restricted}
