"""What a table of answers is, read from the table alone: a group, an isotope of a group, a Latin
square isotopic to no group, or none of these. Names only label what was found.

Input: T [n, n], T[x, y] = the answer to (x, y) in the tokens the network sees (a-token x, b-token
y) and the classes it answers in. Nothing here looks at a group's name or numbering.

1. Latin: every row and every column of T is a permutation of 0..n-1 (else: `table`).
2. The principal isotope (Albert 1943): with a base row r0 and column c0 (the two-sided identity
   when T has one, else 0 and 0), R(x) = T[x, c0], C(y) = T[r0, y] and u ∘ v = T[R⁻¹(u), C⁻¹(v)]
   is a loop on the classes with identity T[r0, c0], and T[x, y] = R(x) ∘ C(y). A Latin square is
   isotopic to a group iff this loop is associative (for any one choice of r0, c0; this is the
   quadrangle criterion). Then the group is ∘ on the classes, σ = R and τ = C (π = identity):
   kind `group` when σ and τ are the identity (T is itself a group table), `isotope` otherwise.
   A Latin square whose loop is not associative is `latin`: isotopic to no group.
3. Identification: the group's element orders and class sizes are compared with those of every
   group groklab can name of that order (S_n, A_n, D_n, C_n, and direct products of two of
   them), the name given with the task first; an isomorphism is searched by mapping a small
   generating set of the named group onto elements of the same orders and checking that the map
   it generates is a bijective homomorphism. A group that matches none is `unnamed` (its irreps
   are still built, from its table, and named by dimension).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from groklab.groups.elements import Group, make_group

MAX_TABLE = 720  # rows of a table read as a task (|G|² pairs are trained)


@dataclass(frozen=True, eq=False)
class Structure:
    """What the table is. `group` is built on the classes (its table is ∘); `sigma`/`tau` map
    a-tokens / b-tokens to its elements; `isomorphism` maps its elements to the named group's
    (groklab numbering) when `name` was found."""

    kind: str  # group | isotope | latin | table
    n: int
    group: Group | None = None
    sigma: np.ndarray | None = None  # [n] a-token -> element
    tau: np.ndarray | None = None  # [n] b-token -> element
    name: str | None = None
    isomorphism: np.ndarray | None = None  # [n] element -> element of make_group(name)
    reason: str = ""

    @property
    def is_group(self) -> bool:
        return self.group is not None

    def describe(self) -> str:
        if self.kind == "table":
            return f"a table that is not a Latin square ({self.reason})"
        if self.kind == "latin":
            return f"a Latin square of order {self.n} isotopic to no group ({self.reason})"
        what = self.name or f"an unnamed group of order {self.n}"
        return what if self.kind == "group" else f"an isotope of {what} (inputs renamed)"

    def to_dict(self) -> dict:
        """The `group` record of analysis.json / program.json."""
        d = {"structure": self.kind, "order": self.n, "name": self.name,
             "isomorphism": None if self.isomorphism is None else self.isomorphism.tolist(),
             "maps": None}
        if self.kind == "isotope":
            d["maps"] = {"sigma": self.sigma.tolist(), "tau": self.tau.tolist(),
                         "pi": list(range(self.n))}
        if self.reason:
            d["reason"] = self.reason
        return d


def is_latin(table: np.ndarray) -> str:
    """'' when every row and column is a permutation of 0..n-1, else where it fails."""
    n = table.shape[0]
    if table.shape != (n, n) or table.min() < 0 or table.max() >= n:
        return f"entries outside 0..{n - 1} or not square"
    full = np.arange(n)
    for axis, what in ((1, "row"), (0, "column")):
        bad = np.flatnonzero((np.sort(table, axis=axis) != (full if axis == 1 else full[:, None]))
                             .any(axis=axis))
        if len(bad):
            return f"{what} {int(bad[0])} repeats an answer"
    return ""


def _two_sided_identity(table: np.ndarray) -> int | None:
    full = np.arange(len(table))
    for e in np.flatnonzero((table == full[None, :]).all(1)):
        if (table[:, e] == full).all():
            return int(e)
    return None


def associative(mul: np.ndarray, identity: int) -> bool:
    """(u∘a)∘w == u∘(a∘w) for every u, w and every a of a generating set: by Light's test that is
    associativity (the a that pass are closed under ∘, and every element is a product of
    generators); a random sample of triples refutes most non-groups first."""
    rng = np.random.default_rng(0)
    n = len(mul)
    u, v, w = rng.integers(0, n, (3, 4096))
    if not (mul[mul[u, v], w] == mul[u, mul[v, w]]).all():
        return False
    return all((mul[mul[:, a]] == mul[:, mul[a]]).all() for a in generators(mul, identity))


def element_orders(mul: np.ndarray, identity: int) -> np.ndarray:
    n = len(mul)
    order = np.zeros(n, dtype=np.int64)
    power = np.arange(n)
    for k in range(1, n + 1):
        hit = (power == identity) & (order == 0)
        order[hit] = k
        if (order > 0).all():
            break
        power = mul[power, np.arange(n)]
    return order


def closure(mul: np.ndarray, identity: int, gens: list[int]) -> np.ndarray:
    """The subgroup generated by `gens`, as a boolean mask."""
    seen = np.zeros(len(mul), dtype=bool)
    seen[identity] = True
    frontier = np.array([identity])
    while len(frontier):
        new = np.unique(mul[frontier][:, gens].ravel())
        new = new[~seen[new]]
        seen[new] = True
        frontier = new
    return seen


def generators(mul: np.ndarray, identity: int) -> list[int]:
    """A small generating set: an element of largest order and, when two elements suffice with it,
    one partner of the rarest order; else greedily the element that grows the subgroup most."""
    n = len(mul)
    orders = element_orders(mul, identity)
    first = int(np.argmax(orders))
    if orders[first] == n:
        return [first]
    counts = np.bincount(orders)
    for g in sorted(range(n), key=lambda x: (counts[orders[x]], x)):
        if closure(mul, identity, [first, g]).all():
            return [first, g]
    gens = [first]
    while not (sub := closure(mul, identity, gens)).all():
        gens.append(max(np.flatnonzero(~sub),
                        key=lambda g: closure(mul, identity, gens + [int(g)]).sum()))
    return [int(g) for g in gens]


def _tree(mul: np.ndarray, identity: int, gens: list[int]) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Breadth-first levels of the Cayley graph: (children, parents, generator index) blocks."""
    seen = np.zeros(len(mul), dtype=bool)
    seen[identity] = True
    frontier, levels = np.array([identity]), []
    while len(frontier):
        nxt = []
        for i, g in enumerate(gens):
            child = mul[frontier, g]
            fresh, first = np.unique(child[~seen[child]], return_index=True)
            parents = frontier[~seen[child]][first]
            seen[fresh] = True
            if len(fresh):
                levels.append((fresh, parents, i))
                nxt.append(fresh)
        frontier = np.concatenate(nxt) if nxt else np.array([], dtype=np.int64)
    return levels


def _invariants(mul: np.ndarray, identity: int) -> tuple:
    orders = element_orders(mul, identity)
    n = len(mul)
    inv = np.argmax(mul == identity, axis=1)
    cls = np.full(n, -1)
    sizes = []
    for g in range(n):
        if cls[g] < 0:
            members = np.unique(mul[mul[inv, g], np.arange(n)])
            cls[members] = len(sizes)
            sizes.append(len(members))
    return tuple(sorted(np.bincount(orders).tolist())), tuple(sorted(sizes)), orders


def isomorphism(named: Group, mul: np.ndarray, identity: int) -> np.ndarray | None:
    """φ: element of `mul` -> element of `named`, a bijective homomorphism, or None."""
    inv_named = _invariants(named.table, named.identity)
    inv_found = _invariants(mul, identity)
    if inv_named[:2] != inv_found[:2]:
        return None
    gens = generators(named.table, named.identity)
    levels = _tree(named.table, named.identity, gens)
    orders_named, orders_found = inv_named[2], inv_found[2]
    options = [np.flatnonzero(orders_found == orders_named[g]) for g in gens]
    n = len(mul)
    for images in itertools.product(*options):
        phi = np.full(n, -1)  # named element -> found element
        phi[named.identity] = identity
        for children, parents, i in levels:
            phi[children] = mul[phi[parents], images[i]]
        if (phi < 0).any() or len(np.unique(phi)) != n:
            continue
        if all((phi[named.table[:, g]] == mul[phi, img]).all() for g, img in zip(gens, images)):
            out = np.empty(n, dtype=np.int64)
            out[phi] = np.arange(n)
            return out
    return None


def candidate_names(order: int) -> list[str]:
    """Every group groklab can name with `order` elements (families, then direct products)."""
    names = []
    for k in range(3, 7):
        if math.factorial(k) == order:
            names.append(f"S{k}")
        if math.factorial(k) // 2 == order and k >= 4:
            names.append(f"A{k}")
    if order % 2 == 0 and order // 2 >= 3:
        names.append(f"D{order // 2}")
    return names + ([f"C{order}"] if order >= 2 else [])


def _product_group(left: Group, right: Group) -> Group:
    """left × right, element (g, h) numbered g·|right| + h, acting on the disjoint union of points."""
    n1, n2 = left.order, right.order
    d1 = left.perms.shape[1]
    perms = np.concatenate([np.repeat(left.perms, n2, 0), np.tile(right.perms, (n1, 1)) + d1], 1)
    g, h = np.arange(n1 * n2) // n2, np.arange(n1 * n2) % n2
    table = left.table[g[:, None], g[None, :]] * n2 + right.table[h[:, None], h[None, :]]
    return Group(f"{left.name}×{right.name}", "product", 0, "groklab", perms, table)


def named_group(name: str) -> Group:
    """A group groklab can name: S_n, A_n, D_n, C_n, or a product `X×Y` of two of them."""
    if "×" in name:
        left, right = name.split("×", 1)
        return _product_group(make_group(left), make_group(right))
    return make_group(name)


def product_names(order: int) -> list[str]:
    out = []
    for d in range(2, int(math.isqrt(order)) + 1):
        if order % d == 0:
            for x in candidate_names(d):
                for y in candidate_names(order // d):
                    if not (x.startswith("C") and y.startswith("C") and math.gcd(d, order // d) == 1):
                        out.append(f"{x}×{y}")  # C_m × C_k with coprime m, k is C_mk
    return out


def identify(mul: np.ndarray, identity: int, hint: str | None = None
             ) -> tuple[str | None, np.ndarray | None]:
    """(name, isomorphism to make_group(name)'s numbering) of the first named group that matches."""
    n = len(mul)
    names = candidate_names(n)
    if hint and hint in names:
        names = [hint] + [x for x in names if x != hint]
    for name in names + product_names(n):
        iso = isomorphism(named_group(name), mul, identity)
        if iso is not None:
            return name, iso
    return None, None


def _cayley_perms(mul: np.ndarray) -> np.ndarray:
    return mul.T.copy()  # element g acts on points x as x -> x∘g (a first, then b)


def _known_base(table: np.ndarray, known: Group, first: int | None = None
                ) -> tuple[int, int] | None:
    """A base (r0, c0) whose principal isotope is `known`'s own table, when there is one: then the
    classes keep the task's numbering and its array forms (for each r0, c0 is where row r0 holds
    known's identity; a sample of entries refutes the rest cheaply). `first`, the table's two-sided
    identity, is tried first: when T is known's table every r0 works, and only r0 = c0 = e leaves
    the inputs unrenamed."""
    n = len(table)
    if known.order != n:
        return None
    rng = np.random.default_rng(1)
    u, v = rng.integers(0, n, (2, 256))
    for r0 in ([] if first is None else [first]) + list(range(n)):
        c0 = int(np.flatnonzero(table[r0] == known.identity)[0])
        rinv, cinv = np.argsort(table[:, c0]), np.argsort(table[r0])
        if (table[rinv[u], cinv[v]] == known.table[u, v]).all() and \
                (table[rinv][:, cinv] == known.table).all():
            return r0, c0
    return None


def read_table(table: np.ndarray, hint: str | None = None, known: Group | None = None
               ) -> Structure:
    """The structure of T [n, n] (see the module's docstring). `hint` is tried first among the
    names; `known` (the task's own group, if it has one) is used only to keep its numbering when
    the table's group is that very table."""
    table = np.asarray(table, dtype=np.int64)
    n = table.shape[0]
    why = is_latin(table)
    if why:
        return Structure("table", n, reason=why)
    e = _two_sided_identity(table)
    base = _known_base(table, known, e) if known is not None else None
    r0, c0 = base or ((0, 0) if e is None else (e, e))
    sigma, tau = table[:, c0].copy(), table[r0, :].copy()
    mul = table[np.argsort(sigma)][:, np.argsort(tau)]
    identity = int(table[r0, c0])
    if not associative(mul, identity):
        return Structure("latin", n, reason="its principal loop isotope is not associative "
                                            "(the quadrangle criterion fails)")
    kind = "group" if (sigma == np.arange(n)).all() and (tau == np.arange(n)).all() else "isotope"
    if base is not None:
        canon = make_group(known.name)
        codes = {tuple(p): i for i, p in enumerate(canon.perms.tolist())}
        iso = np.array([codes[tuple(p)] for p in known.perms.tolist()])
        group = Group(known.name, known.family, known.param, known.element_order, known.perms, mul)
        return Structure(kind, n, group, sigma, tau, known.name, iso)
    name, iso = identify(mul, identity, hint)
    if name is not None:
        named = named_group(name)
        group = Group(name, named.family, named.param, "found", named.perms[iso], mul)
    else:
        group = Group(f"G{n}", "unnamed", n, "found", _cayley_perms(mul), mul)
    return Structure(kind, n, group, sigma, tau, name, iso)


@lru_cache(maxsize=8)
def _cached(key: bytes, n: int, hint: str | None, known: tuple | None) -> Structure:
    group = make_group(*known) if known else None
    return read_table(np.frombuffer(key, dtype=np.int64).reshape(n, n), hint, group)


def structure_of(table: np.ndarray, hint: str | None = None,
                 known: tuple[str, str] | None = None) -> Structure:
    """read_table, cached by the table's contents; `known` = (name, element_order) of the task's
    group, if any."""
    table = np.ascontiguousarray(table, dtype=np.int64)
    return _cached(table.tobytes(), table.shape[0], hint or None, known)


def structure_irreps(structure: Structure) -> list:
    """The real irreps of the structure's group, as functions of its elements (the classes): a
    named family's irreps carried over the isomorphism (so names and signs do not depend on the
    numbering), otherwise built from the table and named by dimension."""
    from groklab.groups.irreps import Irrep, irreps

    if structure.name and "×" not in structure.name:
        iso = structure.isomorphism
        return [Irrep(r.name, r.dim, r.kind, r.matrices[iso], r.character[iso])
                for r in irreps(make_group(structure.name))]
    return irreps(structure.group)
