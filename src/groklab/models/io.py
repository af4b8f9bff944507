"""Model weights in and out: strict loading, reading a file in any layout (models.layouts, one
module per layout), building the model it describes, and the TransformerLens export.

Torch files are opened only with `torch.load(..., weights_only=True)`; nothing is unpickled.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import torch

from groklab.config import LAYOUTS
from groklab.errors import GroklabError
from groklab.models import HookedModel, build_model
from groklab.models.layouts import READERS, transformerlens
from groklab.models.layouts.common import Imported
from groklab.store import load_tensors

CONFIG_LAYOUTS = tuple(name for name, m in READERS.items() if m.NEEDS_CONFIG)


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
    if layout is None:
        layout = detect_layout(sd)
        if layout is None:
            raise GroklabError(f"{path} is in no supported layout ({', '.join(LAYOUTS)}): "
                               "no embed.W_E / blocks.0.attn.W_Q tensors of the expected shapes")
    if layout not in READERS:
        raise GroklabError(f"layout={layout!r} is not one of: {', '.join(LAYOUTS)}")
    imported = READERS[layout].read(sd, path, config)
    return replace(imported, model=replace(imported.model, act=act or imported.model.act))


def build_imported(imported: Imported, source: str) -> HookedModel:
    model = build_model(imported.model, imported.p, 0)
    return load_weights(model, imported.weights, source)


def export_transformerlens(model: HookedModel, out_dir: str | Path) -> Path:
    """The TransformerLens layout of a groklab transformer (layouts.transformerlens.export)."""
    return transformerlens.export(model, out_dir)
