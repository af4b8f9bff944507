"""Progress measures over every checkpoint of a run (Nanda et al. 2023), and their correlation.

Per checkpoint: train/test loss and accuracy; restricted loss (all grid pairs) and excluded loss
(train grid pairs) for the run's final key frequencies; Gini of the Fourier norms of W_E and W_L; the
total sum of squared weights; the key frequencies by the voting rule at that checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from groklab.analysis.cyclic import keyfreq
from groklab.analysis.cyclic.fourier import gini
from groklab.analysis.cyclic.logits import excluded, restricted
from groklab.analysis.cyclic.neurons import cluster_neurons
from groklab.analysis.cyclic.probe import Probe
from groklab.models.hooks import by_position


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
    acts = by_position(cache[name])[:, -1]
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
