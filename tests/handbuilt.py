"""A transformer built by hand to run the Fourier algorithm with chosen key frequencies.

Head 0 copies cos/sin(w_k a) from position 0 into slot A, head 1 copies b's into slot B (attention
steered by the positional embeddings). Neuron (k, φ, ψ) computes ReLU(cos(w_k a + φ) + cos(w_k b + ψ)),
whose (1, 1) Fourier component is cos(w_k(a + b) + φ + ψ); the readout cos(w_k c + φ + ψ), summed
over a J×J grid of phases, leaves Σ_k cos(w_k(a + b − c)) and cancels every other component up to
harmonics of order J - 1.
"""

from __future__ import annotations

import numpy as np
import torch

from groklab.config import ModelConfig
from groklab.models import build_model


def fourier_transformer(p: int = 31, freqs=(3, 7, 11), phases: int = 8, scale: float = 0.5,
                        task: str = "add", embed_coord=None, amplitudes=None):
    """For mul/div the waves run over discrete-log coordinates (token 0 embeds to zero); for sub and
    div, b enters with the opposite phase (cos(w(i - j)) = cos(wi)cos(wj) + sin(wi)sin(wj)).
    `embed_coord` [p] replaces the input coordinates of every token (e.g. t² mod p: the network
    then computes a² + b²); `amplitudes` scales each frequency's embedding plane."""
    from groklab.analysis.cyclic.fourier import task_coords

    c = task_coords(task, p)
    position = np.full(p, -1)
    position[c.tokens] = np.arange(c.n)
    x = position[c.tokens]  # coordinates, in token order of c.tokens
    k_n = len(freqs)
    e0, pos0, a0, b0, r0 = 0, 2 * k_n, 2 * k_n + 3, 4 * k_n + 3, 6 * k_n + 3
    d_model, d_head = 8 * k_n + 3, 2 * k_n
    d_mlp = k_n * phases * phases
    cfg = ModelConfig(d_model=d_model, n_heads=2, d_head=d_head, d_mlp=d_mlp)
    model = build_model(cfg, p, 0)
    w = {n: torch.zeros_like(t) for n, t in model.named_parameters()}
    tok = torch.as_tensor(c.tokens)
    amplitudes = np.ones(k_n) if amplitudes is None else np.asarray(amplitudes, dtype=float)
    e_tok, e_x = (tok, x) if embed_coord is None else (torch.arange(p), np.asarray(embed_coord))
    for i, k in enumerate(freqs):
        for j, fn in enumerate((np.cos, np.sin)):
            w["embed.W_E"][e_tok, e0 + 2 * i + j] = torch.tensor(
                amplitudes[i] * fn(2 * np.pi * k * e_x / c.n)).float()
    for pos in range(3):
        w["pos_embed.W_pos"][pos, pos0 + pos] = 1.0
    attn = "blocks.0.attn."
    for head, (src, slot) in enumerate(((0, a0), (1, b0))):
        w[attn + "W_Q"][head, pos0 + 2, 0] = 10.0  # the query at `=` ...
        w[attn + "W_K"][head, pos0 + src, 0] = 10.0  # ... matches only position `src`
        for j in range(d_head):
            w[attn + "W_V"][head, e0 + j, j] = 1.0
            w[attn + "W_O"][head, j, slot + j] = 1.0
    mlp = "blocks.0.mlp."
    grid = 2 * np.pi * np.arange(phases) / phases
    n = 0
    for i, _k in enumerate(freqs):
        for phi in grid:
            for psi in grid:
                amp = 1 / amplitudes[i]  # cos(x + φ) = cos x cos φ − sin x sin φ
                w[mlp + "W_in"][a0 + 2 * i, n] = amp * np.cos(phi)
                w[mlp + "W_in"][a0 + 2 * i + 1, n] = -amp * np.sin(phi)
                w[mlp + "W_in"][b0 + 2 * i, n] = amp * np.cos(psi)
                w[mlp + "W_in"][b0 + 2 * i + 1, n] = -amp * np.sin(psi) * c.sign
                w[mlp + "W_out"][n, r0 + 2 * i] = np.cos(phi + psi)
                w[mlp + "W_out"][n, r0 + 2 * i + 1] = -np.sin(phi + psi)
                n += 1
    for i, k in enumerate(freqs):
        w["unembed.W_U"][r0 + 2 * i, tok] = scale * torch.tensor(np.cos(2 * np.pi * k * x / c.n)).float()
        w["unembed.W_U"][r0 + 2 * i + 1, tok] = scale * torch.tensor(np.sin(2 * np.pi * k * x / c.n)).float()
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(w[name])
    return model


def character_mlp(group: str = "S5", irreps=("(4,1)", "(1,1,1,1,1)"), alphas=None,
                  element_order: str = "groklab", scale: float = 6.0):
    """An MLP (separate embeddings, no bias, quadratic activation) that computes composition in
    `group` by characters, exactly: a embeds as the entries ρ(a)_ik of each chosen irrep, b as
    ρ(b)_kj; neurons (ρ, i, j, k, ±) square ρ(a)_ik ± ρ(b)_kj, so (+ − −)/4 is their product; the
    readout sums Σ_k ρ(a)_ik ρ(b)_kj = ρ(a·b)_ij against ρ(c)_ij, giving
    logit(c) = Σ_ρ α_ρ tr(ρ(a·b) ρ(c)ᵀ) = Σ_ρ α_ρ χ_ρ(a·b·c⁻¹), times `scale` (a trained network is
    confident: its loss is far below chance, so removing an irrep it needs multiplies the loss)."""
    from groklab.groups.elements import make_group
    from groklab.groups.irreps import irreps as all_irreps
    from groklab.groups.irreps import resolve

    g = make_group(group, element_order)
    reps = [resolve(g, all_irreps(g), name).matrices for name in irreps]
    return representation_mlp(g.order, reps, alphas, scale)


def coset_permutations(group: str, subgroup: str) -> np.ndarray:
    """The permutation matrices of G acting on the right cosets Hx of a subgroup of the class
    labelled `subgroup` (Hx·a = H(x·a)), so that ρ(a)ρ(b) = ρ(a·b). # [n, index, index]"""
    from groklab.groups.elements import make_group
    from groklab.groups.subgroups import catalogue

    g = make_group(group)
    cat = catalogue(g)
    cls = next(c for c in cat.classes if c.label == subgroup)
    h = cat.subgroups[cls.members[0]]
    coset = g.table[h, :].min(0)  # the coset Hx of every element x, by its least element
    ids = {c: i for i, c in enumerate(np.unique(coset))}
    reps = [int(np.flatnonzero(coset == c)[0]) for c in ids]
    k = len(reps)
    mats = np.zeros((g.order, k, k))
    for a in range(g.order):
        for i, x in enumerate(reps):
            mats[a, i, ids[coset[g.table[x, a]]]] = 1.0
    return mats


def coset_mlp(group: str = "S5", subgroups=("S4",), scale: float = 6.0):
    """character_mlp on the permutation representations of G on the cosets of each subgroup: every
    neuron's a-part is the indicator of a right coset of a conjugate of H, its b-part of a left
    coset; logit(c) = scale · Σ_H χ_{Ind_H}(a·b·c⁻¹), the number of cosets a·b·c⁻¹ fixes."""
    return representation_mlp(len(coset_permutations(group, subgroups[0])),
                              [coset_permutations(group, s) for s in subgroups], None, scale)


def representation_mlp(n: int, reps: list[np.ndarray], alphas=None, scale: float = 6.0):
    """The character_mlp construction on any representations (matrices [n, d, d] each, with
    ρ(a)ρ(b) = ρ(a·b)): logit(c) = scale · Σ α tr(ρ(a·b) ρ(c)ᵀ)."""
    alphas = [scale * a for a in ([1.0] * len(reps) if alphas is None else list(alphas))]
    d_model = sum(r.shape[1] ** 2 for r in reps)
    d_mlp = sum(2 * r.shape[1] ** 3 for r in reps)
    w_a, w_b = np.zeros((n, d_model)), np.zeros((n, d_model))
    w_in, w_u = np.zeros((2 * d_model, d_mlp)), np.zeros((d_mlp, n))
    slot, neuron = 0, 0
    for rep, alpha in zip(reps, alphas):
        d = rep.shape[1]
        w_a[:, slot:slot + d * d] = rep.reshape(n, d * d)
        w_b[:, slot:slot + d * d] = rep.reshape(n, d * d)
        for i in range(d):
            for j in range(d):
                for k in range(d):
                    for sign in (1.0, -1.0):
                        w_in[slot + i * d + k, neuron] = 1.0
                        w_in[d_model + slot + k * d + j, neuron] = sign
                        w_u[neuron] = sign * alpha / 4 * rep[:, i, j]
                        neuron += 1
        slot += d * d
    cfg = ModelConfig(kind="mlp", d_model=d_model, d_mlp=d_mlp, act="quadratic",
                      embed="separate", bias=False)
    model = build_model(cfg, n, 0).double()
    with torch.no_grad():
        for name, value in (("W_E", w_a), ("W_E_b", w_b), ("W_in", w_in), ("W_U", w_u)):
            getattr(model, name).copy_(torch.as_tensor(value))
    return model


def _square_knots(limit: float, step: float) -> np.ndarray:
    return np.arange(step / 2, limit, step)


def summed_transformer(p: int = 31, freqs=(3, 7, 11), kind: str = "pizza", phases: int = 12,
                       scale: float = 2.0, step: float = 0.05):
    """A transformer with Zhong et al.'s attention at rate 0 (the sum of the value vectors, no
    mask): the `=` position receives u = E_a + E_b and nothing else about a and b. Token t embeds
    as cos/sin(w_k t) (and, for the clock, cos/sin(2 w_k t)); `=` embeds to zero.

    kind "pizza": neuron (k, φ) = ReLU(cos(w_k a + φ) + cos(w_k b + φ)), read out as cos(w_k c + 2φ)
      over a grid of φ: logit(c) ∝ Σ_k |cos(w_k(a − b)/2)| cos(w_k(a + b − c)) (Zhong et al.'s pizza).
    kind "clock": from sums alone, cos(w(a + b)) = (U_x² − U_y² − V_x)/2 and sin(w(a + b)) =
      U_x U_y − V_y/2 (U the summed frequency-k pair, V the summed 2k pair); the squares are
      piecewise-linear sums of ReLUs (knots every `step`), V reaches the unembedding through the
      residual stream: logit(c) ≈ Σ_k cos(w_k(a + b − c)), a clock on summed inputs."""
    k_n = len(freqs)
    width = 4 if kind == "clock" else 2  # per frequency: (cos, sin) of w_k [and of 2 w_k]
    e0, s0 = 0, width * k_n  # the token slot, the summed slot
    r0 = 2 * width * k_n  # the readout slot: (cos, sin) of w_k (a + b) per frequency
    d_model = r0 + 2 * k_n
    knots = _square_knots(2 * np.sqrt(2), step)
    # neurons per frequency: pizza, one per phase; clock, four squares of ±x over the knots
    per = phases if kind == "pizza" else 4 * 2 * len(knots)
    cfg = ModelConfig(d_model=d_model, n_heads=1, d_head=s0, d_mlp=k_n * per, attn_rate=0.0,
                      attn_mix="sum", causal=False)
    model = build_model(cfg, p, 0)
    w = {n: torch.zeros_like(t) for n, t in model.named_parameters()}
    t = np.arange(p)
    for i, k in enumerate(freqs):
        waves = [np.cos(2 * np.pi * k * t / p), np.sin(2 * np.pi * k * t / p)]
        if kind == "clock":
            waves += [np.cos(4 * np.pi * k * t / p), np.sin(4 * np.pi * k * t / p)]
        for j, wave in enumerate(waves):
            w["embed.W_E"][:p, e0 + width * i + j] = torch.tensor(wave).float()
    for j in range(s0):  # V copies the token slot of every position; O writes it to the summed slot
        w["blocks.0.attn.W_V"][0, e0 + j, j] = 1.0
        w["blocks.0.attn.W_O"][0, j, s0 + j] = 1.0
    w_in, w_out = w["blocks.0.mlp.W_in"], w["blocks.0.mlp.W_out"]
    b_in = w["blocks.0.mlp.b_in"]
    n = 0
    for i in range(k_n):
        ux, uy = s0 + width * i, s0 + width * i + 1
        rc, rs = r0 + 2 * i, r0 + 2 * i + 1
        if kind == "pizza":
            for phi in 2 * np.pi * np.arange(phases) / phases:  # cos(x + φ) = cos x cos φ − sin x sin φ
                w_in[ux, n], w_in[uy, n] = float(np.cos(phi)), float(-np.sin(phi))
                w_out[n, rc], w_out[n, rs] = float(np.cos(2 * phi)), float(-np.sin(2 * phi))
                n += 1
            continue
        # x² ≈ Σ_t 2·step·(ReLU(x − t) + ReLU(−x − t)); each square enters with its coefficient
        squares = [({ux: 1.0}, rc, 0.5), ({uy: 1.0}, rc, -0.5),
                   ({ux: 1.0, uy: 1.0}, rs, 0.25), ({ux: 1.0, uy: -1.0}, rs, -0.25)]
        for dirs, out, coef in squares:
            for sign in (1.0, -1.0):
                for knot in knots:
                    for dim, v in dirs.items():
                        w_in[dim, n] = sign * v
                    b_in[n] = -knot
                    w_out[n, out] = coef * 2 * step
                    n += 1
        w_vx = w["unembed.W_U"]  # V enters the readout directly: −V_x/2 and −V_y/2
        vx, vy = s0 + width * i + 2, s0 + width * i + 3
        c = torch.tensor(2 * np.pi * freqs[i] * t / p)
        w_vx[vx] = -0.5 * scale * torch.cos(c).float()
        w_vx[vy] = -0.5 * scale * torch.sin(c).float()
    for i, k in enumerate(freqs):
        c = torch.tensor(2 * np.pi * k * t / p)
        w["unembed.W_U"][r0 + 2 * i] = scale * torch.cos(c).float()
        w["unembed.W_U"][r0 + 2 * i + 1] = scale * torch.sin(c).float()
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(w[name])
    return model
