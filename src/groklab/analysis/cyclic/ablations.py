"""Ablations that verify the algorithm: restricted and excluded logits, Fourier projections of the
embeddings and the neurons, and zero- or mean-ablation of each head and of the MLP.

Every row is measured on the grid of group coordinates (all p² pairs for add and sub; the pairs
without 0 for mul and div): loss and accuracy on all its pairs and on its test pairs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from groklab.analysis.cyclic.fourier import basis_rows, fourier_basis
from groklab.analysis.cyclic.logits import excluded, restricted
from groklab.analysis.cyclic.probe import Probe
from groklab.models.hooks import by_position


@dataclass(frozen=True)
class Ablation:
    name: str
    description: str
    loss: float  # all grid pairs
    acc: float
    test_loss: float
    test_acc: float
    train_loss: float


def _row(probe: Probe, name: str, description: str, logits: np.ndarray) -> Ablation:
    loss, acc = probe.grid_scores(logits)
    test_loss, test_acc = probe.grid_scores(logits, ~probe.grid_train)
    train_loss, _ = probe.grid_scores(logits, probe.grid_train)
    return Ablation(name, description, round(loss, 6), round(acc, 6), round(test_loss, 6),
                    round(test_acc, 6), round(train_loss, 6))


def key_projector(n: int, freqs, const: bool = True) -> np.ndarray:
    """Projector onto span{const (optional), cos_k, sin_k : k in freqs} over Z_N. # [N, N]"""
    f = fourier_basis(n)
    rows = [0] * const + [r for k in freqs for r in basis_rows(n, k)]
    return f[rows].T @ f[rows]


def embed_projected(probe: Probe, proj: np.ndarray) -> np.ndarray:
    """Grid logits with the number-token embeddings (group order) replaced by proj @ W_E."""
    model = copy.deepcopy(probe.model)
    tokens = torch.as_tensor(probe.coords.tokens)
    proj_t = torch.as_tensor(proj, dtype=torch.float32)
    with torch.no_grad():
        w_e = model.token_embeddings()
        w_e[tokens] = proj_t @ w_e[tokens]
    return Probe(model, probe.data, probe.coords, probe.grid_pairs, probe.grid_labels,
                 probe.grid_train, probe.grid_valid).grid_logits()


def embed_key_only(probe: Probe, freqs) -> np.ndarray:
    """Grid logits with W_E projected onto the constant and the key frequencies."""
    return embed_projected(probe, key_projector(probe.coords.n, freqs))


def embed_without(probe: Probe, freqs) -> np.ndarray:
    """Grid logits with the frequencies `freqs` removed from W_E."""
    n = probe.coords.n
    return embed_projected(probe, np.eye(n) - key_projector(n, freqs, const=False))


def key_blocks_hook(n: int, freqs, exclude: bool = False):
    """A hook that keeps an activation's last position, as functions on the N×N grid, only in the
    key blocks {const, cos_k, sin_k}² (the constant included); `exclude`: removes those blocks
    instead (all but the constant)."""
    f = torch.as_tensor(fourier_basis(n), dtype=torch.float32)
    keep = torch.zeros(n, n)
    idx = [0] + [r for k in freqs for r in basis_rows(n, k)]
    keep[np.ix_(idx, idx)] = 1.0
    if exclude:
        keep = 1.0 - keep
        keep[0, 0] = 1.0

    def hook(x: torch.Tensor, _name: str) -> torch.Tensor:
        last = by_position(x)
        acts = last[:, -1].reshape(n, n, -1)
        coef = torch.einsum("jb,ibd->ijd", f, torch.einsum("ia,abd->ibd", f, acts))
        coef = coef * keep[..., None]
        new = torch.einsum("jb,ajd->abd", f, torch.einsum("ia,ijd->ajd", f, coef)).reshape(n * n, -1)
        out = last.clone()
        out[:, -1] = new
        return out.reshape(x.shape)

    return hook


def neurons_key_only(probe: Probe, freqs) -> np.ndarray:
    """Grid logits with each neuron's last-position activation kept only in the key blocks."""
    return probe.grid_logits({probe.model.neuron_hook: key_blocks_hook(probe.coords.n, freqs)})


def layer_restrictions(probe: Probe, freqs) -> list[Ablation]:
    """Per block i of a transformer: the residual stream after it (last position) kept only in the
    key blocks (restricted:L<i>) or without them (excluded:L<i>), the rest of the network run on
    it: where the key frequencies alone already carry the answer."""
    model, n, rows = probe.model, probe.coords.n, []
    if model.cfg.kind != "transformer" or not freqs:
        return rows
    for i in range(model.cfg.n_layers):
        point = f"blocks.{i}.hook_resid_post"
        for kind, exclude in (("restricted", False), ("excluded", True)):
            what = "kept only in" if not exclude else "without"
            rows.append(_row(probe, f"{kind}:L{i}",
                             f"the residual stream after block {i} {what} the key-frequency blocks",
                             probe.grid_logits({point: key_blocks_hook(n, freqs, exclude)})))
    return rows


def _component_hooks(probe: Probe) -> list[tuple[str, str, str, object, tuple]]:
    """(name, description, hook point, selector, modes): layer 0's heads, attention and MLP, zero-
    and mean-ablated; a deeper layer's attention and MLP as wholes (L<i>.attn, L<i>.mlp),
    mean-ablated only (a deep model's table stays a few forwards per layer)."""
    model, out = probe.model, []
    mlp = model.cfg.d_mlp > 0  # an attention-only transformer has no MLP to ablate
    if model.cfg.kind == "transformer":
        both = ("zero", "mean")
        for h in range(model.cfg.n_heads):
            out.append((f"head{h}", f"attention head {h}", "blocks.0.attn.hook_z",
                        (slice(None), slice(None), h), both))
        out.append(("attn", "the attention output", "blocks.0.hook_attn_out", (Ellipsis,),
                    ("mean",)))
        if mlp:
            out.append(("mlp", "the MLP", "blocks.0.hook_mlp_out", (Ellipsis,), both))
        for i in range(1, model.cfg.n_layers):
            out.append((f"L{i}.attn", f"the attention output of layer {i}",
                        f"blocks.{i}.hook_attn_out", (Ellipsis,), ("mean",)))
            if mlp:
                out.append((f"L{i}.mlp", f"the MLP of layer {i}", f"blocks.{i}.hook_mlp_out",
                            (Ellipsis,), ("mean",)))
    return out


def component_ablations(probe: Probe) -> list[Ablation]:
    rows = []
    for name, desc, point, sel, modes in _component_hooks(probe):
        for mode in modes:
            def hook(x, _n, sel=sel, mode=mode):
                x = x.clone()
                x[sel] = 0.0 if mode == "zero" else x[sel].mean(0, keepdim=True).expand_as(x[sel])
                return x
            rows.append(_row(probe, f"{mode}:{name}", f"{mode}-ablate {desc}",
                             probe.grid_logits({point: hook})))
    return rows


def ablation_table(probe: Probe, logits: np.ndarray, freqs) -> list[Ablation]:
    """All ablations for the key frequencies `freqs`; `logits` are the model's grid logits."""
    c = probe.coords
    rows = [
        _row(probe, "full", "the model as trained", logits),
        _row(probe, "restricted", "logits kept only in the constant and key-frequency directions",
             restricted(logits, c, freqs)),
        _row(probe, "excluded", "logits with the key-frequency directions removed",
             excluded(logits, c, freqs)),
    ]
    rows += [_row(probe, f"exclude:{k}", f"logits without frequency {k}", excluded(logits, c, [k]))
             for k in freqs]
    if freqs:
        rows.append(_row(probe, "embed:key-only", "W_E projected onto the key frequencies",
                         embed_key_only(probe, freqs)))
        rows.append(_row(probe, "neurons:key-only",
                         "neuron activations kept only in the key-frequency blocks",
                         neurons_key_only(probe, freqs)))
    return rows + layer_restrictions(probe, freqs) + component_ablations(probe)
