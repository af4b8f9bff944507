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
