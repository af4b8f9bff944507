"""Circular embeddings: each key frequency's plane, the tokens projected on it, and a circularity.

Glossary: N tokens in group coordinates, d_model. For key k, the plane is spanned by the directions
cos_k·W_E and sin_k·W_E (orthonormalized). Writing the projected token a as z_a = x_a + i·y_a,
circularity = max(|A|², |B|²)·N / Σ_a |z_a − mean z|² where A, B are the coefficients of e^{+iw_k a}
and e^{−iw_k a}: 1 for a perfect circle traversed in the order a → w_k·a, lower for an ellipse, a
scramble, or noise. Chance level for a random W_E is about d_model / (N + d_model): the plane is
chosen from the same frequency, so even noise shows some of it; `chance` reports that level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.cyclic.fourier import Coords


@dataclass(frozen=True)
class Circle:
    freq: int
    x: list[float]  # [N] projection on the plane's first axis, tokens in group order
    y: list[float]
    tokens: list[int]
    circularity: float
    chance: float


def circle(w_e: np.ndarray, c: Coords, k: int) -> Circle:
    """w_e [p, d_model] (token embeddings) -> the circle of frequency k."""
    e = w_e[c.tokens].astype(np.float64)  # [N, d]
    a = np.arange(c.n)
    cos, sin = np.cos(c.angle(k) * a), np.sin(c.angle(k) * a)
    plane = np.stack([cos @ e, sin @ e])  # [2, d]
    q, _ = np.linalg.qr(plane.T)  # [d, 2]
    xy = e @ q  # [N, 2]
    z = xy[:, 0] + 1j * xy[:, 1]
    z = z - z.mean()
    total = float((np.abs(z) ** 2).sum())
    wave = np.exp(1j * c.angle(k) * a)
    fit = max(abs(np.vdot(wave, z)) ** 2, abs(np.vdot(wave.conj(), z)) ** 2) / c.n
    d = e.shape[1]
    return Circle(k, xy[:, 0].round(5).tolist(), xy[:, 1].round(5).tolist(), c.tokens.tolist(),
                  fit / total if total else 0.0, d / (c.n + d))
