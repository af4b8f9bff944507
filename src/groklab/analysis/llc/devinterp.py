"""devinterp's LLC estimator on a groklab model, for cross-checks (the optional [slt] extra:
devinterp 2.x, which needs `datasets`, `xarray`, `zarr`, ...; CI does not install it).

devinterp 2.x is built for language models: its dataset is a column of token sequences and its
loss is per token. A pair (a, b) with its label becomes the sequence [a, b, label], and the loss
is the pair's cross-entropy reported for both "next-token" positions, so devinterp's mean over
positions is the mean cross-entropy over the training pairs, the loss groklab's estimator uses.
Full batch, no burn-in (devinterp averages every step; groklab's cross-check settings keep all
draws too), the same ε, nβ and γ.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from groklab.analysis.llc.estimator import LLCSettings
from groklab.errors import GroklabError


class _Plain(torch.nn.Module):
    """The model behind a plain forward: devinterp treats any module with cfg.n_heads as a
    TransformerLens model and calls its special .to()."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.inner.logits(pairs)


def devinterp_estimate(model, data, settings: LLCSettings) -> dict:
    """devinterp's λ̂ (mean, std over chains, per chain) for `model` on its training pairs."""
    try:
        import datasets
        from devinterp.slt.llc import llc
    except ModuleNotFoundError:
        raise GroklabError("the devinterp cross-check needs the [slt] extra: pip install "
                           "'groklab[slt]'") from None
    if settings.batch_size is not None or settings.burn_in:
        raise GroklabError("the devinterp cross-check runs full batch without burn-in "
                           "(batch_size=None, burn_in=0)")
    train = data.train_idx
    rows = np.concatenate([data.pairs[train], data.labels[train][:, None]], 1)
    ds = datasets.Dataset.from_dict({"input_ids": rows.tolist()}).with_format("torch")

    def loss_fn(m, ids):  # (batch, seq-1): the pair's cross-entropy at both positions
        ce = F.cross_entropy(m(ids[:, :2]).double(), ids[:, 2], reduction="none")
        return ce[:, None].expand(-1, 2)

    out = llc(_Plain(model), ds, {}, lr=settings.epsilon, n_beta=settings.resolved_nbeta(len(train)),
              localization=settings.gamma, num_chains=settings.chains, num_draws=settings.draws,
              batch_size=len(train), num_init_loss_batches=1, shuffle=False, loss_fn=loss_fn,
              init_seed=settings.seed, device="cpu")
    return {"llc": float(out.llc_mean), "llc_std": float(out.llc_std),
            "chains": [float(v) for v in out.llc_per_chain.values]}
