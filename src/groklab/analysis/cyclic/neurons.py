"""Neurons in Fourier terms: each neuron's best frequency, its FVE, and the frequency clusters.

Glossary: N (group order), K frequencies, d_mlp neurons. A neuron's activations at the last position
over the N×N grid, transformed with the basis on both sides, minus the constant term, is its
variance; its FVE for k is the share of that variance in the 3×3 block {const, cos_k, sin_k}².
A neuron belongs to cluster k when its best FVE exceeds 0.85 (docs/science.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.cyclic.fourier import basis_rows, fourier_basis, n_freqs
from groklab.rules import NEURON_FVE

CLUSTER_FVE = NEURON_FVE


def neuron_fve(acts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """FVE of each neuron for each frequency k = 1..K, and each neuron's variance over the grid.
    acts [N², d_mlp] -> ([d_mlp, K], [d_mlp])

    Only the 3×3 blocks are needed: transform over a once (F A), then contract each block's three
    rows with the three basis vectors over b (two for the Nyquist frequency of an even N). In
    float64 on activations centred per neuron, so a large mean cannot swamp a small variance; the
    total is then, by Parseval, the sum of squares."""
    f = fourier_basis(n)
    flat = acts.astype(np.float64)
    flat = flat - flat.mean(0)
    over_a = (f @ flat.reshape(n, n * acts.shape[1])).reshape(n, n, -1)  # [basis over a, b, d]
    total = (flat**2).sum(0)  # [d_mlp]
    k_n = n_freqs(n)
    out = np.empty((acts.shape[1], k_n))
    for freq in range(1, k_n + 1):
        idx = [0] + basis_rows(n, freq)
        block = np.einsum("rbd,cb->rcd", over_a[idx], f[idx], optimize=True)  # [3, 3, d]
        out[:, freq - 1] = (block**2).sum((0, 1)) / np.maximum(total, 1e-300)
    out[total <= 1e-12 * max(float(total.max(initial=0.0)), 1e-30)] = 0.0  # dead neurons explain nothing
    return out, total


@dataclass(frozen=True)
class NeuronClusters:
    """Best frequency and FVE per neuron; cluster sizes; the fraction explained (FVE > 0.85)."""

    best_freq: list[int]  # [d_mlp]
    best_fve: list[float]  # [d_mlp]
    clusters: dict[int, int]  # frequency -> number of neurons with best FVE > 0.85
    fraction_explained: float
    dead: int  # neurons with no variance over the grid


def cluster_neurons(acts: np.ndarray, n: int) -> NeuronClusters:
    fve, total = neuron_fve(acts, n)
    best = fve.argmax(1) + 1
    best_fve = fve.max(1)
    explained = best_fve > CLUSTER_FVE
    clusters = {int(k): int(c) for k, c in zip(*np.unique(best[explained], return_counts=True))}
    dead = int((total <= 1e-12 * max(float(total.max(initial=0.0)), 1e-30)).sum())
    return NeuronClusters(best.tolist(), best_fve.round(5).tolist(),
                          dict(sorted(clusters.items(), key=lambda kv: -kv[1])),
                          float(explained.mean()) if len(explained) else 0.0, dead)
