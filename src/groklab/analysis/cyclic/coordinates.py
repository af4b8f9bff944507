"""Coordinates discovered from the weights: on which circle does each token (and each answer) sit?

Nothing here reads the task's name. For a matrix R with one row per token (the embeddings W_E) or
per answer class (the rows of W_L^T), each candidate map f: token -> Z_N is scored by how much of
R's centred energy lies in the frequencies of Z_N that stand out under f (energy >= MAP_RATIO x the
median energy; the median, not a lower floor, because the planes of a map that is not a bijection
overlap, and every frequency then carries a little of the others):

- identity      f(t) = t,            N = p
- discrete_log  f(t) = log_g t,      N = p - 1, p prime, g the smallest generator (token 0: none)
- square        f(t) = t^2 mod p,    N = p (two tokens share each nonzero coordinate)
- table         f decoded from the circle planes of R (planes inside R's top singular subspace
                where every token has the same radius): each plane j puts token t at angle
                2πk_j f(t)/p + φ_j, and f(t) is read from all planes at once (`decode_table`).

The best closed form is taken when its share is >= MAP_MIN_SHARE; otherwise the table when it
decodes to a bijection that the planes fit (>= TABLE_MIN_FIT); otherwise no map fits and the
identity is used, marked `structured: false`.

A discrete-log frequency k is reported for the smallest generator g: with another generator
g' = g^u the same wave has frequency k*u^-1 mod N, so fixing g makes k canonical. A table's
coordinates are defined up to a shift and a unit (x -> u*x + s); `families` aligns them to the
answers' coordinates.

Glossary: p (tokens, classes), N (circle size), K (frequencies 1..N//2), d (row width).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from groklab.analysis.cyclic.fourier import generator
from groklab.config import is_prime

MAP_KINDS = ("identity", "discrete_log", "square", "table")
MAP_MIN_SHARE = 0.5
MAP_RATIO = 5.0  # a frequency stands out under a map at >= 5x the median energy of its frequencies
SHARE_TIE = 0.05
TABLE_TOP_VECTORS = 8  # the table's circle is sought among planes of this many singular vectors
TABLE_COMBINATIONS = 4  # random combinations of the second-order null space
TABLE_RANDOM_STARTS = 12  # random starting planes of the descent
TABLE_STEPS = 200
TABLE_SV_SHARE = 0.2  # ... of those with singular value >= this share of the largest
TABLE_MIN_FIT = 0.8  # |mean exp(i(θ − 2πk x/p − φ))| of a plane against decoded coordinates
TABLE_MAX_PLANES = 12  # planes decoded together (the cleanest)
TABLE_MAX_RADIUS_CV = 0.25
MAP_RULE = (f"the closed-form map (identity, discrete_log, square) whose stand-out frequencies hold "
            f">= {MAP_MIN_SHARE:.0%} of the centred energy, the largest share winning (within "
            f"{SHARE_TIE} of it, the fewest frequencies); else a table "
            f"decoded from the circle planes (radius CV <= {TABLE_MAX_RADIUS_CV}) inside the top "
            f"singular subspace when they fit the decoded coordinates (>= {TABLE_MIN_FIT}) and "
            "those are a bijection; "
            "else none (identity, unstructured)")


@dataclass(frozen=True)
class CoordMap:
    """token -> coordinate in Z_N (-1: the token has none), with the evidence for it."""

    kind: str
    n: int
    coord: tuple[int, ...]  # [p]
    generator: int | None = None
    share: float = 0.0  # energy share of the stand-out frequencies under this map
    structured: bool = True
    candidates: dict[str, float] = field(default_factory=dict)  # kind -> share

    @property
    def array(self) -> np.ndarray:  # [p]
        return np.asarray(self.coord, dtype=np.int64)

    @property
    def bijective(self) -> bool:
        """Every coordinate of Z_N holds exactly one token."""
        c = self.array[self.array >= 0]
        return len(c) == self.n and len(set(c.tolist())) == self.n

    def tokens(self) -> np.ndarray:  # [N] the token at each coordinate (bijective maps only)
        out = np.full(self.n, -1, dtype=np.int64)
        ok = self.array >= 0
        out[self.array[ok]] = np.flatnonzero(ok)
        return out

    def scaled(self, unit: int, shift: int = 0) -> "CoordMap":
        """The same map in coordinates x -> unit*x + shift (mod N)."""
        c = self.array
        new = np.where(c >= 0, (unit * c + shift) % self.n, -1)
        return CoordMap(self.kind, self.n, tuple(int(v) for v in new), self.generator, self.share,
                        self.structured, self.candidates)

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "n": self.n, "generator": self.generator,
               "share": round(self.share, 6), "structured": self.structured,
               "candidates": {k: round(v, 6) for k, v in self.candidates.items()}}
        if self.kind == "table":
            out["table"] = list(self.coord)
        return out


def identity_map(p: int) -> CoordMap:
    return CoordMap("identity", p, tuple(range(p)))


def closed_forms(p: int) -> list[CoordMap]:
    """The closed-form candidate maps for p tokens."""
    t = np.arange(p)
    maps = [identity_map(p), CoordMap("square", p, tuple(int(v) for v in (t * t) % p))]
    if is_prime(p) and p > 3:
        g = generator(p)
        log = np.full(p, -1, dtype=np.int64)
        log[[pow(g, i, p) for i in range(p - 1)]] = np.arange(p - 1)
        maps.insert(1, CoordMap("discrete_log", p - 1, tuple(int(v) for v in log), g))
    return maps


def map_spectrum(rows: np.ndarray, cmap: CoordMap) -> tuple[np.ndarray, float]:
    """Energy of each frequency k = 1..N//2 of the rows [p, d] under `cmap`, and the total centred
    energy. Each frequency's energy is that of the rows' projection on span{cos, sin}(2πk f(t)/N)
    (exactly Parseval's per-frequency energy when f is a bijection). # [K]"""
    c = cmap.array
    ok = c >= 0
    x = rows[ok].astype(np.float64)
    x = x - x.mean(0)
    total = float((x**2).sum())
    ks = np.arange(1, cmap.n // 2 + 1)
    theta = 2 * np.pi * np.outer(ks, c[ok]) / cmap.n  # [K, m]
    cos, sin = np.cos(theta), np.sin(theta)
    cos -= cos.mean(1, keepdims=True)
    sin -= sin.mean(1, keepdims=True)
    cx, sx = cos @ x, sin @ x  # [K, d]
    cc, ss, cs = (cos**2).sum(1), (sin**2).sum(1), (cos * sin).sum(1)
    det = cc * ss - cs**2
    full = det > 1e-9 * np.maximum(cc * ss, 1e-300)
    energy = np.where(cc > 1e-12, (cx**2).sum(1) / np.maximum(cc, 1e-300), 0.0)  # cos only
    two = (ss[:, None] * cx**2 - 2 * cs[:, None] * cx * sx + cc[:, None] * sx**2).sum(1)
    energy = np.where(full, two / np.where(full, det, 1.0), energy)
    return np.maximum(energy, 0.0), total


def stand_out(rows: np.ndarray, cmap: CoordMap) -> tuple[float, int]:
    """(share of the centred energy in the frequencies that stand out under `cmap`, how many)."""
    energy, total = map_spectrum(rows, cmap)
    if total <= 0 or not len(energy):
        return 0.0, 0
    floor = max(float(np.median(energy)), 1e-6 * float(energy.max()), 1e-30)
    keys = np.flatnonzero(energy >= MAP_RATIO * floor)
    return (float(min(1.0, energy[keys].sum() / total)), len(keys)) if len(keys) else (0.0, 0)


def _round_plane(y: np.ndarray, start: np.ndarray, steps: int = TABLE_STEPS) -> np.ndarray:
    """Descend from the plane `start` [D, 2] to a plane where every token's squared radius
    ‖Vᵀy_t‖² is the same (the relative variance of the radii is minimized over orthonormal V)."""
    yt = torch.as_tensor(y)
    w = torch.nn.Parameter(torch.as_tensor(start).clone())
    opt = torch.optim.Adam([w], lr=0.05)
    for _ in range(steps):
        q, _ = torch.linalg.qr(w)
        r = ((yt @ q) ** 2).sum(1)
        loss = r.var() / r.mean() ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    q, _ = torch.linalg.qr(w.detach())
    return y @ q.numpy()


def _null_space_starts(y: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Planes from the second-order statistics: each frequency's projector P_k keeps yᵀP_k y
    constant, so it lies in the null space of the covariance of vec(y yᵀ); a random combination of
    that space's smallest directions has eigenvalue β_k twice on plane k (exact when the
    frequencies have no additive relations; otherwise a starting point for the descent)."""
    dim = y.shape[1]
    iu = np.triu_indices(dim)
    weight = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    phi = (y[:, iu[0]] * y[:, iu[1]]) * weight
    phi = phi - phi.mean(0)
    _, vecs = np.linalg.eigh(phi.T @ phi)
    m, out = dim // 2, []
    for _ in range(TABLE_COMBINATIONS):
        b = np.zeros((dim, dim))
        b[iu] = vecs[:, :m] @ rng.normal(size=m) / weight
        _, dirs = np.linalg.eigh(b + np.triu(b, 1).T)
        out += [dirs[:, [2 * i, 2 * i + 1]] for i in range(m)]
    return out


def circle_planes(rows: np.ndarray) -> Iterator[np.ndarray]:
    """Candidate circle planes of rows [p, d], as [p, 2] token coordinates, cheapest first. A
    linear readout mixes the planes of different frequencies, so the top singular vectors need not
    be circles. Whitened (y_t: the rows in the orthonormal basis of the top singular vectors), a
    frequency's plane keeps the radius ‖Vᵀy_t‖ the same for every token: tried are the pairs of
    singular vectors, planes from second-order statistics, then planes found by descending the
    radii's relative variance over orthonormal V from those and from random starts (seeded)."""
    x = rows.astype(np.float64) - rows.mean(0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    big = int((s >= TABLE_SV_SHARE * s[0]).sum()) if len(s) and s[0] > 0 else 0
    dim = min(TABLE_TOP_VECTORS, big + big % 2, len(s))
    if dim < 2:
        return
    y = u[:, :dim]
    for i in range(dim):
        for j in range(i + 1, dim):
            yield y[:, [i, j]]
    rng = np.random.Generator(np.random.PCG64(0))
    starts = _null_space_starts(y, rng)
    for v in starts:
        yield y @ v
    starts += [rng.normal(size=(dim, 2)) for _ in range(TABLE_RANDOM_STARTS)]
    with torch.enable_grad():
        for v in starts:
            yield _round_plane(y, v)


def _relation(units: np.ndarray, x: np.ndarray, p: int) -> tuple[int, float, float]:
    """The frequency k, phase φ and fit R (1: exact) of u_t ≈ exp(i(2πk·x_t/p + φ)). units [p]"""
    ks = np.arange(1, p)
    fits = (units[None, :] * np.exp(-2j * np.pi * np.outer(ks, x) / p)).mean(1)  # [p-1]
    best = int(np.argmax(np.abs(fits)))
    return int(ks[best]), float(np.angle(fits[best])), float(np.abs(fits[best]))


def decode_table(units: list[np.ndarray], p: int) -> tuple[np.ndarray | None, float]:
    """Token coordinates from several circle planes at once, as the network reads them: each plane
    j puts token t at angle 2πk_j·x_t/p + φ_j; x_t maximizes Σ_j cos(θ_j(t) − 2πk_j x/p − φ_j).
    A rough start comes from the first plane's angles (k = 1 defines the coordinates); the (k_j,
    φ_j) are fitted, the tokens decoded, and both refined once. Returns (coords or None when they
    are not a bijection or the planes do not fit, the mean fit of the planes used)."""
    x = np.round(np.angle(units[0]) * p / (2 * np.pi)).astype(np.int64) % p
    cand = np.exp(2j * np.pi * np.arange(p) / p)  # [p] unit angle of each candidate x (k = 1)
    fit = 0.0
    for _ in range(2):
        rel = [_relation(u, x, p) for u in units]
        used = [(u, k, phi, r) for u, (k, phi, r) in zip(units, rel) if r >= TABLE_MIN_FIT]
        if not used:
            return None, max((r for _, _, r in rel), default=0.0)
        score = sum(np.real(u[:, None] * np.conj(cand[None, :] ** k * np.exp(1j * phi)))
                    for u, k, phi, _ in used)  # [token, x]
        x = score.argmax(1)
        fit = float(np.mean([r for *_, r in used]))
    rel = [_relation(u, x, p)[2] for u, *_ in used]
    fit = float(np.mean(rel))
    ok = len(set(x.tolist())) == p and fit >= TABLE_MIN_FIT
    return (x if ok else None), fit


def circle_table(rows: np.ndarray) -> tuple[CoordMap | None, float]:
    """The table map read from the circle planes of rows [p, d]: (map or None, the fit of the
    planes to the decoded coordinates)."""
    p = rows.shape[0]
    units: list[tuple[float, np.ndarray]] = []  # (radius CV, unit complex per token)
    best = 0.0
    for plane in circle_planes(rows):
        z = plane[:, 0] + 1j * plane[:, 1]
        z = z - z.mean()
        radius = np.abs(z)
        cv = float(radius.std() / max(radius.mean(), 1e-300))
        if cv > TABLE_MAX_RADIUS_CV:
            continue
        units.append((cv, z / np.maximum(radius, 1e-300)))
        units.sort(key=lambda cu: cu[0])
        planes = [u for _, u in units[:TABLE_MAX_PLANES]]
        new = next(i for i, (_, u) in enumerate(units) if u is planes[-1]) \
            if len(units) <= TABLE_MAX_PLANES else None
        refs = range(len(planes)) if new is None else [new] + list(range(len(planes)))
        for ref in dict.fromkeys(refs):  # each plane in turn defines the coordinates
            coords, fit = decode_table([planes[ref]] + planes[:ref] + planes[ref + 1:], p)
            best = max(best, fit)
            if coords is not None:
                return CoordMap("table", p, tuple(int(v) for v in coords), None, fit), fit
    return None, best


def discover_map(rows: np.ndarray) -> CoordMap:
    """The coordinate map of rows [p, d] (token embeddings or answer unembeddings) by MAP_RULE."""
    p = rows.shape[0]
    scored = [(*stand_out(rows, m), m) for m in closed_forms(p)]
    candidates = {m.kind: s for s, _, m in scored}
    top = max(s for s, _, _ in scored)
    # among maps within SHARE_TIE of the best share, the sparsest (fewest frequencies) wins: a
    # function of t^2 is also a function of 2*log t, spread over every even frequency
    share, _, best = min((x for x in scored if x[0] >= top - SHARE_TIE), key=lambda x: x[1])
    if share >= MAP_MIN_SHARE:
        return CoordMap(best.kind, best.n, best.coord, best.generator, share, True, candidates)
    table, fit = circle_table(rows)
    candidates["table"] = fit
    if table is not None:
        return CoordMap("table", p, table.coord, None, stand_out(rows, table)[0], True,
                        candidates)
    return CoordMap("identity", p, tuple(range(p)), None, candidates["identity"], False,
                    candidates)
