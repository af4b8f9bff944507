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


def clockpizza_h(sd: dict, config: dict, tokens: torch.Tensor, dtype=torch.float64):
    """Their `forward_h`: (the token embeddings [batch, pos, d] before the positional ones, the
    final residual stream [batch, pos, d]); their unembedding is not applied. W_E [d, V]; per
    block `x + attn(x)` then `x + mlp(x)`; scores k·q/√d_head over every position (no mask),
    softmax, pattern·rate + (1 − rate); no LayerNorm."""
    rate = config.get("attn_coeff", 1.0)
    act = ACT[config.get("act_fn", "ReLU").lower()]
    embedded = sd["embed.W_E"].to(dtype)[:, tokens].permute(1, 2, 0)
    x = embedded + sd["pos_embed.W_pos"].to(dtype)[: tokens.shape[1]]
    layer = 0
    while f"blocks.{layer}.attn.W_Q" in sd:
        pre = f"blocks.{layer}."
        w = {k[len(pre):]: v.to(dtype) for k, v in sd.items() if k.startswith(pre)}
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
    return embedded, x


def clockpizza_tokens(config: dict, a: torch.Tensor, b: torch.Tensor, v: int) -> torch.Tensor:
    """Their dataset's inputs: `a b` (b + C with diff_vocab), then `=` (the last id) with eqn_sign."""
    toks = [a, b + config["C"] if config.get("diff_vocab") else b]
    if config.get("eqn_sign"):
        toks.append(torch.full_like(a, v - 1))
    return torch.stack(toks, 1)


def clockpizza(sd: dict, config: dict, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Zhong et al.'s transformer: logits at the last position, the first C outputs."""
    tokens = clockpizza_tokens(config, a, b, sd["embed.W_E"].shape[1])
    _, x = clockpizza_h(sd, config, tokens)
    return (x @ sd["unembed.W_U"].double())[:, -1, : config["C"]]


def clockpizza_their_diagnostics(sd: dict, config: dict) -> dict:
    """Their analysis script's gradient symmetricity and distance irrelevance, as it runs: the
    sample `random.Random(42).sample(list(itertools.product(range(C), repeat=3)), 100)`; per
    triple, `forward_h` on the raw tokens [[a, b]] (float32, as their model runs), the gradient of
    the final residual's coordinate c at the last position with respect to the two token
    embeddings, their cosine, the mean. Also the same with logit c (the paper's definition) on the
    dataset's inputs. Distance irrelevance: the correct logits in oo[(a+b)%C][(a−b)%C]; the mean
    over columns of the std down each column, over the std of all (numpy's population std)."""
    import itertools
    import random

    import numpy as np

    c_mod, v = config["C"], sd["embed.W_E"].shape[1]
    xs = random.Random(42).sample(list(itertools.product(range(c_mod), repeat=3)), 100)
    f32 = {k: t.float() for k, t in sd.items()}
    resid_cos, logit_cos = [], []
    for a, b, c in xs:
        for target, out in (("resid", resid_cos), ("logit", logit_cos)):
            if target == "resid":
                tokens = torch.tensor([[a, b]])
            else:
                tokens = clockpizza_tokens(config, torch.tensor([a]), torch.tensor([b]), v)
            w = {k: (t.clone().requires_grad_(True) if k == "embed.W_E" else t)
                 for k, t in f32.items()}
            embedded, x = clockpizza_h(w, config, tokens, dtype=torch.float32)
            embedded.retain_grad()
            o = x[0, -1] if target == "resid" else (x @ w["unembed.W_U"])[0, -1]
            o[c].backward()
            g = embedded.grad[0].double().numpy()
            with np.errstate(invalid="ignore", divide="ignore"):  # a zero gradient: nan, as theirs
                out.append(np.sum(g[0] * g[1]) / np.sqrt(np.sum(g[0] ** 2))
                           / np.sqrt(np.sum(g[1] ** 2)))
    oo = np.zeros((c_mod, c_mod))
    a, b = torch.cartesian_prod(torch.arange(c_mod), torch.arange(c_mod)).T
    with torch.no_grad():
        logits = clockpizza(sd, config, a, b).numpy()
    for i, j, row in zip(a.tolist(), b.tolist(), logits):
        oo[(i + j) % c_mod][(i - j) % c_mod] = row[(i + j) % c_mod]
    return {"gradient_symmetricity_authors": float(np.mean(resid_cos)),
            "gradient_symmetricity": float(np.mean(logit_cos)),
            "distance_irrelevance": float(np.mean(np.std(oo, axis=0)) / np.std(oo.flatten()))}


def _layer_norm(x: torch.Tensor, w=None, b=None) -> torch.Tensor:
    x = x - x.mean(-1, keepdim=True)
    x = x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()
    return x if w is None else x * w + b


def hooked_transformer(sd: dict, cfg: dict, tokens: torch.Tensor, p: int) -> torch.Tensor:
    """TransformerLens' HookedTransformer: embed + pos; per block, with LayerNorm (LN: weights,
    LNPre: none) before attention, MLP and unembedding, `x + attn(ln1(x))` with causal softmax over
    q·k/√d_head plus biases, then `x + mlp(ln2(x))` (not in attention-only models); logits at the last position, first p."""
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
        if cfg.get("attn_only"):  # attention-only blocks: no MLP, no ln2
            continue
        hidden = act(ln(x, pre + "ln2") @ w["mlp.W_in"] + w["mlp.b_in"])
        x = x + hidden @ w["mlp.W_out"] + w["mlp.b_out"]
    logits = ln(x, "ln_final") @ sd["unembed.W_U"] + sd.get("unembed.b_U", 0)
    return logits[:, -1, :p]


def relative_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.detach().double() - ref.detach()).abs().max() / ref.detach().abs().max())
