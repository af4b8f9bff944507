"""Model weights in and out: strict loading, and the layouts users bring or want.

- groklab: our own parameter names (the TransformerLens names for the transformer).
- transformerlens: a HookedTransformer state dict (attention and unembedding biases must be zero:
  the reference architecture has none). Exported as safetensors plus a HookedTransformerConfig-style
  JSON, without importing TransformerLens.
- nanda2023: the original progress-measures code's state dict (transposed matrices, W_U over p+1
  classes; the `=` class is dropped since answers never take it).
- clockpizza2023: Zhong et al.'s state dict (the nanda2023 matrices, two input tokens `a b`, no `=`,
  vocabulary p) with its config JSON (`C` = p, `attn_coeff` = the attention rate, `act_fn`); a
  config with `diff_vocab` true (separate token ids for a and b) is refused.
- chughtai2023: the group-composition MLPs of Chughtai et al. (`W_x` [n, e], `W_y` [n, e], `W`
  [2e, h], `W_U` [h, n], no biases) with their cfg.json (group, group_parameter, frac_train, seed);
  read as groklab's MLP with embed='separate', bias=False.

Torch files are opened only with `torch.load(..., weights_only=True)`; nothing is unpickled.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from groklab.config import LAYOUTS, ModelConfig
from groklab.errors import GroklabError
from groklab.models import HookedModel, build_model
from groklab.store import load_tensors, save_tensors, write_json

CONFIG_LAYOUTS = ("clockpizza2023", "chughtai2023")
CHUGHTAI_GROUPS = {"SymmetricGroup": "S", "AlternatingGroup": "A", "DihedralGroup": "D",
                   "CyclicGroup": "C"}  # layouts whose model file needs its config JSON
TL_ZERO_BIASES = ("attn.b_Q", "attn.b_K", "attn.b_V", "attn.b_O")
TL_IGNORED = ("attn.mask", "attn.IGNORE")


def load_weights(model: HookedModel, weights: dict[str, torch.Tensor], source: str) -> HookedModel:
    """Copy `weights` into `model`, naming every missing, unexpected or mis-shaped tensor."""
    own = dict(model.named_parameters())
    problems = [f"missing {k}" for k in own if k not in weights]
    problems += [f"unexpected {k}" for k in weights if k not in own]
    problems += [f"{k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}"
                 for k, v in weights.items() if k in own and v.shape != own[k].shape]
    if problems:
        raise GroklabError(f"{source} does not match the model: {'; '.join(problems)}")
    with torch.no_grad():
        for k, p in own.items():
            p.copy_(weights[k].to(p.dtype))
    return model


def read_state_dict(path: str | Path) -> dict:
    """A state dict from a .safetensors file or a torch file (weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise GroklabError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        return load_tensors(path)
    try:
        with warnings.catch_warnings():  # torch's own notes on a foreign pickle: ours is the line
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read is the user's file problem
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        first = first.split(". ")[0]  # torch's first sentence; the rest is advice to unpickle
        raise GroklabError(f"cannot read {path} as a torch file with weights_only=True: {first}") \
            from None
    if not isinstance(obj, dict):
        raise GroklabError(f"{path} holds a {type(obj).__name__}, not a state dict")
    return obj


@dataclass(frozen=True)
class Imported:
    """A model read from a file: the groklab weights, its config and p, and any recorded extras."""

    weights: dict[str, torch.Tensor]
    model: ModelConfig
    p: int
    extras: dict


def _tensors(sd: dict, path: Path) -> dict[str, torch.Tensor]:
    out = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not out:
        raise GroklabError(f"{path} holds no tensors")
    return out


def _need(sd: dict, keys: list[str], layout: str, path: Path) -> None:
    missing = [k for k in keys if k not in sd]
    if missing:
        raise GroklabError(f"{path} is not in the {layout} layout: missing {', '.join(missing)}")


def import_transformerlens(sd: dict, path: Path) -> Imported:
    sd = _tensors(sd, path)
    _need(sd, ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.mlp.W_in",
               "unembed.W_U"], "transformerlens", path)
    blocks = sorted({int(k.split(".")[1]) for k in sd if k.startswith("blocks.")})
    weights = {}
    for k, v in sd.items():
        short = k.split(".", 2)[-1] if k.startswith("blocks.") else k
        if short in TL_IGNORED:
            continue
        if short in TL_ZERO_BIASES or k == "unembed.b_U":
            if v.abs().max() > 0:
                raise GroklabError(f"{path}: {k} is non-zero; groklab's transformer has no "
                                   "attention or unembedding biases")
            continue
        weights[k] = v.float()
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


def import_nanda2023(sd: dict, path: Path, eq_token: bool = True,
                     layout: str = "nanda2023") -> Imported:
    extras = {k: v for k, v in sd.items() if k != "model"}
    sd = sd.get("model", sd)
    if not isinstance(sd, dict):
        raise GroklabError(f"{path}: the 'model' entry is not a state dict")
    sd = _tensors(sd, path)
    _need(sd, ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_O",
               "blocks.0.mlp.W_in", "blocks.0.mlp.W_out", "unembed.W_U"], layout, path)
    d_model, d_vocab = sd["embed.W_E"].shape
    n_heads, d_head, _ = sd["blocks.0.attn.W_Q"].shape
    p = d_vocab - 1 if eq_token else d_vocab
    if sd["pos_embed.W_pos"].shape[0] != (3 if eq_token else 2):
        raise GroklabError(f"{path}: pos_embed.W_pos has {sd['pos_embed.W_pos'].shape[0]} "
                           f"positions; the {layout} layout has {3 if eq_token else 2}")
    w = {"embed.W_E": sd["embed.W_E"].T, "pos_embed.W_pos": sd["pos_embed.W_pos"],
         "unembed.W_U": sd["unembed.W_U"][:, :p]}
    blocks = sorted({int(k.split(".")[1]) for k in sd if k.startswith("blocks.")})
    for i in blocks:
        b = f"blocks.{i}."
        for name in ("W_Q", "W_K", "W_V"):
            w[b + "attn." + name] = sd[b + "attn." + name].transpose(1, 2)
        w[b + "attn.W_O"] = sd[b + "attn.W_O"].reshape(d_model, n_heads, d_head).permute(1, 2, 0)
        w[b + "mlp.W_in"] = sd[b + "mlp.W_in"].T
        w[b + "mlp.b_in"] = sd[b + "mlp.b_in"]
        w[b + "mlp.W_out"] = sd[b + "mlp.W_out"].T
        w[b + "mlp.b_out"] = sd[b + "mlp.b_out"]
    cfg = ModelConfig(kind="transformer", n_layers=len(blocks), d_model=d_model, n_heads=n_heads,
                      d_head=d_head, d_mlp=sd["blocks.0.mlp.W_in"].shape[0], eq_token=eq_token)
    config = extras.get("config") if isinstance(extras.get("config"), dict) else {}
    return Imported({k: v.float().contiguous() for k, v in w.items()}, cfg, p,
                    {"config": {k: v for k, v in config.items()
                                if isinstance(v, (int, float, str, bool))}})


def import_clockpizza2023(sd: dict, path: Path, config: dict | None) -> Imported:
    """Zhong et al.'s model file with its config JSON (p, attention rate, activation)."""
    if config is None:
        raise GroklabError(f"{path}: the clockpizza2023 layout needs its config JSON: pass "
                           "--config config_<id>.json")
    if config.get("diff_vocab"):
        raise GroklabError(f"{path}: diff_vocab=true (separate token ids for a and b) is not "
                           "supported; groklab reads models whose a and b share the vocabulary")
    rate = config.get("attn_coeff", 1.0)
    act = str(config.get("act_fn", "ReLU")).lower()
    if act not in ("relu", "gelu") or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise GroklabError(f"{path}: unsupported config act_fn={config.get('act_fn')!r} or "
                           f"attn_coeff={rate!r}; allowed: ReLU or GeLU, a rate in [0, 1]")
    imported = import_nanda2023(sd, path, eq_token=False, layout="clockpizza2023")
    if "C" in config and config["C"] != imported.p:
        raise GroklabError(f"{path}: the config says C={config['C']}, the weights say p="
                           f"{imported.p}")
    model = replace(imported.model, attn_rate=float(rate), act=act)
    kept = {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}
    return Imported(imported.weights, model, imported.p, {"config": kept})


def chughtai_group(config: dict, where: str) -> str:
    """The groklab group name (e.g. "S5") of a Chughtai et al. cfg.json."""
    family, param = config.get("group"), config.get("group_parameter")
    if family not in CHUGHTAI_GROUPS or not isinstance(param, int) or isinstance(param, bool):
        raise GroklabError(f"{where}: group={family!r}, group_parameter={param!r}; allowed: "
                           f"{', '.join(CHUGHTAI_GROUPS)} with an integer parameter")
    return f"{CHUGHTAI_GROUPS[family]}{param}"


def import_chughtai2023(sd: dict, path: Path, config: dict | None) -> Imported:
    """Chughtai et al.'s group MLP: logits = relu(W_x[a] W[:e] + W_y[b] W[e:]) W_U."""
    if config is None:
        raise GroklabError(f"{path}: the chughtai2023 layout needs its config JSON: pass "
                           "--config cfg.json")
    sd = _tensors(sd, path)
    _need(sd, ["W_x", "W_y", "W", "W_U"], "chughtai2023", path)
    w_x, w_y, w, w_u = sd["W_x"], sd["W_y"], sd["W"], sd["W_U"]
    n, e = w_x.shape
    h = w.shape[1]
    if w_y.shape != (n, e) or w.shape != (2 * e, h) or w_u.shape != (h, n):
        raise GroklabError(f"{path}: shapes W_x {tuple(w_x.shape)}, W_y {tuple(w_y.shape)}, W "
                           f"{tuple(w.shape)}, W_U {tuple(w_u.shape)} do not fit W_x [n, e], W_y "
                           "[n, e], W [2e, h], W_U [h, n]")
    group = chughtai_group(config, str(path))
    from groklab.groups.elements import group_order

    if group_order(group) != n:
        raise GroklabError(f"{path}: the config says {group} ({group_order(group)} elements), the "
                           f"weights have {n} rows")
    model = ModelConfig(kind="mlp", d_model=e, d_mlp=h, embed="separate", bias=False)
    weights = {"W_E": w_x, "W_E_b": w_y, "W_in": w, "W_U": w_u}
    kept = {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}
    return Imported(weights, model, n, {"config": kept, "group": group})


def detect_layout(sd: dict) -> str | None:
    """transformerlens: W_E [d_vocab, d_model], W_Q [h, d_model, d_head];
    nanda2023: W_E [d_model, d_vocab], W_Q [h, d_head, d_model] (usually inside a "model" entry)."""
    inner = sd["model"] if isinstance(sd.get("model"), dict) else sd
    w_e, w_q = inner.get("embed.W_E"), inner.get("blocks.0.attn.W_Q")
    if not isinstance(w_e, torch.Tensor) or not isinstance(w_q, torch.Tensor) or w_q.dim() != 3 \
            or w_e.dim() != 2:
        return None
    tl, nanda = w_q.shape[1] == w_e.shape[1], w_q.shape[2] == w_e.shape[0]
    if nanda and (not tl or inner is not sd):
        return "nanda2023"
    return "transformerlens" if tl else None


def import_model(path: str | Path, layout: str | None = None, act: str | None = None,
                 config: dict | None = None) -> Imported:
    """Read a model file in `layout` (detected from the shapes when None); `config`: the JSON a
    layout in CONFIG_LAYOUTS needs. `act` overrides the MLP activation (default: the file's, else
    relu)."""
    path = Path(path)
    sd = read_state_dict(path)
    if layout == "chughtai2023":
        imported = import_chughtai2023(sd, path, config)
        return replace(imported, model=replace(imported.model, act=act or "relu"))
    if layout == "clockpizza2023":
        imported = import_clockpizza2023(sd, path, config)
        return replace(imported, model=replace(imported.model, act=act or imported.model.act))
    if layout is None:
        layout = detect_layout(sd)
        if layout is None:
            raise GroklabError(f"{path} is in no supported layout ({', '.join(LAYOUTS)}): "
                               "no embed.W_E / blocks.0.attn.W_Q tensors of the expected shapes")
    if layout not in LAYOUTS:
        raise GroklabError(f"layout={layout!r} is not one of: {', '.join(LAYOUTS)}")
    imported = (import_transformerlens if layout == "transformerlens" else import_nanda2023)(sd, path)
    return replace(imported, model=replace(imported.model, act=act or "relu"))


def build_imported(imported: Imported, source: str) -> HookedModel:
    model = build_model(imported.model, imported.p, 0)
    return load_weights(model, imported.weights, source)


def export_transformerlens(model: HookedModel, out_dir: str | Path) -> Path:
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

