"""transformerlens: a HookedTransformer state dict (attention and unembedding biases must be zero:
groklab's transformer has none); exported as safetensors plus a HookedTransformerConfig-style JSON,
without importing TransformerLens."""

from __future__ import annotations

from pathlib import Path

import torch

from groklab.config import ModelConfig
from groklab.errors import GroklabError
from groklab.models.layouts.common import Imported, check_ranks, need, tensors
from groklab.store import save_tensors, write_json

NAME = "transformerlens"
NEEDS_CONFIG = False
ZERO_BIASES = ("attn.b_Q", "attn.b_K", "attn.b_V", "attn.b_O")
IGNORED = ("attn.mask", "attn.IGNORE")
RANKS = {"embed.W_E": 2, "pos_embed.W_pos": 2, "attn.W_Q": 3, "attn.W_K": 3, "attn.W_V": 3,
         "attn.W_O": 3, "mlp.W_in": 2, "mlp.b_in": 1, "mlp.W_out": 2, "mlp.b_out": 1,
         "unembed.W_U": 2, "unembed.b_U": 1}


def _weights(sd: dict, path: Path) -> dict[str, torch.Tensor]:
    weights = {}
    for k, v in sd.items():
        short = k.split(".", 2)[-1] if k.startswith("blocks.") else k
        if short in IGNORED:
            continue
        if short in ZERO_BIASES or k == "unembed.b_U":
            if v.abs().max() > 0:
                raise GroklabError(f"{path}: {k} is non-zero; groklab's transformer has no "
                                   "attention or unembedding biases")
            continue
        weights[k] = v.float()
    return weights


def read(sd: dict, path: Path, config: dict | None = None) -> Imported:
    sd = tensors(sd, path)
    need(sd, ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.mlp.W_in",
              "unembed.W_U"], NAME, path)
    check_ranks(sd, RANKS, NAME, path)
    blocks = sorted({int(k.split(".")[1]) for k in sd if k.startswith("blocks.")})
    weights = _weights(sd, path)
    d_vocab, d_model = sd["embed.W_E"].shape
    n_heads, _, d_head = sd["blocks.0.attn.W_Q"].shape
    d_vocab_out = sd["unembed.W_U"].shape[1]
    p = d_vocab_out if d_vocab_out < d_vocab else d_vocab - 1
    if d_vocab_out == d_vocab:  # logits over p+1 tokens: drop the `=` class
        weights["unembed.W_U"] = weights["unembed.W_U"][:, :p]
    ln = "blocks.0.ln1.w" in sd
    cfg = ModelConfig(kind="transformer", n_layers=len(blocks), d_model=d_model, n_heads=n_heads,
                      d_head=d_head, d_mlp=sd["blocks.0.mlp.W_in"].shape[1], layer_norm=ln)
    return Imported(weights, cfg, p, {})


def export(model, out_dir: str | Path) -> Path:
    """Write the TransformerLens layout: model.safetensors and config.json (HookedTransformerConfig
    fields). Zero attention and unembedding biases are added, as TransformerLens expects them."""
    if model.cfg.kind != "transformer":
        raise GroklabError("only transformers have a TransformerLens layout; this is an MLP")
    if model.cfg.attn_rate != 1.0:
        raise GroklabError(f"attn_rate={model.cfg.attn_rate} has no TransformerLens equivalent "
                           "(its attention is plain softmax); only rate-1 models can be exported")
    out_dir = Path(out_dir)
    cfg, p = model.cfg, model.p
    weights = {k: v.detach() for k, v in model.named_parameters()}
    for i in range(cfg.n_layers):
        b = f"blocks.{i}.attn."
        weights[b + "b_Q"] = torch.zeros(cfg.n_heads, cfg.d_head)
        weights[b + "b_K"] = torch.zeros(cfg.n_heads, cfg.d_head)
        weights[b + "b_V"] = torch.zeros(cfg.n_heads, cfg.d_head)
        weights[b + "b_O"] = torch.zeros(cfg.d_model)
    weights["unembed.b_U"] = torch.zeros(p)
    save_tensors(out_dir / "model.safetensors", weights, {"format": "transformerlens"})
    write_json(out_dir / "config.json", {
        "n_layers": cfg.n_layers, "d_model": cfg.d_model, "n_heads": cfg.n_heads,
        "d_head": cfg.d_head, "d_mlp": cfg.d_mlp, "d_vocab": model.embed.W_E.shape[0],
        "d_vocab_out": p, "n_ctx": model.n_ctx,
        "act_fn": cfg.act, "normalization_type": "LN" if cfg.layer_norm else None,
        "attn_only": False, "positional_embedding_type": "standard",
    })
    return out_dir
