"""Mechanistic diagnostics that tell a clock from a pizza (Zhong et al. 2023), on a `Frame`.

- gradient symmetricity: on Zhong et al.'s sample (every triple (a, b, c), a-major, c fastest,
  drawn by Python's `random.Random(42).sample`), the cosine similarity between
  ∂logit_c/∂x_a and ∂logit_c/∂x_b, x_a and x_b the inputs at a's and b's positions (the residual
  stream before the first block, whose gradient is the token embedding's; the embeddings for the
  MLP); the mean. A one-layer pizza adds the two embeddings and is symmetric (≈ 0.99); a clock
  multiplies them (≈ 0.3–0.6). At depth it stays 0.93–1.0 whatever the logits look like, so it
  votes only for one-layer models (`voting_symmetricity`).
- input side: the network's logits with both token embeddings replaced by their mean (a network
  that reads only E_a + E_b is unchanged): the FVE of the original logits by the swapped ones;
  >= SUMMED_INPUT_FVE: "sum" (the inputs meet by addition), else "pair".
- distance irrelevance: the correct-answer logits in a matrix over (x, δ) (discovered coordinates:
  x = f(a) + s·f(b), δ = f(a) − s·f(b)); the mean over columns δ of the std over rows x, divided by
  the std of the whole matrix. A clock's correct logit ignores δ (near 1); a pizza's depends on it.
- resampling δ with x held: pairs (a, b) and (a', b') with the same x and different δ; the
  relative change of the centred logits and the share of changed answers (clock: ~0; pizza: > 0).

The seeds are fixed (RNG_SEED), so the diagnostics of a model are deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from groklab.analysis.cyclic.frame import Frame
from groklab.models import HookedModel
from groklab.rules import SUMMED_INPUT_FVE

GS_TRIPLES = 100
RESAMPLE_PAIRS = 500
RNG_SEED = 0


@lru_cache(maxsize=8)
def their_triples(p: int, triples: int = GS_TRIPLES) -> np.ndarray:
    """Zhong et al.'s gradient-symmetricity sample, exactly: `random.Random(42).sample(list(
    itertools.product(range(p), repeat=3)), triples)`. `sample` reads only the population's
    length and items, so sampling the indices range(p³) draws the same triples without
    building the list (index i is (i // p², i // p % p, i % p)). # [triples, 3]"""
    first = np.array(random.Random(42).sample(range(p ** 3), min(triples, p ** 3)), dtype=np.int64)
    return np.stack([first // (p * p), first // p % p, first % p], axis=1)


def gradient_symmetricity(model: HookedModel, p: int, triples: int = GS_TRIPLES) -> float:
    abc = torch.as_tensor(their_triples(p, triples))
    leaf: dict[str, torch.Tensor] = {}

    def hook(x: torch.Tensor, _name: str) -> torch.Tensor:
        leaf["x"] = x.detach().requires_grad_(True)
        return leaf["x"]

    with torch.enable_grad(), model.hooks({model.input_hook: hook}):
        logits = model.plain_logits(abc[:, :2])
        (grad,) = torch.autograd.grad(logits[torch.arange(triples), abc[:, 2]].sum(), leaf["x"])
    ga, gb = grad[:, 0].double(), grad[:, 1].double()
    cos = (ga * gb).sum(-1) / (ga.norm(dim=-1) * gb.norm(dim=-1)).clamp_min(1e-300)
    return float(cos.mean())


def authors_gradient_symmetricity(model: HookedModel, p: int,
                                  triples: int = GS_TRIPLES) -> float | None:
    """The number Zhong et al.'s own analysis code prints for a transformer, reproduced: their
    `forward_h` returns the token embeddings (before the positional ones) and the *final residual
    stream* (their unembedding is not applied), their loop feeds `a b` as raw tokens (no `=`, b not
    shifted by diff_vocab), and it differentiates residual coordinate c at the last position, not
    logit c. The mean over their sample of the cosine between the gradients at a's and b's
    embedding (nan, as theirs, when a sampled coordinate has no gradient). None where their code
    could not run (not a transformer, or d_model <= some c)."""
    abc = their_triples(p, triples)
    if model.cfg.kind != "transformer" or abc[:, 2].max() >= model.cfg.d_model:
        return None
    found: dict[str, torch.Tensor] = {}

    def embed(x: torch.Tensor, _name: str) -> torch.Tensor:
        found["embed"] = x.detach().requires_grad_(True)
        return found["embed"]

    def final(x: torch.Tensor, _name: str) -> None:
        found["resid"] = x

    last = f"blocks.{model.cfg.n_layers - 1}.hook_resid_post"
    with torch.enable_grad(), model.hooks({"hook_embed": embed, last: final}):
        model.forward(torch.as_tensor(abc[:, :2]))
        resid = found["resid"][:, -1]
        picked = resid[torch.arange(len(abc)), torch.as_tensor(abc[:, 2])]
        (grad,) = torch.autograd.grad(picked.sum(), found["embed"])
    ga, gb = grad[:, 0].double(), grad[:, 1].double()
    return float(((ga * gb).sum(-1) / (ga.norm(dim=-1) * gb.norm(dim=-1))).mean())  # 0/0: nan, as theirs


def is_deep(model: HookedModel) -> bool:
    return model.cfg.kind == "transformer" and model.cfg.n_layers > 1


def voting_symmetricity(model: HookedModel, p: int) -> float | None:
    """The gradient symmetricity where it can tell a clock from a pizza (one layer), else None."""
    return None if is_deep(model) else gradient_symmetricity(model, p)


def input_side(model: HookedModel, pairs: torch.Tensor) -> dict:
    """{"side": "sum" | "pair", "fve": ...}: do the network's logits survive replacing both token
    embeddings by their mean (what a network that reads only E_a + E_b does not notice)?"""
    def swap(x: torch.Tensor, _name: str) -> torch.Tensor:  # [batch, pos, m]: a and b first
        x = x.clone()
        mean = x[:, :2].mean(1, keepdim=True)
        x[:, :2] = mean
        return x

    with torch.no_grad():
        base = model.plain_logits(pairs).double()
        with model.hooks({"hook_embed": swap}):
            swapped = model.plain_logits(pairs).double()
    centred = base - base.mean(-1, keepdim=True)
    resid = (base - swapped) - (base - swapped).mean(-1, keepdim=True)
    fve = float(1 - resid.pow(2).sum() / centred.pow(2).sum().clamp_min(1e-300))
    return {"side": "sum" if fve >= SUMMED_INPUT_FVE else "pair", "fve": fve,
            "rule": f"sum when the logits with both token embeddings replaced by their mean keep "
                    f">= {SUMMED_INPUT_FVE} of the logit variance (FVE), else pair"}


def correct_logit_matrix(frame: Frame) -> np.ndarray:
    """Mean logit of the network's own answer per (x, δ) over the regular pairs (the network's
    answers, not the task's labels: a diagnostic of what the network computes). # [N, N] (NaN:
    no pair)"""
    rows = np.flatnonzero(frame.regular & frame.valid)
    n = frame.n
    cell = frame.x[rows] * n + frame.delta[rows]
    values = frame.logits[rows, frame.network_answer[rows]]
    sums = np.bincount(cell, weights=values, minlength=n * n)
    counts = np.bincount(cell, minlength=n * n)
    with np.errstate(invalid="ignore"):
        return (sums / np.where(counts > 0, counts, np.nan)).reshape(n, n)


def distance_irrelevance(frame: Frame) -> float:
    m = correct_logit_matrix(frame)
    total = float(np.nanstd(m))
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    with np.errstate(invalid="ignore"):
        cols = np.nanstd(m, axis=0)
    return float(np.nanmean(cols) / total)


def resample_distance(frame: Frame, pairs: int = RESAMPLE_PAIRS) -> dict[str, float]:
    """Hold x, resample δ: {logit_change, answer_change} averaged over random pairs of pairs."""
    rows = np.flatnonzero(frame.regular & frame.valid)
    x, delta = frame.x[rows], frame.delta[rows]
    rng = np.random.Generator(np.random.PCG64(RNG_SEED))
    order = np.argsort(x, kind="stable")
    starts = np.searchsorted(x[order], x)  # first row of each row's x group in `order`
    ends = np.searchsorted(x[order], x, side="right")
    pick = rng.integers(0, len(rows), size=pairs) if len(rows) else np.zeros(0, dtype=int)
    first, second = [], []
    for i in pick:
        group = order[starts[i]:ends[i]]
        other = group[delta[group] != delta[i]]
        if len(other):
            first.append(i)
            second.append(int(rng.choice(other)))
    if not first:
        return {"logit_change": float("nan"), "answer_change": float("nan")}
    r1, r2 = rows[np.array(first)], rows[np.array(second)]
    z1, z2 = frame.centred(r1), frame.centred(r2)
    scale = (np.linalg.norm(z1, axis=1) + np.linalg.norm(z2, axis=1)) / 2
    change = np.linalg.norm(z1 - z2, axis=1) / np.maximum(scale, 1e-300)
    answers = frame.network_answer
    return {"logit_change": float(change.mean()),
            "answer_change": float((answers[r1] != answers[r2]).mean())}


@dataclass(frozen=True)
class Diagnostics:
    gradient_symmetricity: float
    distance_irrelevance: float
    resample: dict[str, float]


def diagnose(model: HookedModel, frame: Frame) -> Diagnostics:
    return Diagnostics(gradient_symmetricity(model, frame.p), distance_irrelevance(frame),
                       resample_distance(frame))
