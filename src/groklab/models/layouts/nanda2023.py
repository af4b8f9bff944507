"""nanda2023: the original progress-measures code's state dict (transposed matrices, W_U over p+1
classes; the `=` class is dropped since answers never take it)."""

from __future__ import annotations

from pathlib import Path

from groklab.config import ModelConfig
from groklab.errors import GroklabError
from groklab.models.layouts.common import (Imported, check_ranks, check_shape, need, plain,
                                            tensors)

NAME = "nanda2023"
NEEDS_CONFIG = False
RANKS = {"embed.W_E": 2, "pos_embed.W_pos": 2, "attn.W_Q": 3, "attn.W_K": 3, "attn.W_V": 3,
         "attn.W_O": 2, "mlp.W_in": 2, "mlp.b_in": 1, "mlp.W_out": 2, "mlp.b_out": 1,
         "unembed.W_U": 2}
BLOCK_KEYS = ["attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in", "mlp.b_in", "mlp.W_out",
              "mlp.b_out"]
KEYS = ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_O",
        "blocks.0.mlp.W_in", "blocks.0.mlp.W_out", "unembed.W_U"]


def _block(sd: dict, i: int, d_model: int, n_heads: int, d_head: int) -> dict:
    b, w = f"blocks.{i}.", {}
    for name in ("W_Q", "W_K", "W_V"):
        w[b + "attn." + name] = sd[b + "attn." + name].transpose(1, 2)
    w[b + "attn.W_O"] = sd[b + "attn.W_O"].reshape(d_model, n_heads, d_head).permute(1, 2, 0)
    w[b + "mlp.W_in"] = sd[b + "mlp.W_in"].T
    w[b + "mlp.b_in"] = sd[b + "mlp.b_in"]
    w[b + "mlp.W_out"] = sd[b + "mlp.W_out"].T
    w[b + "mlp.b_out"] = sd[b + "mlp.b_out"]
    return w


def convert(sd: dict, path: Path, eq_token: bool = True, layout: str = NAME,
            p: int | None = None) -> Imported:
    """Their matrices in groklab's names; `eq_token` False: inputs `a b` (two positions); `p`: the
    number of answers when it is not the vocabulary less `=` (the first p outputs are answers)."""
    extras = {k: v for k, v in sd.items() if k != "model"}
    sd = sd.get("model", sd)
    if not isinstance(sd, dict):
        raise GroklabError(f"{path}: the 'model' entry is not a state dict")
    sd = tensors(sd, path)
    need(sd, KEYS, layout, path)
    check_ranks(sd, RANKS, layout, path)
    d_model, d_vocab = sd["embed.W_E"].shape
    n_heads, d_head, _ = sd["blocks.0.attn.W_Q"].shape
    p = p if p is not None else (d_vocab - 1 if eq_token else d_vocab)
    if sd["unembed.W_U"].shape[1] < p:
        raise GroklabError(f"{path}: unembed.W_U has {sd['unembed.W_U'].shape[1]} outputs; the "
                           f"{layout} layout needs at least the {p} answers")
    if sd["pos_embed.W_pos"].shape[0] != (3 if eq_token else 2):
        raise GroklabError(f"{path}: pos_embed.W_pos has {sd['pos_embed.W_pos'].shape[0]} "
                           f"positions; the {layout} layout has {3 if eq_token else 2}")
    w = {"embed.W_E": sd["embed.W_E"].T, "pos_embed.W_pos": sd["pos_embed.W_pos"],
         "unembed.W_U": sd["unembed.W_U"][:, :p]}
    blocks = sorted({int(k.split(".")[1]) for k in sd if k.startswith("blocks.")})
    for i in blocks:
        need(sd, [f"blocks.{i}.{k}" for k in BLOCK_KEYS], layout, path)
        check_shape(sd, f"blocks.{i}.attn.W_O", (d_model, n_heads * d_head), layout, path)
        w.update(_block(sd, i, d_model, n_heads, d_head))
    cfg = ModelConfig(kind="transformer", n_layers=len(blocks), d_model=d_model, n_heads=n_heads,
                      d_head=d_head, d_mlp=sd["blocks.0.mlp.W_in"].shape[0], eq_token=eq_token)
    config = extras.get("config") if isinstance(extras.get("config"), dict) else {}
    return Imported({k: v.float().contiguous() for k, v in w.items()}, cfg, p,
                    {"config": plain(config)})


def read(sd: dict, path: Path, config: dict | None = None) -> Imported:
    return convert(sd, path)
