"""The reference transformer (Nanda et al. 2023) in the TransformerLens parameter layout, and the
variants foreign files need: any depth, LayerNorm, attention biases, no causal mask, the attention
mix of Zhong et al.'s code, separate token ids for b.

Glossary: batch, pos (n_ctx = 3: `a b =`; 2: `a b` without the `=` token), d_model, n_heads (h),
d_head (d), d_mlp, p (output classes, the answers 0..p-1), d_vocab = p (+ p when b has its own ids:
token b + p) (+ 1 for `=`, always the last id).

Two forwards compute the same function:
- `forward(tokens)`: the plain model at every position, with a causal mask, like TransformerLens.
- `logits(pairs)`: the training fast path. Only the last position feeds the logits, so the query,
  attention output, MLP and unembedding are computed there only; and each position's input depends on
  one token, so keys and values come from per-token tables (3 × d_vocab rows), not per pair; and
  the last token is always `=`, so each head has a single query vector.
  Its hook tensors keep a position axis of length 1 (the last position), so `x[:, -1]` reads the
  last position from either forward; `hook_embed` and `hook_pos_embed` fire in the plain forward only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from groklab.config import ModelConfig
from groklab.models.activations import ACTIVATIONS
from groklab.models.hooks import HookedModel, HookPoint

N_CTX = 3


def _normal(gen: torch.Generator, *shape: int, std: float) -> nn.Parameter:
    return nn.Parameter(torch.randn(*shape, generator=gen) * std)


class LayerNorm(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w, self.b, eps=1e-5)


def _maybe_ln(enabled: bool, d_model: int) -> nn.Module:
    return LayerNorm(d_model) if enabled else nn.Identity()


class Embed(nn.Module):
    def __init__(self, d_vocab: int, d_model: int, gen: torch.Generator):
        super().__init__()
        self.W_E = _normal(gen, d_vocab, d_model, std=d_model**-0.5)


class PosEmbed(nn.Module):
    def __init__(self, n_ctx: int, d_model: int, gen: torch.Generator):
        super().__init__()
        self.W_pos = _normal(gen, n_ctx, d_model, std=d_model**-0.5)


class Unembed(nn.Module):
    def __init__(self, d_model: int, d_vocab_out: int, d_vocab: int, gen: torch.Generator,
                 bias: bool = False):
        super().__init__()
        self.W_U = _normal(gen, d_model, d_vocab_out, std=d_vocab**-0.5)
        if bias:
            self.b_U = nn.Parameter(torch.zeros(d_vocab_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x @ self.W_U
        return out + self.b_U if hasattr(self, "b_U") else out


def mix_attention(pattern: torch.Tensor, visible: torch.Tensor, rate: float,
                  mode: str = "mean") -> torch.Tensor:
    """rate·pattern + (1 − rate)·u over each query's visible positions. pattern [..., q, k].
    mode "mean": u = 1/(number visible) (a uniform attention); "sum": u = 1 on every visible entry
    (Zhong et al.'s code: at rate 0 the output is the sum of the value vectors, not their mean)."""
    if rate == 1.0:
        return pattern
    u = visible.to(pattern.dtype)
    if mode == "mean":
        u = u / u.sum(-1, keepdim=True)
    return rate * pattern + (1.0 - rate) * u


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, gen: torch.Generator):
        super().__init__()
        self.rate, self.mix = cfg.attn_rate, cfg.attn_mix
        h, m, d = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = _normal(gen, h, m, d, std=m**-0.5)
        self.W_K = _normal(gen, h, m, d, std=m**-0.5)
        self.W_V = _normal(gen, h, m, d, std=m**-0.5)
        self.W_O = _normal(gen, h, d, m, std=m**-0.5)
        self.biased = cfg.attn_bias
        if cfg.attn_bias:  # zeros: drawing nothing keeps every other tensor's seed
            self.b_Q = nn.Parameter(torch.zeros(h, d))
            self.b_K = nn.Parameter(torch.zeros(h, d))
            self.b_V = nn.Parameter(torch.zeros(h, d))
            self.b_O = nn.Parameter(torch.zeros(m))
        ones = torch.ones(N_CTX, N_CTX, dtype=torch.bool)
        self.register_buffer("mask", torch.tril(ones) if cfg.causal else ones, persistent=False)
        for name in ("q", "k", "v", "attn_scores", "pattern", "z"):
            setattr(self, f"hook_{name}", HookPoint())

    def _project(self, x: torch.Tensor, name: str) -> torch.Tensor:  # [b, p, m] -> [b, p, h, d]
        w = getattr(self, "W_" + name)  # [h, m, d]: one matmul for every head
        h, m, d = w.shape
        out = (x @ w.permute(1, 0, 2).reshape(m, h * d)).view(*x.shape[:-1], h, d)
        return out + getattr(self, "b_" + name) if self.biased else out

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """[batch, pos, m] -> [batch, pos, m]; `last_only`: queries at the last position only
        (-> [batch, 1, m]), all a final block's output needs. The positions are few (2 or 3), so
        scores and mixing are elementwise products, not batches of tiny matmuls."""
        n = x.shape[1]
        q = self.hook_q(self._project(x[:, -1:] if last_only else x, "Q"))  # [b, q, h, d]
        k = self.hook_k(self._project(x, "K"))
        v = self.hook_v(self._project(x, "V"))
        scores = (q.unsqueeze(2) * k.unsqueeze(1)).sum(-1).permute(0, 3, 1, 2)  # [b, h, q, k]
        scores = scores / math.sqrt(q.shape[-1])
        visible = self.mask[n - 1:n, :n] if last_only else self.mask[:n, :n]
        scores = self.hook_attn_scores(scores.masked_fill(~visible, float("-inf")))
        pattern = self.hook_pattern(mix_attention(scores.softmax(dim=-1), visible, self.rate,
                                                  self.mix))
        z = (pattern.permute(0, 2, 3, 1).unsqueeze(-1) * v.unsqueeze(1)).sum(2)  # [b, q, h, d]
        z = self.hook_z(z)
        out = z.flatten(-2) @ self.W_O.flatten(0, 1)
        return out + self.b_O if self.biased else out

    def last_position(self, tables: torch.Tensor, tokens: torch.Tensor,
                      shared_query: bool = True) -> torch.Tensor:
        """Attention output at the last position; `shared_query`: its token is the same for every
        row (`=`).

        tables [pos, d_vocab, m]: the (normalized) input of every (position, token);
        tokens [batch, pos] -> [batch, m].
        With one query vector per head, each (position, token) has one score per head, so scores
        and values come from per-token tables gathered with `index_select` (backward: a cheap
        index_add); no per-pair keys, queries or batched matmuls. Without biases only (the
        model takes the plain forward when it has them). Fires hook_q (broadcast),
        hook_attn_scores, hook_pattern, hook_v and hook_z, each with a query axis of length 1."""
        n, v_size, _ = tables.shape
        batch, h, d = tokens.shape[0], self.W_Q.shape[0], self.W_Q.shape[-1]
        kv = torch.einsum("pvm,hme->pvhe", tables, torch.cat([self.W_K, self.W_V], dim=-1))
        rows = (tokens + torch.arange(n, device=tokens.device) * v_size).reshape(-1)
        if shared_query:
            q = torch.einsum("m,hmd->hd", tables[n - 1, tokens[0, -1]], self.W_Q)  # [h, d]
            q = self.hook_q(q.expand(batch, 1, h, d))[0, 0]
            score_tab = (kv[..., :d] * q).sum(-1) / math.sqrt(d)  # [pos, d_vocab, h]
            scores = score_tab.reshape(n * v_size, h).index_select(0, rows).view(batch, n, h)
        else:  # the query comes from the last token: gather it and the keys per row
            q_tab = torch.einsum("vm,hmd->vhd", tables[n - 1], self.W_Q)  # [d_vocab, h, d]
            q = self.hook_q(q_tab.index_select(0, tokens[:, -1]).unsqueeze(1))[:, 0]  # [b, h, d]
            k = kv[..., :d].reshape(n * v_size, h * d).index_select(0, rows).view(batch, n, h, d)
            scores = torch.einsum("bhd,bnhd->bnh", q, k) / math.sqrt(d)
        v = kv[..., d:].reshape(n * v_size, h * d).index_select(0, rows).view(batch, n, h, d)
        v = self.hook_v(v)
        scores = self.hook_attn_scores(scores.transpose(1, 2).unsqueeze(2))  # [batch, h, 1, pos]
        pattern = self.hook_pattern(mix_attention(scores.softmax(dim=-1), self.mask[n - 1:n, :n],
                                                  self.rate, self.mix))
        z = (pattern[:, :, 0].transpose(1, 2).unsqueeze(-1) * v).sum(1)  # [batch, h, d]
        z = self.hook_z(z.unsqueeze(1))  # [batch, 1, h, d]
        return z.flatten(1) @ self.W_O.flatten(0, 1)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig, gen: torch.Generator):
        super().__init__()
        self.W_in = _normal(gen, cfg.d_model, cfg.d_mlp, std=cfg.d_model**-0.5)
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = _normal(gen, cfg.d_mlp, cfg.d_model, std=cfg.d_model**-0.5)
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.act = ACTIVATIONS[cfg.act]
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [..., m] -> [..., m]
        """d_mlp 0 (an attention-only model): no neurons, the output is b_out (zero)."""
        lead, rows = x.shape[:-1], math.prod(x.shape[:-1])
        pre = self.hook_pre(torch.addmm(self.b_in, x.reshape(rows, x.shape[-1]), self.W_in)
                            .view(*lead, self.W_in.shape[1]))
        post = self.hook_post(self.act(pre))
        return torch.addmm(self.b_out, post.reshape(rows, post.shape[-1]), self.W_out).view(*lead, -1)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, gen: torch.Generator):
        super().__init__()
        self.ln1 = _maybe_ln(cfg.layer_norm, cfg.d_model)
        self.attn = Attention(cfg, gen)
        self.ln2 = _maybe_ln(cfg.layer_norm, cfg.d_model)
        self.mlp = MLP(cfg, gen)
        for name in ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"):
            setattr(self, f"hook_{name}", HookPoint())

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:  # [batch, pos, m]
        """`last_only`: the block's output at the last position only ([batch, 1, m])."""
        x = self.hook_resid_pre(x)
        attn = self.hook_attn_out(self.attn(self.ln1(x), last_only))
        x = self.hook_resid_mid((x[:, -1:] if last_only else x) + attn)
        return self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))


class Transformer(HookedModel):
    """A TransformerLens-layout transformer over the tokens `a b =` of a task mod p (any depth)."""

    neuron_hook = "blocks.0.mlp.hook_post"
    input_hook = "blocks.0.hook_resid_pre"  # [batch, pos, d_model] in the plain forward

    def __init__(self, cfg: ModelConfig, p: int, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.cfg, self.p = cfg, p
        self.b_offset = p if cfg.embed == "separate" else 0  # b is token b + b_offset
        d_vocab = p + self.b_offset + (1 if cfg.eq_token else 0)
        self.eq_id = d_vocab - 1  # `=` is the last id (when there is one)
        self.n_ctx = N_CTX if cfg.eq_token else N_CTX - 1
        self.embed = Embed(d_vocab, cfg.d_model, gen)
        self.pos_embed = PosEmbed(self.n_ctx, cfg.d_model, gen)
        self.blocks = nn.ModuleList([Block(cfg, gen) for _ in range(cfg.n_layers)])
        self.ln_final = _maybe_ln(cfg.layer_norm, cfg.d_model)
        self.unembed = Unembed(cfg.d_model, p, d_vocab, gen, bias=cfg.attn_bias)
        self.hook_embed = HookPoint()
        self.hook_pos_embed = HookPoint()
        self.hook_logits = HookPoint()

    def tokens(self, pairs: torch.Tensor) -> torch.Tensor:  # [batch, 2] -> [batch, n_ctx]
        if self.b_offset:
            pairs = torch.stack([pairs[:, 0], pairs[:, 1] + self.b_offset], dim=1)
        if not self.cfg.eq_token:
            return pairs
        eq = torch.full_like(pairs[:, :1], self.eq_id)
        return torch.cat([pairs, eq], dim=1)

    def forward(self, tokens: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """[batch, pos] -> [batch, pos, p] logits at every position; `last_only`: at the last
        position only ([batch, 1, p]: the final block computes nothing else)."""
        n = tokens.shape[1]
        x = self.hook_embed(self.embed.W_E[tokens]) + self.hook_pos_embed(self.pos_embed.W_pos[:n])
        for i, block in enumerate(self.blocks):
            x = block(x, last_only and i == len(self.blocks) - 1)
        return self.hook_logits(self.unembed(self.ln_final(x)))

    def logits(self, pairs: torch.Tensor) -> torch.Tensor:  # [batch, 2] -> [batch, p]
        """Logits at the last position; the fast path for one layer without attention biases, the
        plain forward otherwise."""
        tokens = self.tokens(pairs)
        if len(self.blocks) != 1 or self.cfg.attn_bias:
            return self.forward(tokens, last_only=True)[:, -1]
        block = self.blocks[0]
        n = tokens.shape[1]
        raw = self.embed.W_E.unsqueeze(0) + self.pos_embed.W_pos[:n].unsqueeze(1)  # [pos, v, m]
        shared = self.cfg.eq_token
        last = raw[n - 1, tokens[0, -1]].expand(len(tokens), -1) if shared \
            else raw[n - 1].index_select(0, tokens[:, -1])
        x = block.hook_resid_pre(last.unsqueeze(1))  # [b, 1, m]
        attn = block.attn.last_position(block.ln1(raw), tokens, shared)
        attn = block.hook_attn_out(attn.unsqueeze(1))
        x = block.hook_resid_mid(x + attn)
        x = block.hook_resid_post(x + block.hook_mlp_out(block.mlp(block.ln2(x))))
        return self.hook_logits(self.unembed(self.ln_final(x)))[:, 0]

    def plain_logits(self, pairs: torch.Tensor) -> torch.Tensor:  # [batch, 2] -> [batch, p]
        """Logits at the last position through the plain forward (every hook fires)."""
        return self.forward(self.tokens(pairs))[:, -1]

    def neuron_to_logits(self) -> torch.Tensor:  # [d_mlp, p]
        """W_L = W_out W_U (the final LayerNorm, when there is one, is not folded in)."""
        return self.blocks[-1].mlp.W_out @ self.unembed.W_U

    def token_embeddings(self) -> torch.Tensor:  # [p, d_model] (a's, when b has its own ids)
        return self.embed.W_E[: self.p]

    def input_embeddings(self) -> list[torch.Tensor]:  # [p, d_model] for a, then for b
        b = self.embed.W_E[self.b_offset: self.b_offset + self.p]
        return [self.token_embeddings(), b]
