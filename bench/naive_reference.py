"""A naive reference trainer for the benchmarks: the reference model computed as the paper's code
does, at every position, with per-pair queries, keys and values, the MLP and unembedding at all
three positions, and the float64 cross-entropy on the last position.

It reads its weights from a groklab Transformer (same layout), so both start from the same point.
"""

from __future__ import annotations

import numpy as np
import torch


def naive_logits(params: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    """[batch, 3] -> [batch, 3, p], everything per pair and per position."""
    x = params["embed.W_E"][tokens] + params["pos_embed.W_pos"]  # [b, pos, m]
    q = torch.einsum("bpm,hmd->bhpd", x, params["blocks.0.attn.W_Q"])
    k = torch.einsum("bpm,hmd->bhpd", x, params["blocks.0.attn.W_K"])
    v = torch.einsum("bpm,hmd->bhpd", x, params["blocks.0.attn.W_V"])
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(q.shape[-1])
    mask = torch.tril(torch.ones(3, 3, dtype=torch.bool))
    pattern = scores.masked_fill(~mask, -1e10).softmax(-1)
    z = torch.einsum("bhqk,bhkd->bhqd", pattern, v)
    x = x + torch.einsum("bhqd,hdm->bqm", z, params["blocks.0.attn.W_O"])
    pre = x @ params["blocks.0.mlp.W_in"] + params["blocks.0.mlp.b_in"]
    x = x + torch.relu(pre) @ params["blocks.0.mlp.W_out"] + params["blocks.0.mlp.b_out"]
    return x @ params["unembed.W_U"]


def naive_loss(params, tokens, labels):
    logits = naive_logits(params, tokens)[:, -1].to(torch.float64)
    return -logits.log_softmax(-1).gather(-1, labels[:, None]).mean()


def naive_progress_point(model, p: int, freqs: list[int]) -> dict:
    """One checkpoint's measures computed the straightforward way: the plain forward at every
    position, each neuron's 2-D Fourier transform in a Python loop, the restricted logits by a full
    2-D transform per output class. For benchmarking groklab.analysis.cyclic.progress.measure."""
    from groklab.analysis.cyclic.fourier import fourier_basis

    a = torch.arange(p)
    pairs = torch.cartesian_prod(a, a)
    cache = {}
    with torch.no_grad(), model.hooks({"blocks.0.mlp.hook_post":
                                       lambda x, n: cache.__setitem__("post", x)}):
        logits = model(model.tokens(pairs))[:, -1].double().numpy()
    acts = cache["post"][:, -1].double().numpy()
    f = fourier_basis(p)
    fve = []
    for n in range(acts.shape[1]):
        coef = f @ acts[:, n].reshape(p, p) @ f.T
        energy = coef**2
        total = energy.sum() - energy[0, 0]
        best = 0.0
        for k in range(1, (p - 1) // 2 + 1):
            idx = [0, 2 * k - 1, 2 * k]
            best = max(best, (energy[np.ix_(idx, idx)].sum() - energy[0, 0]) / max(total, 1e-30))
        fve.append(best)
    i, j = np.meshgrid(a.numpy(), a.numpy(), indexing="ij")
    keep = np.zeros((p, p, p))
    for k in freqs:
        for fn in (np.cos, np.sin):
            direction = fn(2 * np.pi * k * (i + j) / p)
            direction /= np.linalg.norm(direction)
            for c in range(p):
                grid = logits[:, c].reshape(p, p)
                keep[:, :, c] += direction * (direction * grid).sum()
    restricted = keep.reshape(p * p, p) + logits.mean(0, keepdims=True)
    z = restricted - restricted.max(1, keepdims=True)
    labels = (pairs.sum(1) % p).numpy()
    loss = -(z[np.arange(p * p), labels] - np.log(np.exp(z).sum(1))).mean()
    return {"fve": fve, "restricted_loss": float(loss)}
