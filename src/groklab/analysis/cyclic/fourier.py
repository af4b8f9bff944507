"""The Fourier toolkit of a cyclic group Z_N, and the group coordinates of each task.

Glossary: N (group order: p for add/sub, p-1 for mul/div via discrete logs), K = N // 2 frequencies
(k = 1..K), freq (an integer k; w_k = 2πk/N), d (any feature width).

The analyses never choose coordinates from the task's name: `Coords` are built from the maps
discovered in the weights (analysis.frame, analysis.coordinates). For `mul` and `div` those are
discrete logarithms: with g a generator of Z_p^*, the token x != 0 sits at coordinate log_g x of
Z_{p-1}, and a·b becomes log a + log b; token 0 has no coordinate and pairs involving it are left
out of the Fourier views. `task_coords` builds the known coordinates of a task, for tests and
hand-built models only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from groklab.config import is_prime

TEMPLATE_TASKS = ("add", "sub", "mul", "div")


def fourier_basis(n: int) -> np.ndarray:
    """Orthonormal real Fourier basis of Z_n, rows: const, cos_1, sin_1, ..., cos_K, sin_K
    (and the Nyquist cos for even n). # [n, n]"""
    x = np.arange(n)
    rows = [np.full(n, 1 / np.sqrt(n))]
    for k in range(1, (n - 1) // 2 + 1):
        rows.append(np.sqrt(2 / n) * np.cos(2 * np.pi * k * x / n))
        rows.append(np.sqrt(2 / n) * np.sin(2 * np.pi * k * x / n))
    if n % 2 == 0:
        rows.append(np.cos(np.pi * x) / np.sqrt(n))
    return np.stack(rows)


def n_freqs(n: int) -> int:
    """Frequencies k = 1..N//2; for even N the last, N/2 (Nyquist), has a cosine only."""
    return n // 2


def basis_rows(n: int, k: int) -> list[int]:
    """Rows of `fourier_basis(n)` that belong to frequency k (one row for the Nyquist)."""
    return [n - 1] if 2 * k == n else [2 * k - 1, 2 * k]


def freq_norms(m: np.ndarray) -> np.ndarray:
    """Fourier norm of each frequency k = 1..K over the first axis of m [N, d]. # [K]"""
    n = m.shape[0]
    coeffs = fourier_basis(n) @ m.reshape(n, -1).astype(np.float64)  # [N, d]
    return np.array([np.sqrt((coeffs[basis_rows(n, k)] ** 2).sum())
                     for k in range(1, n_freqs(n) + 1)])


def gini(c: np.ndarray) -> float:
    """Gini coefficient (Hurley & Rickard 2009) of non-negative values: 0 flat, -> 1 sparse."""
    c = np.sort(np.abs(np.asarray(c, dtype=np.float64)))
    n = len(c)
    if n == 0 or c.sum() == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(1 - 2 * np.sum((c / c.sum()) * (n - i + 0.5) / n))


@lru_cache(maxsize=None)
def generator(p: int) -> int:
    """The smallest generator of Z_p^* (p prime)."""
    order = p - 1
    factors = {q for q in range(2, order + 1) if order % q == 0 and is_prime(q)}
    return next(g for g in range(2, p) if all(pow(g, order // q, p) != 1 for q in factors)) \
        if p > 2 else 1


@dataclass(frozen=True)
class Coords:
    """How tokens and answers sit in the cyclic group Z_N where the algorithm runs.

    tokens[i] is the input token at coordinate i (for mul/div: g^i), out_tokens[i] the answer class
    at coordinate i; `sign` is +1 when the inputs combine as i + j, -1 for i - j. `template`: the
    coordinates were discovered (bijective maps); False for the plain token order used when no
    map fits, where the Fourier views are shown for reference only."""

    p: int
    n: int
    tokens: np.ndarray  # [N] token of each coordinate
    sign: int
    generator: int | None
    template: bool
    out_tokens: np.ndarray  # [N] class of each coordinate

    @property
    def freqs(self) -> np.ndarray:  # [K]
        return np.arange(1, n_freqs(self.n) + 1)

    def angle(self, k: int | np.ndarray) -> np.ndarray:
        return 2 * np.pi * np.asarray(k) / self.n


def task_coords(task: str, p: int) -> Coords:
    """The known group coordinates of a template task mod p (tests and hand-built models)."""
    if task in ("mul", "div"):
        g = generator(p)
        tokens = np.array([pow(g, i, p) for i in range(p - 1)], dtype=np.int64)
        return Coords(p, p - 1, tokens, 1 if task == "mul" else -1, g, True, tokens)
    return Coords(p, p, np.arange(p), -1 if task == "sub" else 1, None, task in TEMPLATE_TASKS,
                  np.arange(p))


def plain_coords(p: int) -> Coords:
    """Token order, sign +1: the frame of reference when no coordinates were discovered."""
    return Coords(p, p, np.arange(p), 1, None, False, np.arange(p))
