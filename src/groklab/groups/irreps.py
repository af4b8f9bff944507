"""The real irreducible representations of a finite group, built numerically and named.

Construction (any group given by its table, no per-family formulas):
1. The centre of the group algebra acts on the regular representation ℝ^G by scalars on each
   isotypic component. A random symmetric combination of class sums is therefore a symmetric
   |G|×|G| matrix whose eigenspaces are the isotypic components W_ρ (dim d_ρ²/e_ρ).
2. Inside W_ρ, a random symmetric element of the right regular action (which commutes with the left
   one) has eigenspaces that are single irreducible left-invariant subspaces V (dim d_ρ).
3. ρ(g) = Vᵀ L(g) V with V orthonormal: real orthogonal matrices, a homomorphism by construction
   (checked to 1e-9 by `check`).
Irreps here are irreducible over ℝ: a complex irrep whose character is not real (C_n's frequencies,
A4's ω pair) appears with its conjugate as one real irrep of twice the dimension (e_ρ = ⟨χ,χ⟩ = 2),
exactly as a Fourier frequency k pairs e^{ikx} with e^{-ikx}. No supported group has quaternionic irreps.

Names: S_n by partition, written `(4,1)` (Murnaghan–Nakayama characters identify them; aliases
`trivial` (n), `sign` (1^n), `standard` (n-1,1)); A_n by the larger of λ and its conjugate λ' whose
restriction it is, a self-conjugate λ that splits over ℝ giving `λ+` and `λ-` (`+`: the larger
character on the first element, in the group's numbering, where the two differ); D_n: `trivial`,
`sign` (-1 on reflections), for even n `rot` (-1 on odd rotations, +1 on the reflection s) and `ref`
(-1 on odd rotations, -1 on s), and `freq_k` (2-d, rotation by 2πk/n); C_n: `trivial`, `freq_k`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from groklab.errors import GroklabError
from groklab.groups.elements import Group

HOMOMORPHISM_TOL = 1e-9
_SEEDS = 8  # random draws tried before the decomposition is declared failed


@dataclass(frozen=True, eq=False)
class Irrep:
    """One real irrep: matrices [order, dim, dim] (orthogonal) and its character [order]."""

    name: str
    dim: int  # real dimension
    kind: int  # e = ⟨χ, χ⟩: 1 real type, 2 a complex pair merged
    matrices: np.ndarray
    character: np.ndarray

    @property
    def isotypic_dim(self) -> int:  # dimension of its component in the regular representation
        return self.dim * self.dim // self.kind


def conjugacy_classes(group: Group) -> np.ndarray:
    """Class index of every element (classes numbered by their first element). # [order]"""
    inv, table = group.inverse, group.table
    cls = np.full(group.order, -1)
    k = 0
    for g in range(group.order):
        if cls[g] < 0:
            cls[table[table[inv, g], np.arange(group.order)]] = k  # x⁻¹·g·x for every x
            k += 1
    return cls


def projector(group: Group, irrep: Irrep) -> np.ndarray:
    """P_ρ = (d/|G|)·[χ(g h⁻¹)]_{g,h} (d/e for a merged pair): the orthogonal projector onto ρ's
    isotypic component of functions on G. # [order, order]"""
    gh = group.table[:, group.inverse]  # [g, h] -> g·h⁻¹
    return irrep.dim / (irrep.kind * group.order) * irrep.character[gh]


def _clusters(values: np.ndarray, tol: float) -> list[np.ndarray]:
    order = np.argsort(values)
    breaks = np.flatnonzero(np.diff(values[order]) > tol) + 1
    return np.split(order, breaks)


def _decompose(group: Group, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W basis [order, k], V basis [order, d])] per real irrep, or raises ValueError."""
    n, table, inv = group.order, group.table, group.inverse
    cls = conjugacy_classes(group)
    weights = rng.standard_normal(cls.max() + 1)
    gh = table[:, inv]  # g·h⁻¹: L(C)[g, h] = 1 iff g·h⁻¹ ∈ C
    central = weights[cls[gh]]
    central = central + central.T
    vals, vecs = np.linalg.eigh(central)
    scale = np.abs(vals).max()
    out = []
    for idx in _clusters(vals, 1e-7 * scale):
        w = vecs[:, idx]
        picks = rng.choice(n, size=min(8, n), replace=False)
        right = np.zeros((n, n))
        for h, c in zip(picks, rng.standard_normal(len(picks))):
            right[np.arange(n), table[:, h]] += c  # R(h)[x, x·h] = 1
        right = right + right.T
        hv, he = np.linalg.eigh(w.T @ right @ w)
        parts = _clusters(hv, 1e-7 * max(np.abs(hv).max(), 1e-12))
        d = len(parts[0])
        if {len(part) for part in parts} != {d} or d * d not in (len(idx), 2 * len(idx)):
            raise ValueError("degenerate draw")  # clusters merged by chance: draw again
        out.append((w, w @ he[:, parts[0]]))
    return out


def _matrices(group: Group, v: np.ndarray) -> np.ndarray:
    """ρ(g) = Vᵀ L(g) V with (L(g)f)(x) = f(g⁻¹·x). # [order, d, d]"""
    rows = group.table[group.inverse]  # [g, x] -> g⁻¹·x
    return np.matmul(v.T[None], v[rows])  # [g, d, x] @ [g, x, d] by BLAS


def check(group: Group, irreps: list[Irrep]) -> dict:
    """Homomorphism error (max over all pairs and irreps), orthogonality of characters, Σ d²/e."""
    n = group.order
    worst = 0.0
    for rep in irreps:
        step = max(1, 4_000_000 // (n * rep.dim * rep.dim))  # rows per chunk: ~32 MB at a time
        for start in range(0, n, step):
            stop = min(n, start + step)
            prod = np.matmul(rep.matrices[start:stop, None], rep.matrices[None])  # BLAS
            want = rep.matrices[group.table[start:stop]]
            worst = max(worst, float(np.abs(prod - want).max()))
    chars = np.stack([r.character for r in irreps])
    gram = chars @ chars.T / n
    kinds = np.diag([float(r.kind) for r in irreps])
    return {"homomorphism_error": worst, "character_gram_error": float(np.abs(gram - kinds).max()),
            "sum_isotypic_dims": int(sum(r.isotypic_dim for r in irreps)), "order": n}


# ---- names ------------------------------------------------------------------------------------


def partitions(n: int, most: int | None = None) -> list[tuple[int, ...]]:
    """Partitions of n, largest parts first, in reverse lexicographic order."""
    most = n if most is None else most
    if n == 0:
        return [()]
    return [(k,) + rest for k in range(min(n, most), 0, -1) for rest in partitions(n - k, k)]


def conjugate(lam: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sum(1 for part in lam if part > i) for i in range(lam[0])) if lam else ()


def cycle_type(perm: np.ndarray) -> tuple[int, ...]:
    seen, lengths = np.zeros(len(perm), bool), []
    for i in range(len(perm)):
        length = 0
        while not seen[i]:
            seen[i], i, length = True, perm[i], length + 1
        if length:
            lengths.append(length)
    return tuple(sorted(lengths, reverse=True))


@lru_cache(maxsize=None)
def _mn(beta: tuple[int, ...], mu: tuple[int, ...]) -> int:
    if not mu:
        return 1
    r, rest, total = mu[0], mu[1:], 0
    present = set(beta)
    for b in beta:
        if b - r >= 0 and b - r not in present:
            height = sum(1 for x in beta if b - r < x < b)
            new = tuple(sorted((present - {b}) | {b - r}, reverse=True))
            total += (-1) ** height * _mn(new, rest)
    return total


def murnaghan_nakayama(lam: tuple[int, ...], mu: tuple[int, ...]) -> int:
    """χ_λ on the class of cycle type μ, by removing rim hooks (on beta-numbers)."""
    k = len(lam)
    beta = tuple(lam[i] + (k - 1 - i) for i in range(k))
    return _mn(beta, tuple(sorted(mu, reverse=True)))


def partition_name(lam: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, lam)) + ")"


def _restricted_mn(group: Group, degree: int) -> dict[tuple[int, ...], np.ndarray]:
    types = [cycle_type(p) for p in group.perms]
    return {lam: np.array([murnaghan_nakayama(lam, mu) for mu in types], dtype=float)
            for lam in partitions(degree)}


def _names(group: Group, chars: list[np.ndarray], dims: list[int]) -> list[str]:
    n = group.param
    close = lambda x, y: np.allclose(x, y, atol=1e-6)  # noqa: E731
    if group.family == "symmetric":
        table = _restricted_mn(group, n)
        return [next((partition_name(lam) for lam, c in table.items() if close(c, chi)), "?")
                for chi in chars]
    if group.family == "alternating":
        table = {lam: c for lam, c in _restricted_mn(group, n).items() if lam >= conjugate(lam)}
        names = []
        for chi in chars:
            whole = next((lam for lam, c in table.items() if close(c, chi)), None)
            if whole is not None:
                names.append(partition_name(whole))
                continue
            half = next((lam for lam, c in table.items()
                         if abs(float(c @ chi) / group.order - 1) < 1e-6), None)
            if half is None:
                names.append("?")
                continue
            other = table[half] - chi
            diff = np.flatnonzero(np.abs(chi - other) > 1e-6)
            names.append(partition_name(half) + ("+" if chi[diff[0]] > other[diff[0]] else "-"))
        return names
    if group.family == "cyclic":
        names = []
        for chi, d in zip(chars, dims):
            k = int(round(np.arccos(np.clip(chi[1] / d, -1, 1)) * n / (2 * np.pi)))
            names.append("trivial" if k == 0 else f"freq_{k}")
        return names
    if group.family != "dihedral":  # found or product groups: named by dimension, in order
        return ["trivial" if np.allclose(chi, 1) else f"d{d}_{i}"
                for i, (chi, d) in enumerate(zip(chars, dims))]
    names = []  # dihedral: element 1 is the rotation by 1, element n the reflection s
    for chi, d in zip(chars, dims):
        if d == 2:
            k = int(round(np.arccos(np.clip(chi[1] / 2, -1, 1)) * n / (2 * np.pi)))
            names.append(f"freq_{k}")
        else:
            names.append({(1, 1): "trivial", (1, -1): "sign", (-1, 1): "rot",
                          (-1, -1): "ref"}[(round(chi[1]), round(chi[n]))])
    return names


ALIASES = {"trivial", "sign", "standard"}


def resolve(group: Group, irreps: list[Irrep], name: str) -> Irrep:
    """An irrep by name or alias (`trivial`, `sign`, `standard` for S_n)."""
    lookup = {r.name: r for r in irreps}
    if group.family == "symmetric":
        n = group.param
        lookup.update({"trivial": lookup[partition_name((n,))],
                       "sign": lookup[partition_name((1,) * n)],
                       "standard": lookup[partition_name((n - 1, 1))]})
    elif group.family == "alternating":
        lookup["trivial"] = lookup[partition_name((group.param,))]
    key = name.replace(" ", "")
    if key not in lookup:
        raise GroklabError(f"irrep {name!r} is not an irrep of {group.name}; its irreps: "
                           f"{', '.join(r.name for r in irreps)}")
    return lookup[key]


def _sort_key(rep: Irrep) -> tuple:
    if rep.name == "trivial":
        return (0, 0, "")
    if rep.name.startswith("freq_"):
        return (2, int(rep.name[5:]), "")
    if rep.name.startswith("("):
        lam = tuple(int(x) for x in rep.name.strip("()+-").split(","))
        return (1, tuple(-x for x in lam), rep.name)
    return (1, 0, rep.name)


@lru_cache(maxsize=16)
def irreps(group: Group) -> list[Irrep]:
    """Every real irrep of `group`, named, trivial first. Deterministic (seeded draws)."""
    for seed in range(_SEEDS):
        rng = np.random.default_rng(seed)
        try:
            parts = _decompose(group, rng)
        except ValueError:
            continue
        reps = []
        for w, v in parts:
            mats = _matrices(group, v)
            chi = np.trace(mats, axis1=1, axis2=2)
            kind = int(round(float(chi @ chi) / group.order))
            reps.append((mats, chi, v.shape[1], kind))
        if sum(d * d // k for _, _, d, k in reps if k) != group.order or any(k not in (1, 2) for *_, k in reps):
            continue
        names = _names(group, [r[1] for r in reps], [r[2] for r in reps])
        if "?" in names or len(set(names)) != len(names):
            continue
        out = [Irrep(nm, d, k, m, c) for nm, (m, c, d, k) in zip(names, reps)]
        return sorted(out, key=_sort_key)
    raise GroklabError(f"could not decompose the regular representation of {group.name}")
