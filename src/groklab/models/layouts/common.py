"""What every layout reader shares: the imported model record and the checks on a state dict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from groklab.config import ModelConfig
from groklab.errors import GroklabError


@dataclass(frozen=True)
class Imported:
    """A model read from a file: the groklab weights, its config and p, and any recorded extras."""

    weights: dict[str, torch.Tensor]
    model: ModelConfig
    p: int
    extras: dict


def tensors(sd: dict, path: Path) -> dict[str, torch.Tensor]:
    out = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not out:
        raise GroklabError(f"{path} holds no tensors")
    return out


def need(sd: dict, keys: list[str], layout: str, path: Path) -> None:
    missing = [k for k in keys if k not in sd]
    if missing:
        raise GroklabError(f"{path} is not in the {layout} layout: missing {', '.join(missing)}")


def plain(config: dict) -> dict:
    """The scalar entries of a config (what provenance records)."""
    return {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}


def check_ranks(sd: dict, ranks: dict[str, int], layout: str, path: Path) -> None:
    """Every tensor named in `ranks` (exactly, or as the last part of a block key such as
    `blocks.1.attn.W_Q`) must have that many dimensions: one line naming the first that does not."""
    for key, value in sd.items():
        for name, rank in ranks.items():
            if (key == name or key.endswith("." + name)) and value.dim() != rank:
                raise GroklabError(f"{path}: {key} has shape {tuple(value.shape)}; the {layout} "
                                   f"layout has a {rank}-dimensional {name}")


def check_shape(sd: dict, key: str, shape: tuple, layout: str, path: Path) -> None:
    if tuple(sd[key].shape) != tuple(shape):
        raise GroklabError(f"{path}: {key} has shape {tuple(sd[key].shape)}, expected "
                           f"{tuple(shape)} in the {layout} layout")
