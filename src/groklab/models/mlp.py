"""A one-hidden-layer MLP on (a, b): shared embeddings, concatenated or summed, then unembedding.

Glossary: batch, d_model (embedding width), d_mlp (hidden neurons), p (tokens and classes).
Parameters: `W_E` [p, d_model]; `W_in` [2·d_model or d_model, d_mlp], `b_in`; `W_U` [d_mlp, p].
"""

from __future__ import annotations

import torch
from torch import nn

from groklab.config import ModelConfig
from groklab.models.hooks import HookedModel, HookPoint


def _act(name: str):
    return {"relu": torch.relu, "gelu": nn.functional.gelu, "quadratic": torch.square}[name]


class MLPModel(HookedModel):
    """logits = act(combine(W_E[a], W_E[b]) W_in + b_in) W_U."""

    neuron_hook = "hook_post"
    input_hook = "hook_embed"  # [batch, 2, d_model]

    def __init__(self, cfg: ModelConfig, p: int, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.cfg, self.p = cfg, p
        d_in = cfg.d_model * (2 if cfg.combine == "concat" else 1)
        self.W_E = nn.Parameter(torch.randn(p, cfg.d_model, generator=gen) * cfg.d_model**-0.5)
        self.W_in = nn.Parameter(torch.randn(d_in, cfg.d_mlp, generator=gen) * d_in**-0.5)
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_U = nn.Parameter(torch.randn(cfg.d_mlp, p, generator=gen) * cfg.d_mlp**-0.5)
        self.act = _act(cfg.act)
        self.hook_embed = HookPoint()
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()
        self.hook_logits = HookPoint()

    def logits(self, pairs: torch.Tensor) -> torch.Tensor:  # [batch, 2] -> [batch, p]
        e = self.hook_embed(self.W_E[pairs])  # [batch, 2, d_model]
        x = e.flatten(1) if self.cfg.combine == "concat" else e.sum(1)
        h = self.hook_post(self.act(self.hook_pre(x @ self.W_in + self.b_in)))  # [batch, d_mlp]
        return self.hook_logits(h @ self.W_U)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.logits(pairs)

    def plain_logits(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.logits(pairs)

    def neuron_to_logits(self) -> torch.Tensor:  # [d_mlp, p]
        return self.W_U

    def token_embeddings(self) -> torch.Tensor:  # [p, d_model]
        return self.W_E
