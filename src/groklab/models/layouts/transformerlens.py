"""transformerlens: a HookedTransformer state dict of any depth, with its HookedTransformerConfig as
JSON when there is one (`--config cfg.json`); exported as safetensors plus that JSON, without
importing TransformerLens.

Read as TransformerLens runs it: causal attention scaled by 1/√d_head, LayerNorm (LN, or LNPre: no
weights) before attention, MLP and unembedding, the activation `act_fn`, biases b_Q, b_K, b_V, b_O
and b_U (dropped when all are zero, which keeps the fast path). Inputs `a b =` (n_ctx 3, `=` the
token p) or `a b` (n_ctx 2). Config values groklab does not run (RMS norms, rotary positions,
...) are refused in one line naming the field and the value. Attention-only models (`attn_only`,
or no MLP keys) run with no neurons (d_mlp 0). Without a config the normalization is read from the
keys: LNPre then looks like no normalization."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from groklab.config import ModelConfig
from groklab.errors import GroklabError
from groklab.models.layouts.common import Imported, check_ranks, need, plain, tensors
from groklab.store import save_tensors, write_json

NAME = "transformerlens"
NEEDS_CONFIG = False
CONFIG_NAME = "cfg.json"
BIASES = ("attn.b_Q", "attn.b_K", "attn.b_V", "attn.b_O")
IGNORED = ("attn.mask", "attn.IGNORE")
RANKS = {"embed.W_E": 2, "pos_embed.W_pos": 2, "attn.W_Q": 3, "attn.W_K": 3, "attn.W_V": 3,
         "attn.W_O": 3, "attn.b_Q": 2, "attn.b_K": 2, "attn.b_V": 2, "attn.b_O": 1,
         "mlp.W_in": 2, "mlp.b_in": 1, "mlp.W_out": 2, "mlp.b_out": 1, "unembed.W_U": 2,
         "unembed.b_U": 1, "ln1.w": 1, "ln1.b": 1, "ln2.w": 1, "ln2.b": 1, "ln_final.w": 1,
         "ln_final.b": 1}
BLOCK_KEYS = ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in", "mlp.b_in", "mlp.W_out",
              "mlp.b_out")
ACTS = {"relu": "relu", "gelu": "gelu", "gelu_new": "gelu_new", "gelu_pytorch_tanh": "gelu_new",
        "silu": "silu"}
NORMS = (None, "LN", "LNPre")
# config fields whose other values change the forward: the values groklab runs
FIXED = {"positional_embedding_type": ("standard",), "gated_mlp": (False,),
         "parallel_attn_mlp": (False,), "post_embedding_ln": (False,), "final_rms": (False,),
         "use_attn_scale": (True,), "num_experts": (None,), "n_key_value_heads": (None,),
         "use_local_attn": (False,), "use_qk_norm": (False,), "use_logn_attn": (False,),
         "scale_attn_by_inverse_layer_idx": (False,), "attn_scores_soft_cap": (-1.0, None),
         "output_logits_soft_cap": (-1.0, None), "use_normalization_before_and_after": (False,),
         "eps": (1e-5,)}


def check_config(config: dict, path: Path) -> None:
    """Refuse, in one line, a HookedTransformerConfig field groklab would run differently."""
    for key, allowed in FIXED.items():
        if key in config and config[key] not in allowed:
            raise GroklabError(f"{path}: config {key}={config[key]!r} is not supported; groklab "
                               f"runs {key}={allowed[0]!r}")
    norm = config.get("normalization_type")
    if norm not in NORMS:
        raise GroklabError(f"{path}: config normalization_type={norm!r} is not supported; allowed: "
                           "null, 'LN', 'LNPre'")
    act = config.get("act_fn", "relu")
    if not isinstance(act, str) or act not in ACTS:
        raise GroklabError(f"{path}: config act_fn={act!r} is not supported; allowed: "
                           f"{', '.join(ACTS)}")
    if "attn_scale" in config and "d_head" in config and isinstance(config["attn_scale"], (int, float)) \
            and isinstance(config["d_head"], int) and \
            not math.isclose(config["attn_scale"], math.sqrt(config["d_head"]), rel_tol=1e-6):
        raise GroklabError(f"{path}: config attn_scale={config['attn_scale']!r} is not supported; "
                           f"groklab scales scores by sqrt(d_head) = {math.sqrt(config['d_head']):g}")


def _split_biases(sd: dict) -> tuple[dict, dict]:
    """(weights without the attention / unembedding biases, those biases)."""
    weights, biases = {}, {}
    for k, v in sd.items():
        short = k.split(".", 2)[-1] if k.startswith("blocks.") else k
        if short in IGNORED:
            continue
        (biases if short in BIASES or k == "unembed.b_U" else weights)[k] = v.float()
    return weights, biases


def _vocabulary(d_vocab: int, d_vocab_out: int, n_ctx: int, path: Path) -> tuple[int, bool]:
    """(p, eq_token) of a vocabulary, or one line saying it fits no task."""
    if n_ctx == 3 and d_vocab_out in (d_vocab - 1, d_vocab) and d_vocab >= 2:
        return d_vocab - 1, True
    if n_ctx == 2 and d_vocab_out == d_vocab:
        return d_vocab, False
    raise GroklabError(f"{path}: d_vocab={d_vocab}, d_vocab_out={d_vocab_out}, n_ctx={n_ctx} fit no "
                       "task; allowed: n_ctx 3 (`a b =`) with d_vocab = p + 1 and d_vocab_out p or "
                       "p + 1, or n_ctx 2 (`a b`) with d_vocab = d_vocab_out = p")


def _norm(sd: dict, config: dict | None, path: Path) -> str | None:
    has = "blocks.0.ln1.w" in sd
    norm = config.get("normalization_type") if config and "normalization_type" in config \
        else ("LN" if has else None)
    if (norm == "LN") != has:
        raise GroklabError(f"{path}: normalization_type={norm!r} but the file "
                           f"{'has' if has else 'has no'} LayerNorm weights (blocks.0.ln1.w)")
    return norm


def _layer_norms(weights: dict, n_layers: int, d_model: int) -> None:
    """LNPre is LayerNorm without weights: the same function with w = 1, b = 0."""
    for name in [f"blocks.{i}.{ln}" for i in range(n_layers) for ln in ("ln1", "ln2")] + ["ln_final"]:
        weights[name + ".w"] = torch.ones(d_model)
        weights[name + ".b"] = torch.zeros(d_model)


def _attn_only(sd: dict, config: dict | None, path: Path) -> bool:
    """An attention-only model: the config says so, or (without one) there are no MLP keys."""
    has_mlp = "blocks.0.mlp.W_in" in sd
    attn_only = (config or {}).get("attn_only", not has_mlp)
    if not isinstance(attn_only, bool):
        raise GroklabError(f"{path}: config attn_only={attn_only!r} must be true or false")
    if attn_only and has_mlp:
        raise GroklabError(f"{path}: config attn_only=True, but the file has blocks.0.mlp.W_in")
    return attn_only


def _no_neurons(weights: dict, n_layers: int, d_model: int, norm: bool) -> None:
    """An attention-only model as a transformer with d_mlp 0: empty MLP weights, b_out zero (the
    MLP adds nothing), and ln2 (which then reads nothing) as the identity LayerNorm."""
    for i in range(n_layers):
        b = f"blocks.{i}."
        weights.update({b + "mlp.W_in": torch.zeros(d_model, 0), b + "mlp.b_in": torch.zeros(0),
                        b + "mlp.W_out": torch.zeros(0, d_model), b + "mlp.b_out": torch.zeros(d_model)})
        if norm:
            weights.setdefault(b + "ln2.w", torch.ones(d_model))
            weights.setdefault(b + "ln2.b", torch.zeros(d_model))


def _check_config_shapes(config: dict, found: dict, path: Path) -> None:
    for key, value in found.items():
        if key in config and config[key] != value:
            raise GroklabError(f"{path}: config {key}={config[key]!r}, the weights say {value}")


def read(sd: dict, path: Path, config: dict | None = None) -> Imported:
    sd = tensors(sd, path)
    need(sd, ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "unembed.W_U"], NAME, path)
    check_ranks(sd, RANKS, NAME, path)
    if config is not None:
        check_config(config, path)
    attn_only = _attn_only(sd, config, path)
    blocks = sorted({int(k.split(".")[1]) for k in sd if k.startswith("blocks.")})
    if blocks != list(range(len(blocks))):
        raise GroklabError(f"{path}: blocks {blocks} are not numbered 0..{len(blocks) - 1}")
    for i in blocks:
        need(sd, [f"blocks.{i}.{k}" for k in BLOCK_KEYS if not (attn_only and k.startswith("mlp."))],
             NAME, path)
    d_vocab, d_model = sd["embed.W_E"].shape
    n_heads, _, d_head = sd["blocks.0.attn.W_Q"].shape
    d_vocab_out, n_ctx = sd["unembed.W_U"].shape[1], sd["pos_embed.W_pos"].shape[0]
    found = {"n_layers": len(blocks), "d_model": d_model, "n_heads": n_heads, "d_head": d_head,
             "d_mlp": 0 if attn_only else sd["blocks.0.mlp.W_in"].shape[1], "d_vocab": d_vocab,
             "d_vocab_out": d_vocab_out, "n_ctx": n_ctx}
    if config is not None:
        _check_config_shapes(config, {k: v for k, v in found.items()
                                      if not (attn_only and k == "d_mlp")}, path)
    p, eq = _vocabulary(d_vocab, d_vocab_out, n_ctx, path)
    weights, biases = _split_biases(sd)
    norm = _norm(sd, config, path)
    if norm == "LNPre":
        _layer_norms(weights, len(blocks), d_model)
    if attn_only:
        _no_neurons(weights, len(blocks), d_model, norm is not None)
    biased = any(v.abs().max() > 0 for v in biases.values())
    if biased:
        weights.update(biases)
        for i in blocks:  # a file may leave some out: the missing ones are zero
            for name, shape in (("b_Q", (n_heads, d_head)), ("b_K", (n_heads, d_head)),
                                ("b_V", (n_heads, d_head)), ("b_O", (d_model,))):
                weights.setdefault(f"blocks.{i}.attn.{name}", torch.zeros(shape))
        weights.setdefault("unembed.b_U", torch.zeros(d_vocab_out))
    if d_vocab_out == p + 1:  # logits over the `=` token too: answers never take it
        weights["unembed.W_U"] = weights["unembed.W_U"][:, :p]
        if "unembed.b_U" in weights:
            weights["unembed.b_U"] = weights["unembed.b_U"][:p]
    act = ACTS[(config or {}).get("act_fn", "relu")]
    cfg = ModelConfig(kind="transformer", n_layers=len(blocks), d_model=d_model, n_heads=n_heads,
                      d_head=d_head, d_mlp=found["d_mlp"], layer_norm=norm is not None, act=act,
                      eq_token=eq, attn_bias=bool(biased))
    return Imported(weights, cfg, p, {"config": plain(config or {}), "normalization_type": norm})


def export(model, out_dir: str | Path) -> Path:
    """Write the TransformerLens layout: model.safetensors and config.json (HookedTransformerConfig
    fields). Zero attention and unembedding biases are added when the model has none, as
    TransformerLens expects them."""
    cfg, p = model.cfg, model.p
    if cfg.kind != "transformer":
        raise GroklabError("only transformers have a TransformerLens layout; this is an MLP")
    if cfg.attn_rate != 1.0 or not cfg.causal or cfg.embed != "shared":
        raise GroklabError(f"attn_rate={cfg.attn_rate}, causal={cfg.causal}, embed={cfg.embed!r}: "
                           "TransformerLens runs plain causal softmax attention over one shared "
                           "vocabulary; only such models can be exported")
    if cfg.act not in ACTS.values():
        raise GroklabError(f"act={cfg.act!r} has no TransformerLens act_fn")
    out_dir = Path(out_dir)
    weights = {k: v.detach() for k, v in model.named_parameters()}
    if not cfg.attn_bias:
        for i in range(cfg.n_layers):
            b = f"blocks.{i}.attn."
            weights[b + "b_Q"] = torch.zeros(cfg.n_heads, cfg.d_head)
            weights[b + "b_K"] = torch.zeros(cfg.n_heads, cfg.d_head)
            weights[b + "b_V"] = torch.zeros(cfg.n_heads, cfg.d_head)
            weights[b + "b_O"] = torch.zeros(cfg.d_model)
        weights["unembed.b_U"] = torch.zeros(p)
    attn_only = cfg.d_mlp == 0
    if attn_only:  # TransformerLens' attention-only blocks have no MLP and no ln2
        weights = {k: v for k, v in weights.items() if ".mlp." not in k and ".ln2." not in k}
    save_tensors(out_dir / "model.safetensors", weights, {"format": "transformerlens"})
    write_json(out_dir / "config.json", {
        "n_layers": cfg.n_layers, "d_model": cfg.d_model, "n_heads": cfg.n_heads,
        "d_head": cfg.d_head, "d_mlp": None if attn_only else cfg.d_mlp,
        "d_vocab": model.embed.W_E.shape[0],
        "d_vocab_out": p, "n_ctx": model.n_ctx,
        "act_fn": cfg.act, "normalization_type": "LN" if cfg.layer_norm else None,
        "attn_only": attn_only, "positional_embedding_type": "standard",
    })
    return out_dir
