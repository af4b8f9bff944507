"""The `Program`: the algorithm read out of a network, as a value with a pure numpy evaluator.

For a task with a template (add, sub, mul, div) the program is

    x = i + s·j  (mod N)          i, j: the group coordinates of a and b (discrete logs for mul/div)
    logit(c) = scale · Σ_k α_k cos(w_k (x − c) + φ_k),   w_k = 2πk/N
    answer  = argmax_c logit(c)

with one special case for mul and div: a pair with a = 0 (or b = 0 for mul) has answer 0, and 0 is
never the answer otherwise. Glossary: batch, p (tokens and classes), N (group order), K frequencies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TEMPLATES = ("add", "sub", "mul", "div")


@dataclass(frozen=True)
class Program:
    """A Fourier program: task, modulus, key frequencies, amplitudes and phases, readout."""

    task: str
    p: int
    n: int  # group order: p (add, sub) or p - 1 (mul, div)
    sign: int  # +1: x = i + j, -1: x = i - j
    generator: int | None  # of Z_p^* for mul/div
    freqs: tuple[int, ...]
    alpha: tuple[float, ...]
    phase: tuple[float, ...]
    scale: float = 1.0  # one fitted temperature, used for cross-entropy only

    readout = "argmax_c sum_k alpha_k cos(w_k (x - c) + phi_k), x = i + s j in group coordinates"

    @property
    def n_constants(self) -> int:
        """Numbers a reader must know: p, the generator (mul/div), and (k, α, φ) per frequency."""
        return 1 + (self.generator is not None) + 3 * len(self.freqs)

    def to_dict(self) -> dict:
        return asdict(self)

    def _coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """token -> coordinate (−1 for 0 under mul/div), and coordinate -> token."""
        if self.generator is None:
            return np.arange(self.p), np.arange(self.p)
        tokens = np.array([pow(self.generator, i, self.p) for i in range(self.n)])
        coord = np.full(self.p, -1)
        coord[tokens] = np.arange(self.n)
        return coord, tokens

    def logits(self, a, b) -> np.ndarray:  # [batch] x [batch] -> [batch, p]
        a, b = np.atleast_1d(np.asarray(a, dtype=np.int64)), np.atleast_1d(np.asarray(b, dtype=np.int64))
        coord, tokens = self._coordinates()
        x = (coord[a] + self.sign * coord[b]) % self.n  # [batch]
        d = np.arange(self.n)
        wave = np.zeros(self.n)  # the summed waves as a function of d = x − c
        for k, alpha, phi in zip(self.freqs, self.alpha, self.phase):
            wave += alpha * np.cos(2 * np.pi * k * d / self.n + phi)
        out = np.full((len(a), self.p), -1e9)
        out[:, tokens] = self.scale * wave[(x[:, None] - d[None, :]) % self.n]
        if self.generator is not None:
            zero = (a == 0) | ((b == 0) if self.task == "mul" else np.zeros_like(a, dtype=bool))
            out[zero] = -1e9
            out[zero, 0] = 1e9
        return out

    def answer(self, a, b) -> np.ndarray:  # [batch]
        return self.logits(a, b).argmax(-1)
