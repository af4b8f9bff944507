"""The network on every token pair, in coordinates discovered from its weights.

A `Frame` holds the logits of all p² token pairs and the discovered maps: input tokens -> Z_N (from
the embeddings), answer classes -> Z_N (from the unembedding), the sign s with which the two inputs
combine (x = f(a) + s·f(b)), and a unit u aligning a table map to the answers' coordinates. For the
regular pairs (both inputs have a coordinate) it defines
    x = f(a) + s·f(b),   δ = f(a) − s·f(b)   (mod N),   and d = x − g(c) for each class c.
Sign and unit are chosen as those under which a function of d alone explains the most logit
variance (the best possible clock): the data decide, never the task's name. The task's labels and
split are carried only to score programs.

Glossary: p (tokens, classes), N (circle), rows (p² token pairs, a-major: row a·p + b), C (classes
with a coordinate).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import gcd

import numpy as np
import torch

from groklab.analysis.cyclic.coordinates import CoordMap, discover_map, identity_map
from groklab.analysis.cyclic.fourier import Coords, plain_coords
from groklab.models import HookedModel
from groklab.tasks import Dataset


@dataclass
class Frame:
    """All-pair logits and labels, with the discovered coordinates."""

    p: int
    n: int
    sign: int
    unit: int  # the input map was rescaled by this unit to align with the answers
    input_map: CoordMap
    output_map: CoordMap
    logits: np.ndarray  # [p², p] float64
    labels: np.ndarray  # [p²] true answer, -1 for pairs outside the task (div by 0)
    train: np.ndarray  # [p²] bool
    clock_share: float  # logit variance explained by the best function of d (regular pairs)

    # ---- derived index arrays (computed once: the fields are not changed after building) ------
    @cached_property
    def a(self) -> np.ndarray:  # [p²]
        return np.arange(self.p * self.p) // self.p

    @cached_property
    def b(self) -> np.ndarray:  # [p²]
        return np.arange(self.p * self.p) % self.p

    @cached_property
    def valid(self) -> np.ndarray:  # [p²]
        return self.labels >= 0

    @cached_property
    def test(self) -> np.ndarray:  # [p²]
        return self.valid & ~self.train

    @cached_property
    def regular(self) -> np.ndarray:  # [p²] both inputs have a coordinate
        f = self.input_map.array
        return (f[self.a] >= 0) & (f[self.b] >= 0)

    @cached_property
    def classes(self) -> np.ndarray:  # [C] classes with a coordinate
        return np.flatnonzero(self.output_map.array >= 0)

    @cached_property
    def x(self) -> np.ndarray:  # [p²] (−1 off the regular pairs)
        f = self.input_map.array
        return np.where(self.regular, (f[self.a] + self.sign * f[self.b]) % self.n, -1)

    @cached_property
    def delta(self) -> np.ndarray:  # [p²]
        f = self.input_map.array
        return np.where(self.regular, (f[self.a] - self.sign * f[self.b]) % self.n, -1)

    def d(self, rows: np.ndarray) -> np.ndarray:  # [len(rows), C]
        y = self.output_map.array[self.classes]
        return (self.x[rows][:, None] - y[None, :]) % self.n

    def centred(self, rows: np.ndarray) -> np.ndarray:  # [len(rows), C] logits centred per row
        z = self.logits[np.ix_(rows, self.classes)]
        return z - z.mean(1, keepdims=True)

    @cached_property
    def network_answer(self) -> np.ndarray:  # [p²]
        return self.logits.argmax(1)

    @property
    def maps(self) -> tuple[CoordMap, CoordMap]:
        return self.input_map, self.output_map

    def to_dict(self) -> dict:
        return {"n": self.n, "sign": self.sign, "unit": self.unit,
                "input_map": self.input_map.to_dict(), "output_map": self.output_map.to_dict(),
                "clock_share": round(self.clock_share, 6)}


@torch.no_grad()
def all_pair_logits(model: HookedModel, p: int) -> np.ndarray:  # [p², p]
    a, b = np.divmod(np.arange(p * p), p)
    pairs = torch.as_tensor(np.stack([a, b], 1))
    return model.logits(pairs).double().numpy()


def _labels(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    idx = data.index_grid.ravel()
    labels = np.where(idx >= 0, data.labels[np.maximum(idx, 0)], -1)
    return labels, data.is_train[np.maximum(idx, 0)] & (idx >= 0)


def _zy_sums(logits: np.ndarray, fin: np.ndarray, fout: np.ndarray, n: int, sign: int
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """Sums and counts of the centred logits over each (z, y), z = f(a) + s·f(b), y = g(c), and
    their total square. # [N, N], [N, N], float"""
    p = len(fin)
    a, b = np.divmod(np.arange(p * p), p)
    rows = np.flatnonzero((fin[a] >= 0) & (fin[b] >= 0))
    classes = np.flatnonzero(fout >= 0)
    z = logits[np.ix_(rows, classes)]
    z = z - z.mean(1, keepdims=True)
    x = (fin[a[rows]] + sign * fin[b[rows]]) % n
    cell = (x[:, None] * n + fout[classes][None, :]).ravel()
    sums = np.bincount(cell, weights=z.ravel(), minlength=n * n).reshape(n, n)
    counts = np.bincount(cell, minlength=n * n).reshape(n, n)
    return sums, counts, float((z**2).sum())


def _d_share(sums: np.ndarray, counts: np.ndarray, total: float, unit: int) -> float:
    """Variance share explained by the mean over each d = unit·z − y (a clock with every
    frequency)."""
    n = len(sums)
    z, y = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    d = ((unit * z - y) % n).ravel()
    s = np.bincount(d, weights=sums.ravel(), minlength=n)
    c = np.bincount(d, weights=counts.ravel(), minlength=n)
    return float((s**2 / np.maximum(c, 1)).sum()) / total if total > 0 else 0.0


def build_frame(model: HookedModel, data: Dataset, maps: tuple[CoordMap, CoordMap] | None = None,
                alignment: tuple[int, int] | None = None) -> Frame:
    """The frame of `model` on `data`'s task. `maps` and `alignment` (sign, unit) fix the
    coordinates (e.g. the final checkpoint's, when scanning a run: pass `frame.maps` and
    `(frame.sign, 1)`, its input map being aligned already); otherwise they are discovered."""
    p = data.task.p
    if maps is None:
        rows_in = model.token_embeddings().detach().double().numpy()[:p]
        readout = model.neuron_to_logits()
        if readout.shape[0] == 0:  # an attention-only transformer: the unembedding reads the answers
            readout = model.unembed.W_U
        rows_out = readout.detach().double().numpy().T
        fin, fout = discover_map(rows_in), discover_map(rows_out)
        if fin.n != fout.n:  # the two sides disagree on the circle: no common coordinates
            fin = fout = identity_map(p)
        maps = (fin, fout)
    return frame_from_logits(all_pair_logits(model, p), data, maps, alignment)


def frame_from_logits(logits: np.ndarray, data: Dataset, maps: tuple[CoordMap, CoordMap],
                      alignment: tuple[int, int] | None = None) -> Frame:
    """A frame of given all-pair logits [p², p] on the maps (sign and unit discovered unless
    `alignment` fixes them)."""
    p = data.task.p
    labels, train = _labels(data)
    fin, fout = maps
    units = [u for u in range(1, fin.n) if gcd(u, fin.n) == 1] \
        if "table" in (fin.kind, fout.kind) else [1]
    signs = (1, -1)
    if alignment is not None:
        signs, units = (alignment[0],), [alignment[1]]
    best = (-1.0, 1, 1)
    for sign in signs:
        sums, counts, total = _zy_sums(logits, fin.array, fout.array, fin.n, sign)
        for unit in units:
            share = _d_share(sums, counts, total, unit)
            if share > best[0] + 1e-9:  # ties keep the first: sign +1, the smallest unit
                best = (share, sign, unit)
    share, sign, unit = best
    return Frame(p, fin.n, sign, unit, fin.scaled(unit) if unit != 1 else fin, fout, logits,
                 labels, train, max(share, 0.0))


def frame_coords(frame: Frame) -> Coords:
    """The Fourier views' coordinates: the frame's maps when both are bijections onto Z_N and the
    inputs' map is structured; the plain token order otherwise."""
    fin, fout = frame.maps
    if not (fin.bijective and fout.bijective and fin.structured and fout.structured):
        return plain_coords(frame.p)
    return Coords(frame.p, frame.n, fin.tokens(), frame.sign, fin.generator, True, fout.tokens())
