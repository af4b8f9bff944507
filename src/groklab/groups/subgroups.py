"""Every subgroup of a finite group, read from its composition table: conjugacy classes, orders,
cosets and names where the isomorphism type is a standard one.

Enumeration. Every subgroup K is the end of a chain 1 = K0 < K1 < ... < K with K_{i+1} = ⟨K_i, g⟩,
and ⟨xHx⁻¹, xgx⁻¹⟩ = x⟨H, g⟩x⁻¹; so it suffices to extend one representative H of each conjugacy
class by one element g from each right coset Hg (⟨H, hg⟩ = ⟨H, g⟩) and to add every conjugate of
each new subgroup. Pairs of generators are not enough in general (S6 has ⟨(12), (34), (56)⟩); the
chains reach any number of generators. Cost: Σ over classes of the index [G:H] closures (S5: 19
classes; S6: 56).

Names (`iso_name`): C_n, products of cyclic groups, D_n (order 2n; D3 is S3, D6 is written S3×C2),
Q8, A4, S4, A5, S5, F20 (C5⋊C4), A6, S6 and a few others, by element-order histogram; anything else
is `G<order>#<k>`. Classes with one name are told apart by their number of conjugates, then a letter.

Glossary: n = |G|; S = the number of subgroups; a subgroup is a sorted array of element indices.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from groklab.errors import GroklabError
from groklab.groups.elements import Group
from groklab.groups.structure import closure as generated
from groklab.groups.structure import element_orders

MAX_CATALOGUE = 720  # the largest group whose subgroups are enumerated (S6)
CACHE_VERSION = 1


@dataclass(frozen=True)
class SubgroupClass:
    """One conjugacy class of subgroups."""

    label: str  # the name, told apart from other classes of the same name when needed
    name: str  # the isomorphism type, e.g. "S4", "C2×C2", "G36#1"
    order: int
    size: int  # number of conjugates
    members: tuple[int, ...]  # indices into Catalogue.subgroups
    normal: bool


@dataclass(frozen=True, eq=False)
class Catalogue:
    """All subgroups of `group` (trivial and whole included), by class."""

    group: Group
    subgroups: tuple[np.ndarray, ...]  # sorted element indices
    class_of: np.ndarray  # [S] class index
    classes: tuple[SubgroupClass, ...]  # sorted by order, then label
    _characters: dict = field(default_factory=dict, repr=False)

    def by_label(self, label: str) -> SubgroupClass:
        return next(c for c in self.classes if c.label == label)

    def proper(self) -> np.ndarray:
        """Indices of the proper non-trivial subgroups. # [S']"""
        n = self.group.order
        return np.array([i for i, h in enumerate(self.subgroups) if 1 < len(h) < n], dtype=int)

    @cached_property
    def right_coset_order(self) -> np.ndarray:
        """Per subgroup, the elements ordered so that each right coset Hg is one contiguous block of
        |H|. # [S, n]"""
        return np.stack([_coset_order(self.group.table[h, :].min(0)) for h in self.subgroups])

    @cached_property
    def left_coset_order(self) -> np.ndarray:
        """As right_coset_order, for the left cosets gH. # [S, n]"""
        return np.stack([_coset_order(self.group.table[:, h].min(1)) for h in self.subgroups])

    def permutation_character(self, s: int) -> np.ndarray:
        """χ of Ind_H^G 1 (G acting on the cosets of subgroup s): the number of cosets xH that g
        fixes, |{x : x⁻¹gx ∈ H}| / |H|. # [n]"""
        if s not in self._characters:
            g, x = self.group, np.arange(self.group.order)
            h = np.zeros(g.order, dtype=bool)
            h[self.subgroups[s]] = True
            conj = g.table[g.table[g.inverse[:, None], x[None, :]], x[:, None]]  # [x, g] -> x⁻¹gx
            self._characters[s] = h[conj].sum(0) / len(self.subgroups[s])
        return self._characters[s]

    def describe(self) -> list[dict]:
        return [{"label": c.label, "name": c.name, "order": c.order, "conjugates": c.size,
                 "normal": c.normal} for c in self.classes]


def _coset_order(labels: np.ndarray) -> np.ndarray:
    return np.argsort(labels, kind="stable")


def closure(group: Group, elements: np.ndarray, extra: int) -> np.ndarray:
    """⟨elements, extra⟩ as a boolean mask (elements: a subgroup). # [n]"""
    return generated(group.table, group.identity, [int(x) for x in elements] + [int(extra)])


def conjugates(group: Group, mask: np.ndarray) -> np.ndarray:
    """Every conjugate x⁻¹Hx of the subgroup `mask`, one boolean row each, distinct. # [k, n]"""
    g, t = group, group.table
    h = np.flatnonzero(mask)
    rows = t[t[g.inverse[:, None], h[None, :]], np.arange(g.order)[:, None]]  # [x, h] -> x⁻¹hx
    out = np.zeros((g.order, g.order), dtype=bool)
    np.put_along_axis(out, rows, True, axis=1)
    return np.unique(out, axis=0)


def enumerate_subgroups(group: Group) -> tuple[list[np.ndarray], list[int]]:
    """(every subgroup as a boolean mask, its conjugacy class index)."""
    n = group.order
    trivial = np.zeros(n, dtype=bool)
    trivial[group.identity] = True
    seen = {np.packbits(trivial).tobytes(): 0}
    masks, cls, reps = [trivial], [0], [trivial]
    i = 0
    while i < len(reps):
        h = reps[i]
        elems = np.flatnonzero(h)
        covered = h.copy()
        for g in range(n):
            if covered[g]:
                continue
            covered[group.table[elems, g]] = True  # the right coset Hg
            k = closure(group, elems, g)
            if np.packbits(k).tobytes() in seen:
                continue
            c = len(reps)
            reps.append(k)
            for row in conjugates(group, k):
                key = np.packbits(row).tobytes()
                if key not in seen:
                    seen[key] = len(masks)
                    masks.append(row)
                    cls.append(c)
        i += 1
    return masks, cls


def _abelian_types(n: int) -> list[tuple[int, ...]]:
    """Every abelian group of order n as cyclic factors (prime powers)."""
    from groklab.groups.irreps import partitions
    types = [()]
    m, p = n, 2
    while m > 1:
        e = 0
        while m % p == 0:
            m, e = m // p, e + 1
        if e:
            types = [t + tuple(p ** k for k in lam) for t in types for lam in partitions(e)]
        p += 1
    return types


def _histogram_of_product(factors: tuple[int, ...]) -> dict[int, int]:
    orders = np.ones(1, dtype=np.int64)
    for f in factors:
        k = np.array([f // math.gcd(f, j) for j in range(f)])
        orders = np.lcm(orders[:, None], k[None, :]).ravel()
    return dict(zip(*np.unique(orders, return_counts=True)))


def _abelian_name(factors: tuple[int, ...]) -> str:
    """Invariant factors: C_{d1}×C_{d2}×... with d1 | d2 | ..."""
    by_prime: dict[int, list[int]] = {}
    for f in factors:
        p = next(q for q in range(2, f + 1) if f % q == 0)
        by_prime.setdefault(p, []).append(f)
    cols = max(len(v) for v in by_prime.values())
    inv = [1] * cols
    for v in by_prime.values():
        for j, f in enumerate(sorted(v, reverse=True)):
            inv[cols - 1 - j] *= f
    return "×".join(f"C{d}" for d in inv)


NONABELIAN = {  # (order, element-order histogram) -> name
    (8, ((1, 1), (2, 1), (4, 6))): "Q8",
    (12, ((1, 1), (2, 3), (3, 8))): "A4",
    (20, ((1, 1), (2, 5), (4, 10), (5, 4))): "F20",
    (24, ((1, 1), (2, 9), (3, 8), (4, 6))): "S4",
    (60, ((1, 1), (2, 15), (3, 20), (5, 24))): "A5",
    (120, ((1, 1), (2, 25), (3, 20), (4, 30), (5, 24), (6, 20))): "S5",
    (360, ((1, 1), (2, 45), (3, 80), (4, 90), (5, 144))): "A6",
    (720, ((1, 1), (2, 75), (3, 80), (4, 180), (5, 144), (6, 240))): "S6",
    (18, ((1, 1), (2, 3), (3, 8), (6, 6))): "S3×C3",
    (36, ((1, 1), (2, 15), (3, 8), (6, 12))): "S3×S3",
    (48, ((1, 1), (2, 19), (3, 8), (4, 12), (6, 8))): "S4×C2",
    (12, ((1, 1), (2, 1), (3, 2), (4, 6), (6, 2))): "C3⋊C4",
}


def iso_name(group: Group, elements: np.ndarray, orders: np.ndarray) -> str | None:
    """The isomorphism type of the subgroup `elements` (orders: every element's order in G), or
    None when it is none of the standard ones."""
    n = len(elements)
    hist = tuple(sorted((int(o), int(c)) for o, c in zip(*np.unique(orders[elements],
                                                                    return_counts=True))))
    if n == 1:
        return "1"
    if hist[-1][0] == n:
        return f"C{n}"
    t = group.table
    sub = t[np.ix_(elements, elements)]
    if (sub == sub.T).all():
        for factors in _abelian_types(n):
            if _histogram_of_product(factors) == dict(hist):
                return _abelian_name(factors)
    m = n // 2
    if n % 2 == 0 and m >= 3 and dict(hist).get(m):  # dihedral: a cyclic half, involutions outside
        r = elements[orders[elements] == m][0]
        rotations = np.zeros(group.order, dtype=bool)
        power = group.identity
        for _ in range(m):
            power = t[power, r]
            rotations[power] = True
        if (orders[elements[~rotations[elements]]] == 2).all():
            return "S3" if m == 3 else "S3×C2" if m == 6 else f"D{m}"
    return NONABELIAN.get((n, hist))


def _names(group: Group, reps: list[np.ndarray]) -> list[str]:
    orders = element_orders(group.table, group.identity)
    names, unknown = [], {}
    for elems in reps:
        name = iso_name(group, elems, orders)
        if name is None:  # G<order>#k, numbered in the order the classes were found
            unknown[len(elems)] = unknown.get(len(elems), 0) + 1
            name = f"G{len(elems)}#{unknown[len(elems)]}"
        names.append(name)
    return names


def _build(group: Group) -> Catalogue:
    masks, cls = enumerate_subgroups(group)
    subgroups = [np.flatnonzero(m) for m in masks]
    k = max(cls) + 1
    members = [[i for i, c in enumerate(cls) if c == j] for j in range(k)]
    order_of = [len(subgroups[m[0]]) for m in members]
    names = _names(group, [subgroups[m[0]] for m in members])
    sig = _class_signatures(group, [subgroups[m[0]] for m in members])
    # by order, name, number of conjugates, then the G-classes of the elements (all invariant
    # under renumbering; classes an outer automorphism swaps fall back to the numbering)
    perm = sorted(range(k), key=lambda j: (order_of[j], names[j], len(members[j]), sig[j],
                                           members[j][0]))
    new_index = {old: i for i, old in enumerate(perm)}
    labels = _labels([names[j] for j in perm], [len(members[j]) for j in perm])
    classes = tuple(SubgroupClass(labels[i], names[j], order_of[j], len(members[j]),
                                  tuple(members[j]), len(members[j]) == 1)
                    for i, j in enumerate(perm))
    class_of = np.array([new_index[c] for c in cls])
    return Catalogue(group, tuple(subgroups), class_of, classes)


def _class_signatures(group: Group, reps: list[np.ndarray]) -> list[tuple]:
    """Per subgroup, the sorted sizes of the G-conjugacy classes its elements lie in."""
    from groklab.groups.irreps import conjugacy_classes
    cls = conjugacy_classes(group)
    size = np.bincount(cls)[cls]
    return [tuple(sorted(size[h].tolist())) for h in reps]


def _labels(names: list[str], sizes: list[int]) -> list[str]:
    """A name alone when unique; else with its number of conjugates; else also a letter."""
    out = []
    for name, size in zip(names, sizes):
        same = [s for nm, s in zip(names, sizes) if nm == name]
        if len(same) == 1:
            out.append(name)
        elif same.count(size) == 1:
            out.append(f"{name} ({size} conj.)")
        else:
            k = sum(1 for lab in out if lab.startswith(f"{name} ({size} conj."))
            out.append(f"{name} ({size} conj.) {'abcdefghijklmnopqrstuvwxyz'[k]}")
    return out


def _cache_dir() -> Path:
    root = os.environ.get("GROKLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "groklab")
    return Path(root) / "subgroups"


def _table_key(group: Group) -> str:
    return hashlib.sha256(np.ascontiguousarray(group.table, dtype=np.int64).tobytes()).hexdigest()[:24]


def _save(path: Path, cat: Catalogue) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = np.concatenate(cat.subgroups)
    sizes = np.array([len(h) for h in cat.subgroups])
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as f:
        np.savez(f, version=CACHE_VERSION, flat=flat, sizes=sizes, class_of=cat.class_of,
                 labels=np.array([c.label for c in cat.classes]),
                 names=np.array([c.name for c in cat.classes]))
    os.replace(tmp, path)


def _load(path: Path, group: Group) -> Catalogue | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != CACHE_VERSION:
                return None
            subgroups = tuple(np.split(z["flat"], np.cumsum(z["sizes"])[:-1]))
            class_of = z["class_of"]
            labels, names = z["labels"].tolist(), z["names"].tolist()
    except (OSError, ValueError, KeyError):
        return None
    classes = []
    for j, (label, name) in enumerate(zip(labels, names)):
        members = tuple(int(i) for i in np.flatnonzero(class_of == j))
        classes.append(SubgroupClass(label, name, len(subgroups[members[0]]), len(members),
                                     members, len(members) == 1))
    return Catalogue(group, subgroups, class_of, tuple(classes))


@lru_cache(maxsize=8)
def _catalogue(group: Group) -> Catalogue:
    path = _cache_dir() / f"{_table_key(group)}.npz"
    cat = _load(path, group) if path.exists() else None
    if cat is None:
        cat = _build(group)
        try:
            _save(path, cat)
        except OSError:
            pass  # a read-only cache costs only time
    return cat


def catalogue(group: Group) -> Catalogue:
    """The subgroups of `group` (built once, cached on disk by its table)."""
    if group.order > MAX_CATALOGUE:
        raise GroklabError(f"the subgroup catalogue covers groups of at most {MAX_CATALOGUE} "
                           f"elements; {group.name} has {group.order}")
    return _catalogue(group)
