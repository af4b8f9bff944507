"""The local learning coefficient (LLC, singular learning theory), estimated with SGLD.

λ̂ = nβ·(E[L_n(w)] − L_n(w*)), the expectation over SGLD chains localized at the trained weights w*:

    w ← w − (ε/2)·(nβ·∇L_n(w) + γ·(w − w*)) + N(0, ε)

Full batch by default: L_n is the mean loss over the n training samples, and L_n(w*) is measured
on the same samples. With a minibatch size B, each step draws a batch (seeded), and the estimate
uses the paired difference L_B(w_t) − L_B(w*) on that same batch, so the loss at w* is never
compared across different data. The first `burn_in` draws of each chain are excluded from the
mean. Chains use seeds derived from one seed (numpy SeedSequence), so an estimate is deterministic.

An estimate is invalid (stored with its reason, never as a number) when a chain diverges (a
non-finite loss, or a draw whose nβ·(L − L*) exceeds DIVERGENCE_FACTOR × the number of parameters,
far past the d/2 of a regular model), when w* is not a local minimum (a full-batch draw of any
chain, the burn-in included, or a line search down the gradient within the distance the chains
travelled, reaches nβ·(L − L*) < −max(LLC_DESCENT_FLOOR, LLC_DESCENT_SHARE × |λ̂|), or the
gradient at w* would pull the localized chains down by more than that: the linear term nβ∇L·Δw
against the localization γ|Δw|²/2 lowers nβ·L by up to (nβ|∇L|)²/(2γ) (at a minimum ∇L = 0: the
null is 0; random initialization, weights moved off a minimum and a network still descending, as
in memorization, are far above it), or when the estimate is negative. The calibration rule (stationarity): the mean of the
last half of the kept draws is within STATIONARY_TOL of the mean of all kept draws, in every chain.

Known answers (tests): linear regression with d parameters gives d/2; the normal-crossing
potential K(w) = Σ_i w_i^(2k_i) has λ = Σ_i 1/(2k_i) (Watanabe 2009, "Algebraic Geometry and
Statistical Learning Theory", the normal crossing case).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from groklab.errors import GroklabError
from groklab.rules import (LLC_DESCENT_FLOOR, LLC_DESCENT_SHARE, LLC_DIVERGENCE_FACTOR,
                           LLC_STATIONARY_TOL, llc_refusal)

DIVERGENCE_FACTOR = LLC_DIVERGENCE_FACTOR
STATIONARY_TOL = LLC_STATIONARY_TOL
LLC_RULE = (f"invalid when a chain diverges (non-finite loss, or nβ·(L − L*) > "
            f"{DIVERGENCE_FACTOR:g} × the parameter count), when w* is not a local minimum (some "
            f"draw, burn-in included, has nβ·(L − L*) below −max({LLC_DESCENT_FLOOR:g}, "
            f"{LLC_DESCENT_SHARE:g} × |estimate|), or the gradient's pull (nβ|∇L(w*)|)²/2γ exceeds "
            f"that: the chains found lower loss), or the estimate is negative; stationary when each chain's mean over the last half of its kept "
            f"draws is within {STATIONARY_TOL:.0%} of its mean over all kept draws")


@dataclass(frozen=True)
class LLCSettings:
    """SGLD hyperparameters; nbeta None means devinterp's default n/ln(n) (n: the batch size)."""

    epsilon: float = 1e-4
    nbeta: float | None = None
    gamma: float = 100.0
    chains: int = 2
    draws: int = 300  # steps per chain, burn-in included
    burn_in: int = 75
    batch_size: int | None = None  # None: full batch
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [(self.epsilon > 0 and math.isfinite(self.epsilon), f"epsilon={self.epsilon} "
                   "must be > 0"),
                  (self.nbeta is None or (self.nbeta > 0 and math.isfinite(self.nbeta)),
                   f"nbeta={self.nbeta} must be > 0"),
                  (self.gamma >= 0 and math.isfinite(self.gamma), f"gamma={self.gamma} must be >= 0"),
                  (self.chains >= 1, f"chains={self.chains} must be >= 1"),
                  (self.burn_in >= 0, f"burn_in={self.burn_in} must be >= 0"),
                  (self.draws > self.burn_in, f"draws={self.draws} must exceed burn_in="
                   f"{self.burn_in} (the burn-in draws are not counted)"),
                  (self.batch_size is None or self.batch_size >= 1,
                   f"batch_size={self.batch_size} must be >= 1"),
                  (0 <= self.seed < 2**63, f"seed={self.seed} must be in 0..2^63-1")]
        for ok, message in checks:
            if not ok:
                raise GroklabError(message)

    def resolved_nbeta(self, n: int) -> float:
        size = min(self.batch_size or n, n)
        return self.nbeta if self.nbeta is not None else size / math.log(max(size, 3))


@dataclass
class LLCEstimate:
    """One λ̂ with its evidence."""

    llc: float | None  # None when invalid
    llc_std: float | None  # std over chains
    chains: list[float | None]
    valid: bool
    reason: str | None
    stationary: bool
    loss_init: float  # L_n(w*)
    loss_trace: dict = field(default_factory=dict)  # per chain: mean, min, max, last of the kept
    nbeta: float = 0.0
    epoch: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _set(params: list[torch.nn.Parameter], values: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for p, s in zip(params, values):
            p.copy_(s)


def _loss_at_start(params, start, loss_fn, idx) -> float:
    """The loss at w* on the same batch (a paired difference); the parameters are put back."""
    with torch.no_grad():
        saved = [p.detach().clone() for p in params]
        _set(params, start)
        loss = float(loss_fn(idx).detach())
        _set(params, saved)
    return loss


def _chain(c: int, params, start, loss_fn, n: int, settings: LLCSettings, nbeta: float, d: int,
           loss_star_full: float, seeds) -> tuple[np.ndarray, float]:
    """One SGLD chain from w*: nβ (L(w_t) − L(w*)) at every draw after the burn-in, the lowest
    over every draw (burn-in included; full batch only) and the farthest the chain went from w*
    (Euclidean). Raises _Diverged (with the reason) when the loss is not
    finite or runs away."""
    eps, gamma = settings.epsilon, settings.gamma
    gen = torch.Generator().manual_seed(int(seeds[2 * c]))
    batches = np.random.Generator(np.random.PCG64(int(seeds[2 * c + 1])))
    _set(params, start)
    kept, lowest, reach = [], 0.0, 0.0
    for t in range(settings.draws):
        idx = None if settings.batch_size is None or settings.batch_size >= n else \
            batches.choice(n, size=settings.batch_size, replace=False)
        loss = loss_fn(idx)
        grads = torch.autograd.grad(loss, params)
        loss_w = float(loss.detach())
        loss_star = loss_star_full if idx is None else _loss_at_start(params, start, loss_fn, idx)
        excess = nbeta * (loss_w - loss_star)
        if not math.isfinite(loss_w) or excess > DIVERGENCE_FACTOR * d:
            raise _Diverged(f"chain {c} diverged at draw {t}: loss {loss_w:.4g} "
                            f"(L(w*) = {loss_star:.4g}); lower epsilon or raise gamma")
        if idx is None:  # a minibatch's paired difference may dip below 0 at a minimum too
            lowest = min(lowest, excess)
        if t >= settings.burn_in:
            kept.append(excess)
        with torch.no_grad():
            for p, g, s in zip(params, grads, start):
                drift = nbeta * g + gamma * (p - s)
                noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
                p.add_(-0.5 * eps * drift + math.sqrt(eps) * noise)
            reach = max(reach, distance(params, start))
    return np.asarray(kept), lowest, reach


def distance(params, start) -> float:
    """|w − w*| (Euclidean), summed parameter by parameter in float64 (the batched chains' loop
    sums the same way, so their reach is this one bit for bit)."""
    return math.sqrt(sum(float(((p - s) ** 2).sum()) for p, s in zip(params, start)))


def estimate(params: list[torch.nn.Parameter], loss_fn: Callable[[np.ndarray | None], torch.Tensor],
             n: int, settings: LLCSettings, n_params: int | None = None) -> LLCEstimate:
    """λ̂ for parameters `params` (at w*), with `loss_fn(batch_idx)` the mean loss over the samples
    `batch_idx` of 0..n-1 (None: all n). The parameters are restored to w* afterwards."""
    start = [p.detach().clone() for p in params]
    d = n_params if n_params is not None else sum(p.numel() for p in params)
    nbeta = settings.resolved_nbeta(n)
    with torch.no_grad():
        loss_star_full = float(loss_fn(None).detach())
    seeds = chain_seeds(settings)
    kept_all, lowest, reach = [], 0.0, 0.0
    try:
        for c in range(settings.chains):
            kept, low, far = _chain(c, params, start, loss_fn, n, settings, nbeta, d,
                                    loss_star_full, seeds)
            lowest, reach = min(lowest, low), max(reach, far)
            kept_all.append(kept)
    except _Diverged as e:
        return LLCEstimate(None, None, [], False, str(e), False, loss_star_full, {}, nbeta)
    finally:
        _set(params, start)
    return conclude(kept_all, lowest, reach, params, start, loss_fn, nbeta, settings,
                    loss_star_full)


def chain_seeds(settings: LLCSettings) -> np.ndarray:
    """Chain c's noise seed is [2c], its minibatch seed [2c + 1] (the same at every checkpoint)."""
    return np.random.SeedSequence(settings.seed).generate_state(settings.chains * 2)


def conclude(kept_all: list[np.ndarray], lowest: float, reach: float, params, start, loss_fn,
             nbeta: float, settings: LLCSettings, loss_star_full: float) -> LLCEstimate:
    """The estimate from each chain's kept draws, the lowest draw and the chains' reach: the
    stationarity check, the line search down the gradient at w* and the validity rule."""
    values, traces, stationary = [], {}, True
    for c, kept in enumerate(kept_all):
        values.append(float(kept.mean()))
        half = kept[len(kept) // 2:].mean()
        scale = max(abs(kept.mean()), 1e-12)
        stationary &= bool(abs(half - kept.mean()) <= STATIONARY_TOL * scale)
        traces[str(c)] = {"mean": float(kept.mean()), "min": float(kept.min()),
                          "max": float(kept.max()), "last": float(kept[-1])}
    line, grad_norm = _downhill(params, start, loss_fn, reach, nbeta, loss_star_full)
    lowest = min(lowest, line)
    drift = (nbeta * grad_norm) ** 2 / (2 * settings.gamma) if settings.gamma > 0 else 0.0
    llc = float(np.mean(values))
    std = float(np.std(values)) if len(values) > 1 else 0.0
    refused = llc_refusal(lowest, drift, llc)
    if refused:
        return LLCEstimate(None, std, values, False, refused, stationary, loss_star_full, traces,
                           nbeta)
    return LLCEstimate(llc, std, values, True, None, stationary, loss_star_full, traces, nbeta)


def _downhill(params, start, loss_fn, reach: float, nbeta: float, loss_star: float
              ) -> tuple[float, float]:
    """nβ·(L − L(w*)) at the lowest point of a line search from w* down the full-batch gradient,
    steps up to the distance the chains travelled (reach·2^-k, k = 0..LINE_STEPS-1): at a local minimum
    every such point is above L(w*) up to the gradient's tiny first-order term; at random
    initialization or off a minimum the loss falls. Also |∇L(w*)|. The parameters are restored."""
    _set(params, start)
    grads = torch.autograd.grad(loss_fn(None), params)
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    best = 0.0
    if norm > 0 and reach > 0:
        with torch.no_grad():
            for k in range(LINE_STEPS):
                step = reach * 2.0 ** -k / norm
                _set(params, [s - step * g for s, g in zip(start, grads)])
                loss = float(loss_fn(None).detach())
                if math.isfinite(loss):
                    best = min(best, nbeta * (loss - loss_star))
    _set(params, start)
    return best, norm


LINE_STEPS = 30  # halvings of the line search: from the chains' reach down to ~1e-9 of it


class _Diverged(Exception):
    pass


# ---- groklab models and runs ------------------------------------------------------------------
def model_loss(model, data) -> tuple[Callable[[np.ndarray | None], torch.Tensor], int]:
    """The mean cross-entropy (float64) of `model` over the training pairs (or a subset of them),
    and n, the number of training pairs."""
    import torch.nn.functional as F

    pairs = torch.as_tensor(data.pairs[data.train_idx])
    labels = torch.as_tensor(data.labels[data.train_idx])

    def loss(idx: np.ndarray | None) -> torch.Tensor:
        if idx is None:
            return F.cross_entropy(model.logits(pairs).double(), labels)
        i = torch.as_tensor(idx)
        return F.cross_entropy(model.logits(pairs[i]).double(), labels[i])

    return loss, len(labels)


def estimate_model(model, data, settings: LLCSettings, epoch: int | None = None) -> LLCEstimate:
    """λ̂ of a groklab model on its task's training pairs."""
    loss, n = model_loss(model, data)
    params = [p for p in model.parameters() if p.requires_grad]
    result = estimate(params, loss, n, settings)
    result.epoch = epoch
    return result


def pick_checkpoints(epochs: list[int], which: str | int) -> list[int]:
    """'all', or N checkpoints spread evenly in checkpoint order (the first and last included;
    N = 1: the last)."""
    if which == "all" or (isinstance(which, int) and which >= len(epochs)):
        return list(epochs)
    n = int(which)
    if n < 1:
        raise GroklabError(f"--checkpoints {which} must be 'all' or >= 1")
    if n == 1:
        return [epochs[-1]]
    picks = np.unique(np.round(np.linspace(0, len(epochs) - 1, n)).astype(int))
    return [epochs[i] for i in picks]
