"""Program families on idealised logits (known answers) and negative controls; the diagnostics."""

import numpy as np
import pytest
import torch

from groklab.analysis.cyclic.coordinates import discover_map, identity_map
from groklab.analysis.cyclic.diagnostics import distance_irrelevance, gradient_symmetricity
from groklab.analysis.cyclic.families import compare
from groklab.analysis.cyclic.frame import frame_from_logits
from groklab.config import ModelConfig, TaskConfig
from groklab.models import build_model
from groklab.tasks import make_dataset

P = 59
DATA = make_dataset(TaskConfig(name="add", p=P, frac_train=0.8))
MAPS = (identity_map(P), identity_map(P))


def idealised(kind: str, rng: np.random.Generator, noise: float = 0.1):
    """Logits of an ideal clock or pizza with 3-5 random frequencies (the pizza's magnitude
    |cos(w(a−b)/2)|, or a free random profile), plus Gaussian noise; and its frequencies."""
    a, b = np.divmod(np.arange(P * P), P)
    x, dist, c = (a + b) % P, (a - b) % P, np.arange(P)
    freqs = sorted(rng.choice(np.arange(1, P // 2), size=rng.integers(3, 6), replace=False).tolist())
    logits = np.zeros((P * P, P))
    for k in freqs:
        w = 2 * np.pi * k / P
        magnitude = {"clock": np.ones(P * P), "pizza": np.abs(np.cos(w * dist / 2)),
                     "free": np.abs(rng.normal(size=P))[dist]}[kind]
        logits += rng.uniform(0.5, 1.5) * magnitude[:, None] * np.cos(w * (x[:, None] - c))
    return 5 * logits + noise * rng.normal(size=logits.shape), freqs


@pytest.mark.parametrize("kind,expected", [("clock", "clock"), ("pizza", "pizza"),
                                           ("free", "pizza")])
def test_idealised_programs_are_recognised(kind, expected):
    rng = np.random.default_rng(7)
    hits = []
    for _ in range(20):
        logits, freqs = idealised(kind, rng)
        cmp = compare(frame_from_logits(logits, DATA, MAPS), with_kl=False)
        hits.append(cmp.algorithm == expected and cmp.freqs == freqs)
    assert np.mean(hits) >= 0.95


def test_memorizer_is_a_lookup_and_random_is_unknown():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(P * P, P))
    idx = DATA.index_grid.ravel()
    train = DATA.is_train[idx]
    logits[np.flatnonzero(train), DATA.labels[idx][train]] += 10  # right on training pairs only
    cmp = compare(frame_from_logits(logits, DATA, MAPS))
    assert cmp.algorithm == "lookup"
    assert cmp.scores["lookup"].description_length == len(DATA.train_idx)
    assert cmp.scores["clock"].agreement < 0.5
    cmp = compare(frame_from_logits(rng.normal(size=(P * P, P)), DATA, MAPS), with_kl=False)
    assert cmp.algorithm == "unknown"


def test_pizza_scores_and_distance_irrelevance():
    rng = np.random.default_rng(1)
    clock, _ = idealised("clock", rng, noise=0.5)
    pizza, _ = idealised("pizza", rng, noise=0.5)
    c = compare(frame_from_logits(pizza, DATA, MAPS))
    assert c.scores["pizza"].logit_fve > c.scores["clock"].logit_fve + 0.1
    assert c.scores["pizza"].heldout_kl < c.scores["lookup"].heldout_kl
    di_clock = distance_irrelevance(frame_from_logits(clock, DATA, MAPS))
    di_pizza = distance_irrelevance(frame_from_logits(pizza, DATA, MAPS))
    assert di_clock > 0.9 and di_pizza < 0.3


def test_gradient_symmetricity_known_answers():
    """An MLP on the sum of the two embeddings is exactly symmetric in a and b; one on their
    concatenation is not (a random linear map treats them differently)."""
    mlp = build_model(ModelConfig(kind="mlp", d_model=16, d_mlp=32, combine="sum"), 13, 0)
    assert gradient_symmetricity(mlp, 13) == pytest.approx(1.0, abs=1e-9)
    concat = build_model(ModelConfig(kind="mlp", d_model=16, d_mlp=32), 13, 0)
    assert abs(gradient_symmetricity(concat, 13)) < 0.5


def _circle_rows(coord, n, freqs, amps, rng, noise=0.0):
    cols = [a * f(2 * np.pi * k * np.asarray(coord) / n)
            for k, a in zip(freqs, amps) for f in (np.cos, np.sin)]
    rows = np.stack(cols, 1) @ rng.normal(size=(2 * len(freqs), 32))
    return rows + noise * rng.normal(size=rows.shape)


@pytest.mark.parametrize("kind", ["identity", "square", "discrete_log", "table"])
def test_maps_are_discovered_from_circles(kind):
    from groklab.analysis.cyclic.coordinates import closed_forms

    rng = np.random.default_rng(3)
    maps = {m.kind: m for m in closed_forms(P)}
    if kind == "table":
        perm = rng.permutation(P)
        coord = np.empty(P, dtype=int)
        coord[perm] = np.arange(P)
        rows = _circle_rows(coord, P, (4, 9, 17), (1.3, 1.0, 0.8), rng, 0.01)
    else:
        m = maps[kind]
        coord = np.maximum(m.array, 0)
        rows = _circle_rows(coord, m.n, (4, 9), (1.0, 0.8), rng, 0.01)
        rows[m.array < 0] = 0
    found = discover_map(rows)
    assert found.kind == kind and found.structured
    if kind == "table":  # the table is the permutation up to x -> u·x + s
        units = [u for u in range(1, P) if len({(c - u * x) % P for x, c in
                                                zip(coord, found.coord)}) == 1]
        assert len(units) == 1


def test_unstructured_rows_have_no_map():
    found = discover_map(np.random.default_rng(0).normal(size=(P, 32)))
    assert not found.structured and found.kind == "identity"


def test_attention_rate_and_two_token_layout_match_the_plain_forward():
    pairs = torch.cartesian_prod(torch.arange(13), torch.arange(13))
    for eq in (True, False):
        for rate in (1.0, 0.0, 0.3):
            cfg = ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32, attn_rate=rate,
                              eq_token=eq)
            model = build_model(cfg, 13, 0).double()
            fast, plain = model.logits(pairs), model.plain_logits(pairs)
            assert torch.allclose(fast, plain, atol=1e-12), (eq, rate)
            pattern = model.run_with_cache(pairs, ["blocks.0.attn.hook_pattern"])[1]
            last = pattern["blocks.0.attn.hook_pattern"][:, :, -1]
            if rate == 0.0:  # uniform over the causal positions
                assert torch.allclose(last, torch.full_like(last, 1 / last.shape[-1]))
