"""A one-hidden-layer MLP on (a, b): shared embeddings, concatenated or summed, then unembedding.

Glossary: batch, d_model (embedding width), d_mlp (hidden neurons), p (tokens and classes).
Parameters: `W_E` [p, d_model] (and `W_E_b` [p, d_model] for b with embed='separate');
`W_in` [2·d_model or d_model, d_mlp], `b_in` (unless bias=False); `W_U` [d_mlp, p].
With embed='separate', combine='concat', bias=False it is the MLP of Chughtai et al. 2023:
relu(W_x[a] W[:e] + W_y[b] W[e:]) W_U.
"""

from __future__ import annotations

import torch
from torch import nn

from groklab.config import ModelConfig
from groklab.models.activations import ACTIVATIONS
from groklab.models.hooks import HookedModel, HookPoint


class MLPModel(HookedModel):
    """logits = act(combine(W_E[a], W_E_b[b]) W_in + b_in) W_U (W_E_b is W_E when shared)."""

    neuron_hook = "hook_post"
    input_hook = "hook_embed"  # [batch, 2, d_model]

    def __init__(self, cfg: ModelConfig, p: int, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.cfg, self.p = cfg, p
        d_in = cfg.d_model * (2 if cfg.combine == "concat" else 1)
        self.W_E = nn.Parameter(torch.randn(p, cfg.d_model, generator=gen) * cfg.d_model**-0.5)
        self.W_in = nn.Parameter(torch.randn(d_in, cfg.d_mlp, generator=gen) * d_in**-0.5)
        self.W_U = nn.Parameter(torch.randn(cfg.d_mlp, p, generator=gen) * cfg.d_mlp**-0.5)
        if cfg.embed == "separate":  # drawn after the shared model's parameters: seeds carry over
            self.W_E_b = nn.Parameter(torch.randn(p, cfg.d_model, generator=gen) * cfg.d_model**-0.5)
        if cfg.bias:
            self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.act = ACTIVATIONS[cfg.act]
        self.hook_embed = HookPoint()
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()
        self.hook_logits = HookPoint()

    def logits(self, pairs: torch.Tensor) -> torch.Tensor:  # [batch, 2] -> [batch, p]
        """The fast path when no hook is attached: the first layer is linear in each token's
        embedding, so it is applied once per token ([p, d_mlp] tables for a and for b, p·d·d_mlp
        multiply-adds) and gathered per pair, instead of once per pair (batch·2d·d_mlp); the same
        function up to float rounding. With hooks attached: the plain forward, every hook point
        visited."""
        if any(h._forward_hooks for h in (self.hook_embed, self.hook_pre, self.hook_post,
                                          self.hook_logits)):
            return self.plain_logits(pairs)
        d = self.cfg.d_model
        w_a, w_b = (self.W_in[:d], self.W_in[d:]) if self.cfg.combine == "concat" \
            else (self.W_in, self.W_in)
        e_b = self.W_E_b if self.cfg.embed == "separate" else self.W_E
        table_a = self.W_E @ w_a + self.b_in if self.cfg.bias else self.W_E @ w_a  # bias: once
        pre = table_a[pairs[:, 0]] + (e_b @ w_b)[pairs[:, 1]]
        return self.act(pre) @ self.W_U

    def plain_logits(self, pairs: torch.Tensor) -> torch.Tensor:
        """The forward as the model is defined: embed each pair, combine, W_in, act, W_U."""
        if self.cfg.embed == "separate":
            e = torch.stack([self.W_E[pairs[:, 0]], self.W_E_b[pairs[:, 1]]], 1)
        else:
            e = self.W_E[pairs]
        e = self.hook_embed(e)  # [batch, 2, d_model]
        x = e.flatten(1) if self.cfg.combine == "concat" else e.sum(1)
        pre = x @ self.W_in + self.b_in if self.cfg.bias else x @ self.W_in
        h = self.hook_post(self.act(self.hook_pre(pre)))  # [batch, d_mlp]
        return self.hook_logits(h @ self.W_U)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.logits(pairs)

    def neuron_to_logits(self) -> torch.Tensor:  # [d_mlp, p]
        return self.W_U

    def token_embeddings(self) -> torch.Tensor:  # [p, d_model]: a's embedding
        return self.W_E

    def input_embeddings(self) -> list[torch.Tensor]:  # [p, d_model] for a, then for b
        return [self.W_E, self.W_E_b if self.cfg.embed == "separate" else self.W_E]
