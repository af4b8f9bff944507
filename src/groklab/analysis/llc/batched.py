"""The LLC's SGLD chains of several checkpoints in one batched run: K = checkpoints × chains copies of
the model stacked on a leading axis, one forward of all copies, one backward, one update.

Each copy follows exactly the sequential chain's recipe (estimator._chain): the same start w*, the
same noise stream (chain c's generator, seeded as in the sequential estimator, drawn parameter by
parameter in the same order), the same minibatches, the same divergence test. The forward is the
batched trainer's choice (train.multiseed.FORWARDS): "loop" runs each copy's forward and loss on
views of the stacked tensors, the sequential chain's own kernels, so the chains are the sequential
ones bit for bit (the CPU default); "vmap" (`torch.func`, the GPU default) batches the kernels and
rounds some sums otherwise, so its estimates agree with the sequential ones to float rounding, not
bit for bit (tests/test_llc.py). A checkpoint whose chain diverges stops moving (its
copies are held at w*) and is reported invalid with the first reason, as the sequential estimator
reports it. Each checkpoint's estimate is then concluded by the sequential code (stationarity, the
line search down the gradient, the validity rule), so the rule is one function for both paths.

Glossary: K copies (k = checkpoint index × chains + chain), n training pairs, P answers.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from groklab.analysis.llc.estimator import (DIVERGENCE_FACTOR, LLCEstimate, LLCSettings,
                                            chain_seeds, conclude, distance, model_loss)
from groklab.models import HookedModel, TrainingForward
from groklab.train.multiseed import batch_forward


class _Copies:
    """K stacked copies of one architecture: per-copy mean cross-entropy (float64) on the
    training pairs (or on per-copy minibatches)."""

    def __init__(self, model: HookedModel, data, starts: list[dict[str, torch.Tensor]], chains: int,
                 forward: str):
        self.base, self.forward = TrainingForward(model), forward
        self.names = [n for n, _ in model.named_parameters()]
        self.buffers = {f"model.{n}": b for n, b in model.named_buffers()}
        self.start = {n: torch.stack([s[n] for s in starts for _ in range(chains)])
                      for n in self.names}
        self.params = {n: t.clone().requires_grad_(True) for n, t in self.start.items()}
        self.pairs = torch.as_tensor(data.pairs[data.train_idx])
        self.labels = torch.as_tensor(data.labels[data.train_idx])

    def losses(self, params: dict, idx: torch.Tensor | None) -> torch.Tensor:  # -> [K]
        if self.forward == "loop":  # estimator.model_loss on each copy's views
            rows = {f"model.{n}": p.unbind(0) for n, p in params.items()}
            out = []
            for k in range(len(self.start[self.names[0]])):
                x, y = (self.pairs, self.labels) if idx is None else \
                    (self.pairs[idx[k]], self.labels[idx[k]])
                logits = functional_call(self.base, ({n: r[k] for n, r in rows.items()},
                                                     self.buffers), (x,))
                out.append(F.cross_entropy(logits.double(), y))
            return torch.stack(out)
        named = {f"model.{n}": p for n, p in params.items()}

        def one(p, x):
            return functional_call(self.base, (p, self.buffers), (x,))

        if idx is None:
            logits = vmap(one, in_dims=(0, None))(named, self.pairs)  # [K, n, P]
            labels = self.labels.expand(logits.shape[0], -1)
        else:  # idx [K, B]: each copy its own batch
            logits = vmap(one)(named, self.pairs[idx])
            labels = self.labels[idx]
        logp = F.log_softmax(logits.double(), dim=-1)
        return -logp.gather(-1, labels.unsqueeze(-1)).squeeze(-1).mean(-1)


def _batches(settings: LLCSettings, n: int, gens: list[np.random.Generator]) -> torch.Tensor | None:
    if settings.batch_size is None or settings.batch_size >= n:
        return None
    return torch.as_tensor(np.stack([g.choice(n, size=settings.batch_size, replace=False)
                                     for g in gens]))


def _sgld(copies: _Copies, settings: LLCSettings, nbeta: float, d: int, chains: int,
          loss_star_full: torch.Tensor) -> tuple[list[list[float]], np.ndarray, np.ndarray, dict]:
    """All K chains, step by step: per copy the kept nβ·(L − L*) draws, the lowest full-batch
    draw, the reach from w*, and per checkpoint the first divergence."""
    k_n, eps, gamma = len(loss_star_full), settings.epsilon, settings.gamma
    seeds = chain_seeds(settings)
    gens = [torch.Generator().manual_seed(int(seeds[2 * (k % chains)])) for k in range(k_n)]
    picks = [np.random.Generator(np.random.PCG64(int(seeds[2 * (k % chains) + 1])))
             for k in range(k_n)]
    live = torch.ones(k_n, dtype=torch.bool)
    kept = [[] for _ in range(k_n)]
    lowest, reach, diverged = np.zeros(k_n), np.zeros(k_n), {}
    params = list(copies.params.values())
    starts = list(copies.start.values())
    for t in range(settings.draws):
        idx = _batches(settings, len(copies.labels), picks)
        losses = copies.losses(copies.params, idx)
        grads = torch.autograd.grad(losses.sum(), params)
        with torch.no_grad():
            star = loss_star_full if idx is None else copies.losses(copies.start, idx)
        excess = (nbeta * (losses.detach() - star)).numpy()
        values = losses.detach().numpy()
        for k in np.flatnonzero(live.numpy()):
            if not math.isfinite(values[k]) or excess[k] > DIVERGENCE_FACTOR * d:
                diverged.setdefault(k // chains, f"chain {k % chains} diverged at draw {t}: loss "
                                    f"{values[k]:.4g} (L(w*) = {float(star[k]):.4g}); lower "
                                    "epsilon or raise gamma")
        for ckpt in diverged:
            live[ckpt * chains:(ckpt + 1) * chains] = False
        if idx is None:
            lowest = np.minimum(lowest, np.where(live.numpy(), excess, 0.0))
        if t >= settings.burn_in:
            for k in range(k_n):
                kept[k].append(float(excess[k]))
        with torch.no_grad():
            for p, g, s in zip(params, grads, starts):
                noise = torch.stack([torch.randn(p.shape[1:], generator=gen, dtype=p.dtype)
                                     for gen in gens])
                p.add_(-0.5 * eps * (nbeta * g + gamma * (p - s)) + math.sqrt(eps) * noise)
                p.copy_(torch.where(live.view(-1, *[1] * (p.dim() - 1)), p, s))  # held at w*
            if copies.forward == "loop":  # the sequential chain's sums, copy by copy
                dist = np.array([distance([p[k] for p in params], [s[k] for s in starts])
                                 for k in range(k_n)])
            else:
                dist = sum(((p - s) ** 2).flatten(1).sum(1)
                           for p, s in zip(params, starts)).sqrt().numpy()
            reach = np.maximum(reach, dist)
    return kept, lowest, reach, diverged


def estimate_checkpoints(model: HookedModel, data, settings: LLCSettings,
                         states: list[dict[str, torch.Tensor]], epochs: list[int],
                         forward: str = "auto") -> list[LLCEstimate]:
    """λ̂ at each state (one model's named parameters at a checkpoint), all chains of all of them
    in one batched SGLD (`forward`: train.multiseed.FORWARDS, auto by the model's device);
    `model` is left holding the last state."""
    chains = settings.chains
    device = next(model.parameters()).device
    copies = _Copies(model, data, states, chains, batch_forward(forward, device))
    n = len(copies.labels)
    nbeta = settings.resolved_nbeta(n)
    d = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        loss_star_full = copies.losses(copies.start, None)
    kept, lowest, reach, diverged = _sgld(copies, settings, nbeta, d, chains, loss_star_full)
    loss_fn, _ = model_loss(model, data)
    params = list(model.parameters())
    out = []
    for i, (state, epoch) in enumerate(zip(states, epochs)):
        star = float(loss_star_full[i * chains])
        if i in diverged:
            out.append(LLCEstimate(None, None, [], False, diverged[i], False, star, {}, nbeta,
                                   epoch))
            continue
        with torch.no_grad():
            for p, name in zip(params, copies.names):
                p.copy_(state[name])
        rows = range(i * chains, (i + 1) * chains)
        start = [p.detach().clone() for p in params]
        estimate = conclude([np.asarray(kept[k]) for k in rows], float(lowest[rows].min()),
                            float(reach[rows].max()), params, start, loss_fn, nbeta, settings,
                            star)
        estimate.epoch = epoch
        out.append(estimate)
    return out
