"""Neurons in Fourier terms: each neuron's best frequency, its FVE, and the frequency clusters.

Glossary: N (group order), K frequencies, d_mlp neurons. A neuron's activations at the last position
over the N×N grid, transformed with the basis on both sides, minus the constant term, is its
variance; its FVE for k is the share of that variance in the 3×3 block {const, cos_k, sin_k}².
A neuron belongs to cluster k when its best FVE exceeds 0.85 (SCIENCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.fourier import fourier_basis, n_freqs

CLUSTER_FVE = 0.85


def neuron_fve(acts: np.ndarray, n: int) -> np.ndarray:
    """FVE of each neuron for each frequency k = 1..K. acts [N², d_mlp] -> [d_mlp, K]"""
    f = fourier_basis(n).astype(np.float32)
    x = acts.reshape(n, n, -1).astype(np.float32)
    coef = np.einsum("ia,abd->ibd", f, x, optimize=True)
    coef = np.einsum("jb,ibd->ijd", f, coef, optimize=True)  # [N, N, d_mlp]
    energy = coef.astype(np.float64) ** 2
    total = energy.sum((0, 1)) - energy[0, 0]  # [d_mlp]
    k = n_freqs(n)
    out = np.empty((acts.shape[1], k))
    for freq in range(1, k + 1):
        idx = [0, 2 * freq - 1, 2 * freq]
        block = energy[np.ix_(idx, idx)].sum((0, 1)) - energy[0, 0]
        out[:, freq - 1] = block / np.maximum(total, 1e-30)
    out[total <= 1e-20] = 0.0  # dead neurons explain nothing
    return out


@dataclass(frozen=True)
class NeuronClusters:
    """Best frequency and FVE per neuron; cluster sizes; the fraction explained (FVE > 0.85)."""

    best_freq: list[int]  # [d_mlp]
    best_fve: list[float]  # [d_mlp]
    clusters: dict[int, int]  # frequency -> number of neurons with best FVE > 0.85
    fraction_explained: float
    dead: int  # neurons with no variance over the grid


def cluster_neurons(acts: np.ndarray, n: int) -> NeuronClusters:
    fve = neuron_fve(acts, n)
    best = fve.argmax(1) + 1
    best_fve = fve.max(1)
    explained = best_fve > CLUSTER_FVE
    clusters = {int(k): int(c) for k, c in zip(*np.unique(best[explained], return_counts=True))}
    dead = int((acts.std(0) == 0).sum())
    return NeuronClusters(best.tolist(), best_fve.round(5).tolist(),
                          dict(sorted(clusters.items(), key=lambda kv: -kv[1])),
                          float(explained.mean()), dead)
