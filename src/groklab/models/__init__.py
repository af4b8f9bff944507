"""Models: the reference transformer and the MLP, built from a ModelConfig and a seed."""

from __future__ import annotations

from groklab.config import ModelConfig
from groklab.models.hooks import HookedModel, HookPoint
from groklab.models.mlp import MLPModel
from groklab.models.transformer import Transformer

__all__ = ["HookedModel", "HookPoint", "MLPModel", "Transformer", "build_model"]


def build_model(cfg: ModelConfig, p: int, seed: int = 0) -> HookedModel:
    """A freshly initialized model; the same (cfg, p, seed) gives the same weights."""
    return (Transformer if cfg.kind == "transformer" else MLPModel)(cfg, p, seed)
