"""Finite groups as tasks: elements as permutations, a fixed numbering, and the composition table.

Every supported group acts faithfully on a few points, so an element is a permutation in array form
(`perm[i]` is where i goes) and all products are computed one way. Composition convention (the one
of Chughtai et al. 2023): `a·b` means "apply a first, then b", the permutation r with
`r[i] = perm_b[perm_a[i]]`; `table[a, b]` is its index.

Groups: S_n, A_n (n >= 3), D_n (dihedral of order 2n, n >= 3; rotation by r then, when s = 1, the
reflection i -> -i; index r + n·s), C_n (n >= 2; index i is the rotation by i). Numbering
(`element_order`): `groklab` lists S_n and A_n lexicographically (identity 0); `chughtai2023` is that
work's numbering (S5 and A5 from their table, the identity of S5 is 20; S6 as their code enumerates
it, groups/chughtai2023.py; D_n and C_n as above in both).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from groklab.errors import GroklabError
from groklab.groups import chughtai2023

MAX_ORDER = 5000  # the composition table has |G|² entries; the irreps need |G|×|G| matrices
ELEMENT_ORDERS = ("groklab", "chughtai2023")
FAMILIES = {"S": "symmetric", "A": "alternating", "D": "dihedral", "C": "cyclic"}
GROUP_HELP = "S<n> or A<n> (n >= 3), D<n> (n >= 3, order 2n), C<n> (n >= 2); at most 5000 elements"


@dataclass(frozen=True, eq=False)
class Group:
    """A finite group with numbered elements: perms [order, degree], table [order, order]."""

    name: str  # e.g. "S5", "D59"
    family: str  # symmetric | alternating | dihedral | cyclic
    param: int
    element_order: str
    perms: np.ndarray  # [order, degree] array forms
    table: np.ndarray  # [order, order]: index of a·b (a first, then b)

    @property
    def order(self) -> int:
        return len(self.perms)

    @cached_property
    def identity(self) -> int:
        return int(np.flatnonzero((self.perms == np.arange(self.perms.shape[1])).all(1))[0])

    @cached_property
    def inverse(self) -> np.ndarray:  # [order]
        return np.argmax(self.table == self.identity, axis=1)

    def label(self, g: int) -> str:
        """An element as its array form, e.g. `01423` (digits, or comma-separated past 10 points)."""
        perm = self.perms[g]
        sep = "" if len(perm) <= 10 else ","
        return sep.join(str(int(x)) for x in perm)

    def parse(self, text: str) -> int:
        """An element index from an index (`17`) or an array form (`01423`, `0,1,4,2,3`)."""
        text = text.strip()
        degree = self.perms.shape[1]
        if re.fullmatch(r"[0-9]+", text) and (len(text) != degree or degree > 10):
            g = int(text)
            if g < self.order:
                return g
        digits = text.split(",") if "," in text else list(text)
        try:
            perm = np.array([int(x) for x in digits]) \
                if all(re.fullmatch(r"[0-9]+", x.strip()) for x in digits) else None
        except ValueError:
            perm = None
        if perm is not None and len(perm) == degree:
            hit = np.flatnonzero((self.perms == perm).all(1))
            if len(hit):
                return int(hit[0])
        raise GroklabError(f"{text!r} is not an element of {self.name}: give an index 0..{self.order - 1} "
                           f"or an array form of {degree} points (e.g. {self.label(self.order - 1)!r})")


def _check_name(name: str) -> tuple[str, int]:
    m = re.fullmatch(r"([SADC])([1-9][0-9]*)", name) if isinstance(name, str) else None
    if not m:
        raise GroklabError(f"group={name!r} is not a group groklab knows: {GROUP_HELP}")
    letter, n = m.group(1), int(m.group(2))
    if n < (2 if letter == "C" else 3):
        raise GroklabError(f"group={name!r}: {GROUP_HELP}")
    order = {"S": lambda: math.factorial(n) if n <= 8 else MAX_ORDER + 1,
             "A": lambda: math.factorial(n) // 2 if n <= 8 else MAX_ORDER + 1,
             "D": lambda: 2 * n, "C": lambda: n}[letter]()
    if order > MAX_ORDER:
        raise GroklabError(f"group={name!r} has {order if n <= 8 else 'too many'} elements: at most "
                           f"{MAX_ORDER} can be enumerated (every analysis holds |G|² products)")
    return letter, n


def group_order(name: str) -> int:
    """|G| of a group name, checked (one clear error for a bad name or a group too large)."""
    letter, n = _check_name(name)
    return {"S": math.factorial(n), "A": math.factorial(n) // 2, "D": 2 * n, "C": n}[letter]


def _index_of(perms: np.ndarray) -> callable:
    degree = perms.shape[1]
    weights = degree ** np.arange(degree, dtype=np.int64)
    codes = perms @ weights
    order = np.argsort(codes)
    sorted_codes = codes[order]

    def find(q: np.ndarray) -> np.ndarray:  # [..., degree] -> [...]
        c = q @ weights
        pos = np.searchsorted(sorted_codes, c)
        return order[np.minimum(pos, len(order) - 1)]
    return find


def _permutation_table(perms: np.ndarray) -> np.ndarray:
    find = _index_of(perms)
    table = np.empty((len(perms), len(perms)), dtype=np.int64)
    for a in range(len(perms)):
        table[a] = find(perms[:, perms[a]])  # r[i] = perm_b[perm_a[i]] for every b
    return table


def _parity(perms: np.ndarray) -> np.ndarray:
    degree = perms.shape[1]
    inversions = sum((perms[:, i, None] > perms[:, i + 1:]).sum(1) for i in range(degree - 1))
    return inversions % 2


def _listed(name: str, degree: int) -> np.ndarray:
    if name not in chughtai2023.ELEMENTS:
        raise GroklabError(f"element_order='chughtai2023' is known for S5, A5, S6, D_n and C_n, not "
                           f"{name}; use element_order='groklab'")
    return np.array([[int(ch) for ch in s] for s in chughtai2023.ELEMENTS[name]])


@lru_cache(maxsize=16)
def make_group(name: str, element_order: str = "groklab") -> Group:
    """The named group in the chosen numbering (one clear error for anything unsupported)."""
    if element_order not in ELEMENT_ORDERS:
        raise GroklabError(f"element_order={element_order!r} is not one of: {', '.join(ELEMENT_ORDERS)}")
    letter, n = _check_name(name)
    name = f"{letter}{n}"
    if letter in "SA":
        if element_order == "chughtai2023":
            perms = _listed(name, n)
        else:
            perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
            if letter == "A":
                perms = perms[_parity(perms) == 0]
        return Group(name, FAMILIES[letter], n, element_order, perms, _permutation_table(perms))
    points = np.arange(n)
    if letter == "C":
        perms = (points[None, :] + np.arange(n)[:, None]) % n
        table = (np.arange(n)[:, None] + np.arange(n)[None, :]) % n
        return Group(name, "cyclic", n, element_order, perms, table)
    rot = (points[None, :] + np.arange(n)[:, None]) % n  # rotation by r: i -> i + r
    perms = np.concatenate([rot, (-rot) % n])  # then, for s = 1, the reflection i -> -i
    r, s = np.arange(2 * n) % n, np.arange(2 * n) // n
    r1, s1, r2, s2 = r[:, None], s[:, None], r[None, :], s[None, :]
    r3 = np.where(s1 == 0, r1 + r2, r1 - r2) % n
    s3 = np.where(s1 == 0, s2, 1 - s2)
    return Group(name, "dihedral", n, element_order, perms, r3 + n * s3)
