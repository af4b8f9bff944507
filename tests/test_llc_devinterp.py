"""Cross-check of groklab's LLC estimator against devinterp 2.x (the optional [slt] extra).

Skipped without devinterp: it pulls in datasets, transformers, pandas, pydantic, xarray and zarr
(~750 MB beside torch), so CI does not install it. To run: pip install -e '.[slt]' (or put
groklab on PYTHONPATH of an environment that has devinterp) and pytest tests/test_llc_devinterp.py.
"""

from __future__ import annotations

import math

import pytest
import torch

devinterp = pytest.importorskip("devinterp", reason="the [slt] extra (devinterp 2.x) is not "
                                                     "installed")
datasets = pytest.importorskip("datasets")

from groklab.analysis.llc.estimator import LLCSettings, estimate_model  # noqa: E402
from groklab.analysis.llc.devinterp import devinterp_estimate  # noqa: E402
from groklab.config import RunConfig  # noqa: E402
from groklab.tasks import make_dataset  # noqa: E402
from groklab.train import run  # noqa: E402

AGREEMENT = 0.10


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("weight_decay", [0.0, 1.0])
def test_groklab_and_devinterp_agree_on_a_groklab_model(tmp_path, weight_decay):
    """An MLP on a+b mod 23 after 300 epochs (memorized; with and without weight decay): the
    same model, training pairs and hyperparameters through both estimators."""
    cfg = RunConfig.from_dict({
        "task": {"name": "add", "p": 23, "frac_train": 0.6},
        "model": {"kind": "mlp", "d_model": 16, "d_mlp": 64},
        "train": {"epochs": 300, "lr": 1e-2, "weight_decay": weight_decay, "eval_every": 50,
                  "ckpt_every": 1000}})
    model = run(cfg, tmp_path / "run", quiet=True, threads=1).model.double()
    data = make_dataset(cfg.task)
    n = len(data.train_idx)
    nbeta = n / math.log(n)
    settings = LLCSettings(epsilon=1e-4, nbeta=nbeta, gamma=100.0, chains=8, draws=800,
                           burn_in=0)
    ours = estimate_model(model, data, settings)
    theirs = devinterp_estimate(model, data, settings)["llc"]
    assert ours.valid and theirs > 1.0
    assert abs(ours.llc - theirs) / theirs <= AGREEMENT, (ours.llc, theirs)


@pytest.mark.filterwarnings("ignore")
def test_groklab_and_devinterp_agree_on_linear_regression():
    """The regular model of tests/test_llc.py (d = 10, λ = 5) through both estimators."""
    from devinterp.slt.llc import llc

    from groklab.analysis.llc.estimator import estimate

    n, d = 2000, 10
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = x @ torch.randn(d, generator=gen, dtype=torch.float64) \
        + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
    w_star = torch.linalg.lstsq(x, y).solution

    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(w_star.clone())

    model = Linear()

    def loss(idx):
        xi, yi = (x, y) if idx is None else (x[idx], y[idx])
        return 0.5 * ((xi @ model.w - yi) ** 2).mean()

    nbeta = n / math.log(n)
    ours = estimate([model.w], loss, n, LLCSettings(epsilon=5e-4, nbeta=nbeta, gamma=1.0,
                                                    chains=4, draws=2000, burn_in=0))
    ds = datasets.Dataset.from_dict({"input_ids": [[i, i] for i in range(n)]}).with_format("torch")

    def loss_fn(m, ids):  # the rows' squared errors, indexed by the "token" ids
        i = ids[:, 0]
        return (0.5 * (x[i] @ m.w - y[i]) ** 2)[:, None]

    theirs = float(llc(model, ds, {}, lr=5e-4, n_beta=nbeta, localization=1.0, num_chains=4,
                       num_draws=2000, batch_size=n, num_init_loss_batches=1, shuffle=False,
                       loss_fn=loss_fn, device="cpu").llc_mean)
    assert abs(ours.llc - theirs) / theirs <= AGREEMENT, (ours.llc, theirs)
    assert ours.llc == pytest.approx(d / 2, rel=0.15) and theirs == pytest.approx(d / 2, rel=0.15)
