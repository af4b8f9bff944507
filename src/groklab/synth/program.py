"""The `Program`: the algorithm read out of a network, as a value with a pure numpy evaluator.

One Program type covers every family the analysis compares (analysis.families):

    x = f(a) + s·f(b),  δ = f(a) − s·f(b)  (mod N)      f: the discovered input map (token -> Z_N)
    clock:  logit(c) = scale · Σ_k A_k cos(w_k (x − g(c)) + φ_k)      g: the answers' map
    pizza:  logit(c) = scale · Σ_k M_k(δ) A_k cos(w_k (x − g(c)) + φ_k),  M_k(δ) = |cos(w_k δ/2)|
            (profile `abs_cos`), or a free table of per-δ coefficients (profile `free`)
    lookup: the stored answers of the training pairs; every other pair has no answer (−1)
    answer  = argmax_c logit(c)

Pairs whose inputs have no coordinate (0 under a discrete log) are answered from `table` in clock
and pizza (their exceptions); for lookup, `table` is the whole program.
Glossary: batch, p (tokens and classes), N (circle size), K (frequencies).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

ALGORITHMS = ("clock", "pizza", "lookup", "unknown")
MAP_KINDS = ("identity", "discrete_log", "square", "table")
PROFILES = (None, "abs_cos", "free")
LOW = -1e9


@dataclass(frozen=True)
class Program:
    """A program of one family, with its coordinates, waves and tables, as fitted."""

    algorithm: str
    p: int
    n: int
    sign: int
    input_kind: str
    output_kind: str
    generator: int | None
    in_coord: tuple[int, ...]  # [p] input token -> coordinate (−1: none)
    out_coord: tuple[int, ...]  # [p] class -> coordinate (−1: none)
    freqs: tuple[int, ...] = ()
    alpha: tuple[float, ...] = ()  # A_k
    phase: tuple[float, ...] = ()  # φ_k
    profile: str | None = None
    free_cos: tuple[tuple[float, ...], ...] = ()  # [K][N], profile `free`
    free_sin: tuple[tuple[float, ...], ...] = ()
    table: tuple[tuple[int, int, int], ...] = ()  # (a, b, answer)
    scale: float = 1.0  # one fitted temperature, used for cross-entropy only

    def __post_init__(self) -> None:
        assert self.algorithm in ALGORITHMS and self.profile in PROFILES
        assert self.input_kind in MAP_KINDS and self.output_kind in MAP_KINDS

    @property
    def waves(self) -> bool:
        return self.algorithm in ("clock", "pizza") and bool(self.freqs)

    @property
    def n_constants(self) -> int:
        """Numbers a reader must know (the description length): map tables or their one
        parameter, the sign, (k, A, φ) per frequency, a free profile, and the table entries."""
        if self.algorithm == "lookup":
            return len(self.table)
        maps = sum(self.n if kind == "table" else 1 for kind in (self.input_kind, self.output_kind))
        profile = 2 * len(self.freqs) * self.n if self.profile == "free" else 0
        return maps + 1 + 3 * len(self.freqs) + profile + len(self.table)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Program":
        tup = {k: tuple(v) for k, v in d.items() if isinstance(v, list)}
        for key in ("free_cos", "free_sin", "table"):
            if key in tup:
                tup[key] = tuple(tuple(row) for row in tup[key])
        return cls(**{**d, **tup})

    def wave_table(self) -> np.ndarray:
        """T[δ, d] = the summed waves at each (δ, d). # [N, N]"""
        n, d = self.n, np.arange(self.n)
        out = np.zeros((n, n))
        for i, (k, amp, phi) in enumerate(zip(self.freqs, self.alpha, self.phase)):
            w = 2 * np.pi * k / n
            if self.profile == "free":
                out += np.outer(self.free_cos[i], np.cos(w * d)) \
                    + np.outer(self.free_sin[i], np.sin(w * d))
                continue
            m = np.abs(np.cos(w * d / 2)) if self.profile == "abs_cos" else np.ones(n)
            out += np.outer(m, amp * np.cos(w * d + phi))
        return out

    def logits(self, a, b) -> np.ndarray:  # [batch] x [batch] -> [batch, p]
        a = np.atleast_1d(np.asarray(a, dtype=np.int64))
        b = np.atleast_1d(np.asarray(b, dtype=np.int64))
        out = np.zeros((len(a), self.p))
        stored = {(x, y): c for x, y, c in self.table}
        if self.waves:
            f, g = np.asarray(self.in_coord), np.asarray(self.out_coord)
            regular = (f[a] >= 0) & (f[b] >= 0)
            x = (f[a] + self.sign * f[b]) % self.n
            delta = (f[a] - self.sign * f[b]) % self.n
            classes = np.flatnonzero(g >= 0)
            d = (x[:, None] - g[classes][None, :]) % self.n
            out[:] = LOW
            out[np.ix_(regular, classes)] = self.scale * self.wave_table()[delta[regular][:, None],
                                                                           d[regular]]
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
            if (x, y) in stored:
                out[i] = LOW
                out[i, stored[(x, y)]] = self.scale
        return out

    def answer(self, a, b) -> np.ndarray:  # [batch]; −1: the program has no answer
        a = np.atleast_1d(np.asarray(a, dtype=np.int64))
        b = np.atleast_1d(np.asarray(b, dtype=np.int64))
        out = self.logits(a, b).argmax(-1)
        stored = {(x, y) for x, y, _ in self.table}
        known = np.array([(x, y) in stored for x, y in zip(a.tolist(), b.tolist())], dtype=bool)
        if self.waves:
            f = np.asarray(self.in_coord)
            known |= (f[a] >= 0) & (f[b] >= 0)
        return np.where(known, out, -1)
