"""The logits in Fourier terms: restricted and excluded logits, and the interference (cos) fit.

Glossary: N (group order), K (key frequencies), grid rows (i, j) i-major, classes c in group
coordinates. With s the task's sign, the algorithm's pair directions are cos(w_k(i + s·j)) and
sin(w_k(i + s·j)) over the N² pairs, and its readout is Σ_k α_k cos(w_k(i + s·j − c)).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from groklab.analysis.cyclic.fourier import Coords


def _grid(c: Coords) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.meshgrid(np.arange(c.n), np.arange(c.n), indexing="ij")
    return i.ravel(), j.ravel()


def pair_directions(c: Coords, freqs) -> np.ndarray:
    """Orthonormal cos/sin directions of w_k(i + s·j) over the grid, two per frequency. # [2K, N²]"""
    i, j = _grid(c)
    ks = np.asarray(list(freqs), dtype=float)
    theta = np.outer(c.angle(ks), i + c.sign * j)  # [K, N²]
    scale = np.where(2 * ks == c.n, 1.0, np.sqrt(2.0))[:, None, None] / c.n  # Nyquist: cos only
    return (np.stack([np.cos(theta), np.sin(theta)], 1) * scale).reshape(-1, c.n * c.n)


def restricted(logits: np.ndarray, c: Coords, freqs) -> np.ndarray:
    """Keep only the constant and the key directions of the logits [N², N] (per class)."""
    d = pair_directions(c, freqs)
    const = logits.mean(0, keepdims=True)
    return const + d.T @ (d @ logits)


def excluded(logits: np.ndarray, c: Coords, freqs) -> np.ndarray:
    """Remove exactly the key directions from the logits [N², N]."""
    d = pair_directions(c, freqs)
    return logits - d.T @ (d @ logits)


@lru_cache(maxsize=8)
def _phase_index(n: int, sign: int) -> np.ndarray:  # [N², N]: (i + s·j − c) mod N
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return (i.ravel()[:, None] + sign * j.ravel()[:, None] - np.arange(n)[None, :]) % n


@dataclass(frozen=True)
class LogitFit:
    """Σ_k α_k cos(w_k(i + s·j − c) + φ_k) fitted to the logits centred over c."""

    freqs: list[int]
    alpha: list[float]  # amplitude of each key frequency's wave (cosine form, no phase)
    amplitude: list[float]  # amplitude of the fit with phases
    phase: list[float]  # φ_k of the fit with phases (radians)
    fve: float  # fraction of logit variance explained by the cosine form (φ = 0), as the paper
    fve_with_phase: float  # the same with a fitted phase per frequency


def fit_logits(logits: np.ndarray, c: Coords, freqs) -> LogitFit:
    """Least-squares fit of the key waves. The features cos/sin(w_k d), d = i + s·j − c, are
    orthogonal over pairs × classes with squared norm N³/2, so each coefficient is a 1-D Fourier
    coefficient of T[d] = Σ_{pairs, c: i+s·j−c ≡ d} centred logit, and the explained variance is
    Σ coefficient² · N³/2."""
    freqs = [int(k) for k in freqs]
    centred = logits - logits.mean(1, keepdims=True)
    total = float((centred**2).sum())
    t = np.bincount(_phase_index(c.n, c.sign).ravel(), weights=centred.ravel(), minlength=c.n)
    d = np.arange(c.n)
    norms = [c.n**3 if 2 * k == c.n else c.n**3 / 2 for k in freqs]  # Nyquist: cos only
    cos_coef = [float(t @ np.cos(c.angle(k) * d)) / m for k, m in zip(freqs, norms)]
    sin_coef = [float(t @ np.sin(c.angle(k) * d)) / m for k, m in zip(freqs, norms)]
    explained_cos = sum(m * a * a for m, a in zip(norms, cos_coef))
    explained_both = explained_cos + sum(m * b * b for m, b in zip(norms, sin_coef))
    fve = explained_cos / total if total else 0.0
    fve_phase = explained_both / total if total else 0.0
    phase = [float(np.arctan2(-b, a)) for a, b in zip(cos_coef, sin_coef)]
    amplitude = [float(np.hypot(a, b)) for a, b in zip(cos_coef, sin_coef)]
    return LogitFit(freqs, cos_coef, amplitude, phase, fve, fve_phase)


def interference(fit: LogitFit, c: Coords, i: int, j: int) -> dict:
    """Each key frequency's wave over the classes c for the pair at coordinates (i, j), their sum,
    and where the sum peaks (the answer's coordinate when the algorithm is at work)."""
    cs = np.arange(c.n)
    waves = {k: (a * np.cos(c.angle(k) * (i + c.sign * j - cs))).tolist()
             for k, a in zip(fit.freqs, fit.alpha)}
    total = np.sum(list(waves.values()), axis=0) if waves else np.zeros(c.n)
    return {"i": i, "j": j, "a": int(c.tokens[i]), "b": int(c.tokens[j]),
            "tokens": c.tokens.tolist(), "sign": c.sign,
            "classes": c.out_tokens.tolist(), "waves": {str(k): w for k, w in waves.items()},
            "sum": np.asarray(total).tolist(),
            "argmax_token": int(c.out_tokens[int(np.argmax(total))])}
