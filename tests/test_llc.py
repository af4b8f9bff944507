"""The LLC estimator against known answers, and its refusals."""

import json

import numpy as np
import pytest
import torch

from conftest import groklab_cli, handbuilt_run
from groklab.analysis.llc.estimator import LLCSettings, estimate
from groklab.errors import GroklabError


def _regression(n: int = 2000, d: int = 10):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = x @ torch.randn(d, generator=gen, dtype=torch.float64) \
        + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
    w = torch.nn.Parameter(torch.linalg.lstsq(x, y).solution.clone())

    def loss(idx):
        xi, yi = (x, y) if idx is None else (x[idx], y[idx])
        return 0.5 * ((xi @ w - yi) ** 2).mean()

    return w, loss, n, d


def test_regular_model_gives_half_its_dimension():
    """Linear regression with d = 10 parameters is regular: λ = d/2 = 5."""
    w, loss, n, d = _regression()
    e = estimate([w], loss, n, LLCSettings(epsilon=5e-4, gamma=1.0, chains=4, draws=3000,
                                           burn_in=200))
    assert e.valid and e.stationary
    assert e.llc == pytest.approx(d / 2, rel=0.10)
    assert len(e.chains) == 4 and e.llc_std < 0.5


def test_singular_potential_gives_its_learning_coefficient():
    """K(w) = w1² + w2² + w3⁴ + w4⁴ (normal crossing): λ = 1/2 + 1/2 + 1/4 + 1/4 = 1.5 < d/2 = 2
    (Watanabe 2009)."""
    v = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    powers = torch.tensor([2.0, 2.0, 4.0, 4.0], dtype=torch.float64)
    e = estimate([v], lambda idx: (v.abs() ** powers).sum(), 1000,
                 LLCSettings(epsilon=1e-4, nbeta=1000.0, gamma=1.0, chains=8, draws=5000,
                             burn_in=500))
    assert e.valid and e.llc == pytest.approx(1.5, rel=0.15)
    assert e.llc < 2.0


def test_deterministic_minibatch_and_flags():
    w, loss, n, _ = _regression()
    settings = LLCSettings(epsilon=5e-4, gamma=1.0, chains=2, draws=300, burn_in=50, batch_size=256)
    a, b = estimate([w], loss, n, settings), estimate([w], loss, n, settings)
    assert a.chains == b.chains  # seeds derived from one seed
    assert a.valid and a.llc == pytest.approx(5.0, rel=0.3)
    start = w.detach().clone()
    w_off = torch.nn.Parameter(start + 0.5)  # not a minimum: the chains find lower loss
    off = estimate([w_off], lambda idx: 0.5 * ((w_off - start) ** 2).sum(), n,
                   LLCSettings(epsilon=5e-4, gamma=1.0, chains=2, draws=300, burn_in=50))
    assert not off.valid and off.llc is None and "not a local minimum" in off.reason
    big = estimate([w], loss, n, LLCSettings(epsilon=1.0, gamma=1.0, chains=1, draws=50,
                                             burn_in=5))
    assert not big.valid and big.llc is None and "diverged" in big.reason


@pytest.mark.parametrize("kwargs,text", [({"epsilon": 0}, "epsilon=0"),
                                         ({"nbeta": -1}, "nbeta=-1"),
                                         ({"draws": 10, "burn_in": 20}, "draws=10"),
                                         ({"chains": 0}, "chains=0")])
def test_bad_settings(kwargs, text):
    with pytest.raises(GroklabError, match=text):
        LLCSettings(**kwargs)


def test_llc_command_writes_llc_json(tmp_path):
    store = handbuilt_run(tmp_path / "run")
    r = groklab_cli("llc", str(store.path), "--checkpoints", "3", "--draws", "30", "--burn-in",
                    "10", "--quiet")
    assert r.returncode == 0, r.stderr
    data = json.loads((store.path / "llc.json").read_text())
    assert [e["epoch"] for e in data["estimates"]] == [0, 50, 100]
    assert data["settings"]["draws"] == 30 and data["settings"]["nbeta"] > 0
    for e in data["estimates"]:
        assert (e["llc"] is None) == (not e["valid"])
    for args, text in ((["--epsilon", "0"], "epsilon=0"), (["--draws", "5"], "draws=5"),
                       (["--checkpoints", "0"], "checkpoints"), (["--max-models", "0"], "'0'"),
                       (["--max-models", "two"], "'two'")):
        bad = groklab_cli("llc", str(store.path), *args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert text in bad.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = groklab_cli("llc", str(empty))
    assert bad.returncode == 2 and "not a groklab run" in bad.stderr
    for batched in ([], ["--max-models", "4"]):
        diverged = groklab_cli("llc", str(store.path), "--checkpoints", "1", "--epsilon", "100",
                               "--draws", "20", "--burn-in", "5", *batched)
        assert diverged.returncode == 2 and "diverged" in diverged.stderr
        saved = json.loads((store.path / "llc.json").read_text())["estimates"][0]
        assert saved["llc"] is None and saved["valid"] is False and "diverged" in saved["reason"]
        assert np.isfinite(saved["loss_init"])


@pytest.mark.parametrize("batch_size,forward", [(None, "loop"), (64, "loop"), (None, "vmap"),
                                                (64, "vmap")])
def test_batched_chains_equal_the_sequential_ones(tmp_path, batch_size, forward):
    """Every chain of three checkpoints in one batched SGLD (K = 6 copies, or 4: two batches)
    follows the sequential chain: the same noise stream and minibatches; through the loop (each
    copy the sequential chain's kernels) every estimate is the sequential one bit for bit, through
    vmap to float rounding (1e-4 relative), validity and refusals included."""
    from groklab.analysis.llc.llc_json import llc_run

    store = handbuilt_run(tmp_path / "run")
    settings = LLCSettings(draws=40, burn_in=10, batch_size=batch_size)
    runs = {k: [e.to_dict() for e in llc_run(store.path, settings, 3, max_models=k,
                                             forward=forward)]
            for k in (1, 6, 4)}
    for k in (6, 4):
        for seq, bat in zip(runs[1], runs[k]):
            if forward == "loop":
                assert bat == seq
                continue
            assert seq["epoch"] == bat["epoch"] and seq["valid"] == bat["valid"]
            assert (seq["reason"] is None) == (bat["reason"] is None)
            assert bat["chains"] == pytest.approx(seq["chains"], rel=1e-4, abs=1e-6)
            assert bat["loss_init"] == pytest.approx(seq["loss_init"], rel=1e-6)


def _quadratic(d: int = 10, c: float = 1.0):
    """L(w) = c/2 |w|² at w* = 0: under SGLD with localization γ the stationary draws are
    N(0, 1/(nβc + γ)) per coordinate, so E[nβ L] = (d/2) nβc / (nβc + γ) exactly."""
    w = torch.nn.Parameter(torch.zeros(d, dtype=torch.float64))
    return w, lambda idx: 0.5 * c * (w ** 2).sum()


def test_the_localization_term_enters_as_declared():
    """γ = nβc halves the estimate; a drift without the γ term would give d/2 instead of d/4."""
    w, loss = _quadratic()
    e = estimate([w], loss, 1000, LLCSettings(epsilon=2e-4, nbeta=100.0, gamma=100.0, chains=4,
                                              draws=4000, burn_in=500))
    assert e.valid and e.llc == pytest.approx(2.5, rel=0.08)


def test_burn_in_draws_are_not_counted():
    """From w* the excess starts at 0 and relaxes to d/2 over ~1/(ε nβ c) = 100 draws; counting
    those draws would bias the estimate low by ~25%."""
    w, loss = _quadratic()
    s = LLCSettings(epsilon=1e-4, nbeta=100.0, gamma=0.0, chains=8, draws=400, burn_in=300)
    e = estimate([w], loss, 1000, s)
    assert e.valid and e.llc == pytest.approx(5.0, rel=0.12)
    no_burn = estimate([w], loss, 1000, LLCSettings(**{**s.__dict__, "burn_in": 0}))
    assert no_burn.llc < 0.85 * e.llc  # the transient is real: burn-in matters here


def test_minibatch_losses_are_paired():
    """With per-sample losses that vary a lot at w*, comparing L_B(w_t) with the full L_n(w*) would
    add nβ·(L_B(w*) − L_n(w*)) noise of hundreds; the paired difference does not."""
    gen = torch.Generator().manual_seed(1)
    n, d = 2000, 10
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = x @ torch.randn(d, generator=gen, dtype=torch.float64) + 5.0 * torch.randn(
        n, generator=gen, dtype=torch.float64)
    w = torch.nn.Parameter(torch.linalg.lstsq(x, y).solution.clone())

    def loss(idx):
        xi, yi = (x, y) if idx is None else (x[idx], y[idx])
        return 0.5 * ((xi @ w - yi) ** 2).mean()

    e = estimate([w], loss, n, LLCSettings(epsilon=2e-4, gamma=1.0, chains=4, draws=1500,
                                           burn_in=300, batch_size=200))
    assert e.valid and e.llc == pytest.approx(5.0, rel=0.25)


def test_points_that_are_not_minima_are_refused():
    """Random initialization of a network, and a trained minimum plus noise: the chains descend
    below L(w*), so the estimate is refused (before this rule both came out 'valid')."""
    from groklab.analysis.llc.estimator import estimate_model
    from groklab.config import ModelConfig, TaskConfig
    from groklab.models import build_model
    from groklab.tasks import make_dataset

    data = make_dataset(TaskConfig(name="add", p=23, frac_train=0.5))
    model = build_model(ModelConfig(kind="mlp", d_model=32, d_mlp=64), 23, 0)
    settings = LLCSettings(chains=2, draws=150, burn_in=40)
    fresh = estimate_model(model, data, settings)
    assert not fresh.valid and "not a local minimum" in fresh.reason
    w, loss, n, d = _regression()  # the OLS minimum is valid; 0.3 off it is not
    assert estimate([w], loss, n, LLCSettings(epsilon=5e-4, gamma=1.0, draws=300,
                                              burn_in=50)).valid
    with torch.no_grad():
        w.add_(0.3 * torch.randn(d, generator=torch.Generator().manual_seed(2),
                                 dtype=torch.float64))
    off = estimate([w], loss, n, LLCSettings(epsilon=5e-4, gamma=1.0, draws=300, burn_in=50))
    assert not off.valid and "not a local minimum" in off.reason


def test_a_gradient_at_w_star_is_refused_even_when_no_draw_goes_below():
    """L = ½|w − a|² at w* = 0 with |a| = 0.01: a line search gains only nβ|a|²/2 = 0.05, but the
    gradient pulls the localized chains down by (nβ|a|)²/2γ = 50 >> 1; at a = 0 both are 0."""
    for offset, valid in ((0.01, False), (0.0, True)):
        a = torch.full((10,), offset / 10 ** 0.5, dtype=torch.float64)
        w = torch.nn.Parameter(torch.zeros(10, dtype=torch.float64))
        e = estimate([w], lambda idx: 0.5 * ((w - a) ** 2).sum(), 1000,
                     LLCSettings(epsilon=1e-4, nbeta=1000.0, gamma=1.0, chains=2, draws=400,
                                 burn_in=100))
        assert e.valid is valid
        if not valid:
            assert "gradient" in e.reason
