"""Reference forwards written from the descriptions of the authors' code (../shared/SCIENCE.md,
"Model file layouts users will bring"), independently of groklab's models: the layout tests check
groklab's imported models against these, never against groklab's own fast path.

Each takes the file's own state dict (the authors' names and shapes) and returns the logits at the
last position over the answers."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ACT = {"relu": torch.relu, "gelu": lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2))),
       "tanh": torch.tanh, "silu": lambda x: x * torch.sigmoid(x),
       "gelu_new": lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi)
                                                       * (x + 0.044715 * x ** 3)))}


def clockpizza(sd: dict, config: dict, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Zhong et al.'s transformer: W_E [d, V]; per block `x + attn(x)` then `x + mlp(x)`; scores
    k·q/√d_head over every position (no mask), softmax, pattern·rate + (1 − rate); no LayerNorm;
    logits at the last position, the first C outputs."""
    c = config["C"]
    rate = config.get("attn_coeff", 1.0)
    act = ACT[config.get("act_fn", "ReLU").lower()]
    toks = [a, b + c if config.get("diff_vocab") else b]
    w_e = sd["embed.W_E"].double()
    if config.get("eqn_sign"):
        toks.append(torch.full_like(a, w_e.shape[1] - 1))
    tokens = torch.stack(toks, 1)
    x = w_e[:, tokens].permute(1, 2, 0) + sd["pos_embed.W_pos"].double()[: tokens.shape[1]]
    layer = 0
    while f"blocks.{layer}.attn.W_Q" in sd:
        pre = f"blocks.{layer}."
        w = {k[len(pre):]: v.double() for k, v in sd.items() if k.startswith(pre)}
        k = torch.einsum("ihd,bpd->biph", w["attn.W_K"], x)
        q = torch.einsum("ihd,bpd->biph", w["attn.W_Q"], x)
        v = torch.einsum("ihd,bpd->biph", w["attn.W_V"], x)
        scores = torch.einsum("biph,biqh->biqp", k, q) / math.sqrt(w["attn.W_Q"].shape[1])
        pattern = torch.softmax(scores, dim=-1) * rate + (1 - rate)
        z = torch.einsum("biph,biqp->biqh", v, pattern)
        z_flat = z.permute(0, 2, 1, 3).reshape(z.shape[0], z.shape[2], -1)
        x = x + torch.einsum("df,bqf->bqd", w["attn.W_O"], z_flat)
        hidden = act(torch.einsum("md,bpd->bpm", w["mlp.W_in"], x) + w["mlp.b_in"])
        x = x + torch.einsum("dm,bpm->bpd", w["mlp.W_out"], hidden) + w["mlp.b_out"]
        layer += 1
    return (x @ sd["unembed.W_U"].double())[:, -1, :c]


def _layer_norm(x: torch.Tensor, w=None, b=None) -> torch.Tensor:
    x = x - x.mean(-1, keepdim=True)
    x = x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()
    return x if w is None else x * w + b


def hooked_transformer(sd: dict, cfg: dict, tokens: torch.Tensor, p: int) -> torch.Tensor:
    """TransformerLens' HookedTransformer: embed + pos; per block, with LayerNorm (LN: weights,
    LNPre: none) before attention, MLP and unembedding, `x + attn(ln1(x))` with causal softmax over
    q·k/√d_head plus biases, then `x + mlp(ln2(x))`; logits at the last position, first p."""
    norm = cfg.get("normalization_type")
    act = ACT[cfg.get("act_fn", "relu")]
    sd = {k: v.double() for k, v in sd.items() if v.dtype.is_floating_point}

    def ln(x, name):
        if norm is None:
            return x
        return _layer_norm(x, sd.get(name + ".w"), sd.get(name + ".b"))

    n = tokens.shape[1]
    x = sd["embed.W_E"][tokens] + sd["pos_embed.W_pos"][:n]
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for layer in range(cfg["n_layers"]):
        pre = f"blocks.{layer}."
        w = {k[len(pre):]: v for k, v in sd.items() if k.startswith(pre)}
        h = ln(x, pre + "ln1")
        q, k, v = (torch.einsum("bpm,hmd->bhpd", h, w[f"attn.W_{n_}"])
                   + (w[f"attn.b_{n_}"][:, None] if f"attn.b_{n_}" in w else 0)
                   for n_ in "QKV")
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        pattern = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        z = pattern @ v  # [b, h, p, d]
        x = x + torch.einsum("bhpd,hdm->bpm", z, w["attn.W_O"]) + w.get("attn.b_O", 0)
        hidden = act(ln(x, pre + "ln2") @ w["mlp.W_in"] + w["mlp.b_in"])
        x = x + hidden @ w["mlp.W_out"] + w["mlp.b_out"]
    logits = ln(x, "ln_final") @ sd["unembed.W_U"] + sd.get("unembed.b_U", 0)
    return logits[:, -1, :p]


def relative_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.detach().double() - ref.detach()).abs().max() / ref.detach().abs().max())
