"""Models: the reference transformer and the MLP, built from a ModelConfig and a seed."""

from __future__ import annotations

import torch

from groklab.config import ModelConfig
from groklab.models.hooks import HookedModel, HookPoint
from groklab.models.mlp import MLPModel
from groklab.models.transformer import Transformer

__all__ = ["HookedModel", "HookPoint", "MLPModel", "Transformer", "TrainingForward", "build_model",
           "deepen"]


def build_model(cfg: ModelConfig, p: int, seed: int = 0) -> HookedModel:
    """A freshly initialized model; the same (cfg, p, seed) gives the same weights."""
    return (Transformer if cfg.kind == "transformer" else MLPModel)(cfg, p, seed)


def deepen(model: Transformer, n_layers: int) -> Transformer:
    """The same function at depth `n_layers`: the model's blocks, then blocks whose weights are all
    zero (each adds nothing to the residual stream). A known answer for analyses at depth."""
    from dataclasses import replace

    import torch

    deep = build_model(replace(model.cfg, n_layers=n_layers), model.p, 0)
    own = dict(model.named_parameters())
    with torch.no_grad():
        for name, param in deep.named_parameters():
            param.copy_(own[name] if name in own else torch.zeros_like(param))
    return deep


class TrainingForward(torch.nn.Module):
    """A model's training forward (`logits`) as a module forward: what `torch.func.functional_call`
    and `vmap` run when K stacked copies of one model train or sample together."""

    def __init__(self, model: HookedModel):
        super().__init__()
        self.model = model

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.model.logits(pairs)

