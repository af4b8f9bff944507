"""groups/structure.py function by function, against brute force written here (fast; the mutation
tests' target): Latin checks, identities, associativity (Light's test included), orders, closures,
generators, invariants, isomorphisms, names, products, the task's own numbering kept, irreps carried
over the isomorphism, and the records."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from groklab.groups.elements import make_group
from groklab.groups.structure import (MAX_TABLE, Structure, _invariants, _known_base,
                                      _product_group, _tree, _two_sided_identity, associative,
                                      candidate_names, closure, element_orders, generators,
                                      identify, is_latin, isomorphism, named_group, product_names,
                                      read_table, structure_irreps, structure_of)

LOOP5 = np.array([[0, 1, 2, 3, 4], [1, 0, 3, 4, 2], [2, 4, 0, 1, 3], [3, 2, 4, 0, 1],
                  [4, 3, 1, 2, 0]])


def _copy(table, perm):
    """The table with every element renamed by `perm` (an isomorphic copy)."""
    out = np.empty_like(table)
    out[np.ix_(perm, perm)] = perm[table]
    return out


def _brute_orders(mul, e):
    out = []
    for g in range(len(mul)):
        k, x = 1, g
        while x != e:
            x, k = mul[x, g], k + 1
        out.append(k)
    return np.array(out)


def _brute_classes(mul, e):
    n = len(mul)
    inv = [next(h for h in range(n) if mul[g, h] == e) for g in range(n)]
    seen, sizes = set(), []
    for g in range(n):
        if g not in seen:
            cls = {mul[mul[inv[h], g], h] for h in range(n)}
            seen |= cls
            sizes.append(len(cls))
    return sorted(sizes)


def test_is_latin_names_the_first_failure():
    s3 = make_group("S3").table
    assert is_latin(s3) == ""
    assert is_latin(s3[:, :5]) == "entries outside 0..5 or not square"
    neg = s3.copy()
    neg[2, 2] = -1
    assert is_latin(neg) == "entries outside 0..5 or not square"
    big = s3.copy()
    big[2, 2] = 6
    assert is_latin(big) == "entries outside 0..5 or not square"
    top = s3.copy()
    top[5, 5] = 5  # in range (max == n - 1 is allowed) but row 5 and column 5 repeat
    assert is_latin(top) == "row 5 repeats an answer"
    cols = np.array([[0, 1, 2], [1, 2, 0], [0, 1, 2]])  # every row a permutation; columns not
    assert is_latin(cols) == "column 0 repeats an answer"
    rows = np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]])
    rows2 = rows.copy()
    rows2[1] = [1, 1, 0]
    rows2[2] = [2, 0, 2]
    assert is_latin(rows2) == "row 1 repeats an answer"


def test_the_two_sided_identity_is_found_where_it_is():
    g = make_group("S4")
    perm = np.random.default_rng(0).permutation(24)
    t = _copy(g.table, perm)
    assert _two_sided_identity(g.table) == 0
    assert _two_sided_identity(t) == perm[0]
    assert _two_sided_identity(LOOP5) == 0
    left_only = np.array([[0, 1, 2], [2, 0, 1], [1, 2, 0]])  # row 0 is the identity's, column 0 not
    assert _two_sided_identity(left_only) is None
    assert _two_sided_identity(np.array([[1, 0], [0, 1]])) == 1


def _intercalate(n):
    """C_n (n even) with one 2x2 subsquare swapped away from the identity's row and column: a loop
    that is almost associative (a random sample of triples rarely meets the swapped cells)."""
    t = (np.arange(n)[:, None] + np.arange(n)[None, :]) % n
    x1, y1 = 1, 2
    x2, y2 = x1 + n // 2, y1 + n // 2
    t[x1, y1], t[x1, y2] = t[x1, y2], t[x1, y1]
    t[x2, y2], t[x2, y1] = t[x2, y1], t[x2, y2]
    return t


def test_associativity_by_sample_and_by_lights_test():
    assert associative(make_group("S4").table, 0)
    assert not associative(LOOP5, 0)
    loop = _intercalate(600)
    assert is_latin(loop) == "" and _two_sided_identity(loop) == 0
    rng = np.random.default_rng(0)  # the sample alone misses it: only Light's test finds it
    u, v, w = rng.integers(0, 600, (3, 4096))
    assert (loop[loop[u, v], w] == loop[u, loop[v, w]]).all()
    assert not associative(loop, 0)
    assert read_table(loop).kind == "latin"


@pytest.mark.parametrize("name", ["S4", "D6", "C12", "A5"])
def test_element_orders_and_invariants_equal_brute_force(name):
    g = make_group(name)
    perm = np.random.default_rng(1).permutation(g.order)
    t, e = _copy(g.table, perm), int(perm[g.identity])
    orders = element_orders(t, e)
    assert np.array_equal(orders, _brute_orders(t, e))
    hist, sizes, orders2 = _invariants(t, e)
    assert hist == tuple(sorted(np.bincount(_brute_orders(t, e)).tolist()))
    assert list(sizes) == _brute_classes(t, e)
    assert np.array_equal(orders2, orders)


def test_closure_is_the_generated_subgroup():
    g = make_group("S4")
    e = g.identity
    for x in range(g.order):
        sub = closure(g.table, e, [x])
        assert sub.sum() == _brute_orders(g.table, e)[x] and sub[x] and sub[e]
    tr = [i for i in range(24) if (g.perms[i] != np.arange(4)).sum() == 2]
    assert closure(g.table, e, tr).all()  # transpositions generate S4
    assert closure(g.table, e, []).sum() == 1
    a4 = [i for i in range(24) if _brute_orders(g.table, e)[i] == 3]
    assert closure(g.table, e, a4).sum() == 12  # 3-cycles generate A4


@pytest.mark.parametrize("name,count", [("C12", 1), ("S5", 2), ("D7", 2), ("A4", 2),
                                        ("C2×C2×C2", 3), ("C2×C2", 2)])
def test_generators_generate_with_few_elements(name, count):
    if name == "C2×C2×C2":
        g = _product_group(named_group("C2×C2"), make_group("C2"))
    else:
        g = named_group(name)
    perm = np.random.default_rng(2).permutation(g.order)
    t, e = _copy(g.table, perm), int(perm[g.identity])
    gens = generators(t, e)
    assert len(gens) == count and closure(t, e, gens).all()
    assert all(isinstance(x, int) for x in gens)
    if count == 1:
        assert _brute_orders(t, e)[gens[0]] == g.order


def test_the_cayley_tree_reaches_every_element_once_from_its_parent():
    g = make_group("S5")
    gens = generators(g.table, g.identity)
    levels = _tree(g.table, g.identity, gens)
    children = np.concatenate([c for c, _, _ in levels])
    assert sorted(children.tolist()) == sorted(set(range(120)) - {g.identity})
    reached = {g.identity}
    for c, p, i in levels:
        assert np.array_equal(g.table[p, gens[i]], c)
        assert set(p.tolist()) <= reached  # parents come first
        reached |= set(c.tolist())


def _perm_product_ok(group):
    """perms[a·b] is 'a first, then b' for every pair."""
    p = group.perms
    return all((p[group.table[a, b]] == p[b][p[a]]).all()
               for a in range(group.order) for b in range(group.order))


def test_products_are_groups_whose_permutations_compose_like_their_tables():
    assert _perm_product_ok(make_group("S3"))  # the convention, checked on a known group
    g = _product_group(make_group("S3"), make_group("C4"))
    assert g.order == 24 and g.name == "S3×C4" and g.identity == 0
    assert (g.family, g.param, g.element_order) == ("product", 0, "groklab")
    assert g.perms.shape == (24, 3 + 4)
    assert _perm_product_ok(g)
    assert is_latin(g.table) == "" and associative(g.table, 0)
    # (g, h) numbered g·|right| + h: the factors multiply on their own
    s3, c4 = make_group("S3"), make_group("C4")
    for a, b in itertools.product(range(24), repeat=2):
        assert g.table[a, b] == s3.table[a // 4, b // 4] * 4 + c4.table[a % 4, b % 4]
    assert named_group("S3×C4").name == "S3×C4"
    assert np.array_equal(named_group("S3×C4").table, g.table)
    assert named_group("D5").name == "D5"


def test_isomorphisms_are_bijective_homomorphisms_or_none():
    g = make_group("D6")
    perm = np.random.default_rng(3).permutation(12)
    t, e = _copy(g.table, perm), int(perm[0])
    iso = isomorphism(g, t, e)
    assert sorted(iso.tolist()) == list(range(12))
    assert (iso[t] == g.table[iso[:, None], iso[None, :]]).all()
    assert isomorphism(make_group("C12"), t, e) is None  # other invariants
    assert isomorphism(make_group("A4"), t, e) is None
    # same order histogram as C4 x C2? no: C2xC2 vs C4 differ in orders
    assert isomorphism(make_group("C4"), named_group("C2×C2").table, 0) is None


def test_candidate_and_product_names():
    assert candidate_names(1) == []
    assert candidate_names(2) == ["C2"]
    assert candidate_names(4) == ["C4"]
    assert candidate_names(6) == ["S3", "D3", "C6"]
    assert candidate_names(12) == ["A4", "D6", "C12"]
    assert candidate_names(24) == ["S4", "D12", "C24"]
    assert candidate_names(60) == ["A5", "D30", "C60"]
    assert candidate_names(120) == ["S5", "D60", "C120"]
    assert candidate_names(360) == ["A6", "D180", "C360"]
    assert candidate_names(720) == ["S6", "D360", "C720"]
    assert candidate_names(5040) == ["D2520", "C5040"]  # S7 is past what groklab builds
    assert candidate_names(7) == ["C7"]
    assert product_names(12) == ["C2×S3", "C2×D3", "C2×C6"]  # C3 x C4 is C12: left out
    assert product_names(4) == ["C2×C2"]
    assert product_names(9) == ["C3×C3"]
    assert product_names(7) == []
    assert "C2×C59" not in product_names(118)
    assert "S3×S3" in product_names(36) and "C6×C6" in product_names(36)


def test_identify_follows_the_hint_among_names_of_one_group():
    s3 = make_group("S3")
    assert identify(s3.table, 0)[0] == "S3"
    assert identify(s3.table, 0, hint="D3")[0] == "D3"  # S3 and D3 are one group
    assert identify(s3.table, 0, hint="C6")[0] == "S3"  # a wrong hint changes nothing
    assert identify(s3.table, 0, hint="S9")[0] == "S3"
    name, iso = identify(named_group("C2×S3").table, 0)
    assert name in ("D6", "C2×S3")
    assert identify(LOOP5, 0) == (None, None)


def test_the_tasks_own_numbering_is_kept_when_the_table_is_its_group():
    g = make_group("S5", "chughtai2023")
    assert g.identity != 0
    assert _known_base(g.table, g, g.identity) == (g.identity, g.identity)
    assert _known_base(g.table, g) != (g.identity, g.identity)  # any row works; 0 comes first
    s = read_table(g.table, known=g)
    assert (s.kind, s.name) == ("group", "S5")
    assert np.array_equal(s.group.perms, g.perms) and s.group.element_order == "chughtai2023"
    assert (s.group.name, s.group.family, s.group.param, s.n) == ("S5", "symmetric", 5, 120)
    assert np.array_equal(s.sigma, np.arange(120)) and np.array_equal(s.tau, np.arange(120))
    canon = make_group("S5")
    assert np.array_equal(canon.perms[s.isomorphism], g.perms)
    assert _known_base(g.table, make_group("A5")) is None  # another order
    other = read_table(g.table, known=make_group("S5"))  # another numbering: not its table
    assert _known_base(g.table, make_group("S5")) is None
    assert other.name == "S5" and other.group.element_order == "found"
    # an isotope of the task's table keeps no base either
    rng = np.random.default_rng(4)
    sa, sb = rng.permutation(120), rng.permutation(120)
    iso = np.empty_like(g.table)
    iso[np.ix_(sa, sb)] = g.table
    assert _known_base(iso, g) is None or read_table(iso, known=g).kind == "isotope"


def test_a_known_base_off_the_identity_is_found():
    g = make_group("S4")
    # rows shifted: T[x, y] = (x·k)·y for a fixed k: its principal isotope at r0 = k⁻¹ is g's own
    k = 5
    t = g.table[g.table[:, k]]
    base = _known_base(t, g)
    assert base is not None
    r0, c0 = base
    assert t[r0, c0] == g.identity
    rinv, cinv = np.argsort(t[:, c0]), np.argsort(t[r0])
    assert (t[rinv][:, cinv] == g.table).all()
    s = read_table(t, known=g)
    assert s.kind == "isotope" and np.array_equal(s.group.table, g.table)
    assert (s.group.table[s.sigma[:, None], s.tau[None, :]] == t).all()


def test_read_table_kinds_maps_and_records():
    g = make_group("D5")
    rng = np.random.default_rng(5)
    s = read_table(g.table)
    assert s.kind == "group" and s.is_group and s.describe() == "D5"
    assert s.to_dict() == {"structure": "group", "order": 10, "name": "D5",
                           "isomorphism": s.isomorphism.tolist(), "maps": None}
    sb = rng.permutation(10)
    t = np.empty_like(g.table)
    t[:, sb] = g.table  # only b renamed
    s = read_table(t)
    assert s.kind == "isotope"
    assert (s.group.table[s.sigma[:, None], s.tau[None, :]] == t).all()
    assert s.describe() == "an isotope of D5 (inputs renamed)"
    d = s.to_dict()
    assert d["maps"] == {"sigma": s.sigma.tolist(), "tau": s.tau.tolist(), "pi": list(range(10))}
    # no two-sided identity: the base is row 0 and column 0
    assert np.array_equal(s.sigma, t[:, 0]) and np.array_equal(s.tau, t[0, :])
    assert read_table(make_group("S3").table, hint="D3").name == "D3"
    assert read_table(make_group("S3").table.tolist()).name == "S3"  # any integer array-like
    assert read_table(make_group("S3").table.astype(np.int32)).name == "S3"
    wide = read_table(np.zeros((3, 4), dtype=int))
    assert (wide.kind, wide.n) == ("table", 3)
    latin = read_table(LOOP5)
    assert latin.reason == ("its principal loop isotope is not associative (the quadrangle "
                            "criterion fails)")
    assert not latin.is_group
    assert latin.describe().startswith("a Latin square of order 5 isotopic to no group (")
    assert latin.to_dict()["reason"] == latin.reason and latin.to_dict()["maps"] is None
    bad = read_table(np.zeros((3, 3), dtype=int))
    assert bad.kind == "table" and bad.describe() == "a table that is not a Latin square (row 0 " \
        "repeats an answer)"
    # an unnamed group: C2^3 x C3? order 24 matches S4, D12, C24 and products of two; C2^3 x C3 = C2 x C2 x C6
    c = _product_group(named_group("C2×C2"), make_group("C6"))
    u = read_table(c.table)
    assert u.kind == "group" and u.name is None and u.group.name == "G24"
    assert u.describe() == "an unnamed group of order 24"
    assert u.group.family == "unnamed" and u.isomorphism is None
    assert (u.group.param, u.group.element_order, u.n) == (24, "found", 24)
    assert (u.group.perms == u.group.table.T).all()  # the Cayley action x -> x∘g
    assert Structure("latin", 3).describe().startswith("a Latin square of order 3")


def test_found_groups_carry_the_named_groups_permutations():
    g = make_group("S4")
    perm = np.random.default_rng(6).permutation(24)
    s = read_table(_copy(g.table, perm))
    assert s.group.element_order == "found" and s.group.name == "S4"
    assert (s.group.family, s.group.param, s.n) == ("symmetric", 4, 24)
    assert _perm_product_ok(s.group)  # the array forms compose like the found table
    assert np.array_equal(s.group.perms, g.perms[s.isomorphism])


def test_structure_of_is_cached_read_table():
    g = make_group("A4")
    a = structure_of(g.table)
    assert structure_of(g.table.copy()) is a
    assert (a.kind, a.name) == ("group", "A4")
    b = structure_of(g.table, known=("A4", "groklab"))
    assert b.name == "A4" and np.array_equal(b.group.perms, g.perms)
    assert structure_of(make_group("S3").table, hint="D3").name == "D3"
    assert structure_of(make_group("S3").table, hint="").name == "S3"
    assert structure_of(make_group("C5").table.astype(np.int32)).name == "C5"
    assert structure_of(make_group("C5").table.astype(np.int32)) is structure_of(make_group("C5").table)
    assert MAX_TABLE == 720


def _hom_convention(matrices, table):
    """'ab' when M[a·b] = M[a] M[b] on every pair, 'ba' when M[b] M[a], else None."""
    ab = np.einsum("aij,bjk->abik", matrices, matrices)
    m = matrices[table]
    if np.allclose(m, ab, atol=1e-8):
        return "ab"
    if np.allclose(m, ab.transpose(1, 0, 2, 3), atol=1e-8):
        return "ba"
    return None


def test_irreps_are_carried_over_the_isomorphism():
    from groklab.groups.irreps import irreps
    g = make_group("S4")
    canon = irreps(g)
    conv = {r.name: _hom_convention(r.matrices, g.table) for r in canon}
    perm = np.random.default_rng(7).permutation(24)
    s = read_table(_copy(g.table, perm))
    found = structure_irreps(s)
    assert [r.name for r in found] == [r.name for r in canon]
    for r, c in zip(found, canon):
        assert r.dim == c.dim and r.kind == c.kind
        assert _hom_convention(r.matrices, s.group.table) == conv[r.name] is not None
        assert np.allclose(r.character, np.trace(r.matrices, axis1=1, axis2=2))
        assert np.allclose(r.character[s.group.identity], r.dim)
    prod = read_table(named_group("S3×S3").table)
    built = structure_irreps(prod)
    assert sum(r.dim ** 2 for r in built if r.kind == "real") <= 36
    assert all(_hom_convention(r.matrices, prod.group.table) is not None for r in built)
