"""Cosets beside irreps: Stander, Yu, Fan & Biderman (2024)'s account of a group-composition network,
measured on the same weights as the irrep account (Chughtai et al. 2023), with the dictionary
between the two.

Operand parts. A neuron's pre-activation over all pairs is a grid P[a, b]; its left part is the
function of a alone, mean over b of P (for an MLP on concatenated embeddings exactly the a-half of
W_in applied to a's embedding, up to a constant), its right part the mean over a. Elements, not
tokens: a-token x stands for σ(x), b-token y for τ(y) (groups.structure).

Coset concentration (their definition): for f: G → R and a subgroup H,
  C_H(f) = Σ_{cosets} Var_ddof1(f on the coset) / Var_ddof1(f on G),
the left part against right cosets Hg (f(h·g) = f(g) when it is a function of a's right coset),
the right part against left cosets gH; min over the proper non-trivial subgroups. A coset
function gives 0; a random function gives about [G:H] >= 2 for every H (the null is measured:
`null_min_c`, the median min C of CONCENTRATION_NULL_DRAWS Gaussian functions). An operand part
is concentrated when min C < COSET_CONCENTRATED (rules); parts with no variance are left out.

The dictionary: a function constant on the right cosets of H lies in the permutation module
Ind_H^G 1, which holds the irrep ρ with multiplicity ⟨χ_Ind, χ_ρ⟩ = (1/|H|) Σ_{h∈H} χ_ρ(h) (over
e = ⟨χ_ρ, χ_ρ⟩ for a merged complex pair). A concentrated part agrees when the irrep it reads most
(its largest non-trivial isotypic share) is in its winning subgroup's permutation module.

The coset program: logit(c) = Σ_H β_H χ_{Ind_H}(a·b·c⁻¹) over the winning subgroup classes, where
χ_{Ind_H}(g) counts the cosets xH that g fixes: the number of shared cosets a·b and c pick out.
It is judged against the network as the character program is (analysis.group.characters.compare):
fit of the logits' product component, held-out KL, agreement, substitution, and the ablation of
the irreps its permutation modules span.

The activation experiment: the network with ReLU replaced by |x| (every neuron, at analysis time),
its accuracy and loss beside the network's.

Glossary: n = |G|; m = d_mlp; S = number of subgroups; a part = one neuron's left or right function.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
import torch

from groklab.analysis.group.characters import CharacterProgram, compare, fit_class_functions
from groklab.analysis.group.representations import GroupView, answer_activations, scores
from groklab.groups.subgroups import MAX_CATALOGUE, Catalogue, catalogue
from groklab.models import HookedModel
from groklab.rules import COSET_CONCENTRATED, COSET_EXACT
from groklab.tasks import Dataset

CONCENTRATION_NULL_DRAWS = 64
MAX_PROGRAM_TERMS = 8  # the coset program uses at most this many winning classes, most used first
SIDES = {"left": "right cosets Hg", "right": "left cosets gH"}
RULE = (f"an operand part (the neuron's pre-activation as a function of a, or of b, averaged over "
        f"the other) is coset-concentrated when its min over proper non-trivial subgroups H of "
        f"C_H = Σ within-coset variance / total variance (ddof 1; a against right cosets Hg, b "
        f"against left cosets gH) is < {COSET_CONCENTRATED:g} (a random function gives about "
        f"[G:H] >= 2)")


def pre_hook(model: HookedModel) -> str:
    """The hook of the neurons' pre-activations (beside model.neuron_hook, their activations)."""
    return model.neuron_hook.replace("hook_post", "hook_pre")


@torch.no_grad()
def operand_parts(model: HookedModel, data: Dataset, view: GroupView) -> dict[str, np.ndarray]:
    """Each neuron's pre-activation as a function of a's element and of b's. {side: [m, n]}"""
    _, pre = answer_activations(model, data, pre_hook(model))
    grid = pre[view.element_grid]  # [n(g_a), n(g_b), m]
    return {"left": grid.mean(1).T, "right": grid.mean(0).T}


def concentration(f: np.ndarray, cat: Catalogue, side: str, subgroups: np.ndarray) -> np.ndarray:
    """C_H(f_i) for every row f_i of f [m, n] and every subgroup index in `subgroups`. # [m, S']"""
    m, n = f.shape
    order = cat.right_coset_order if side == "left" else cat.left_coset_order
    total = f.var(1, ddof=1)
    out = np.full((m, len(subgroups)), np.nan)
    sizes = np.array([len(cat.subgroups[s]) for s in subgroups])
    for h in np.unique(sizes):
        cols = np.flatnonzero(sizes == h)
        blocks = f[:, order[subgroups[cols]]].reshape(m, len(cols), n // h, h)
        within = blocks.var(3, ddof=1).sum(2)  # [m, k]
        out[:, cols] = within / np.maximum(total, 1e-300)[:, None]
    return out


def null_min_c(cat: Catalogue, subgroups: np.ndarray, draws: int = CONCENTRATION_NULL_DRAWS,
               seed: int = 0) -> float:
    """The median min C of random Gaussian functions on G (what chance gives)."""
    f = np.random.default_rng(seed).standard_normal((draws, cat.group.order))
    return float(np.median(concentration(f, cat, "left", subgroups).min(1)))


def multiplicities(view: GroupView, character: np.ndarray) -> dict[str, int]:
    """How often each irrep of the view lies in the representation with this character."""
    n = view.group.order
    out = {}
    for rep in view.irreps:
        m = float(character @ rep.character) / n / rep.kind
        out[rep.name] = int(round(m))
    return out


def best_irreps(view: GroupView, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of f [m, n]: the non-trivial irrep with the largest isotypic share, and the share."""
    f = f - f.mean(1, keepdims=True)
    total = (f**2).sum(1) + 1e-300
    shares = np.stack([((f @ p) ** 2).sum(1) / total for p in view.projectors[1:]], 1)
    return shares.argmax(1) + 1, shares.max(1)


@dataclass
class CosetAnalysis:
    """analysis.json `cosets` (docs/schemas.md)."""

    rule: str
    subgroup_classes: list[dict]  # the catalogue: label, name, order, conjugates, normal
    fraction_concentrated: float  # parts with min C < COSET_CONCENTRATED (of those with variance)
    fraction_below_0_01: float
    median_min_c: float
    null_min_c: float  # median min C of random functions on G
    parts: int  # operand parts with variance
    winning_subgroups: dict[str, int]  # concentrated parts per winning class
    sides: dict[str, int]  # concentrated parts per operand
    dictionary_agreement: float | None  # concentrated parts whose best irrep is in Ind_H 1
    dictionary: list[dict]  # per winning class: the irreps of its permutation module
    neurons: list[dict]  # per neuron: {left, right}: subgroup, order, cosets, c, irrep, share
    program: dict = field(default_factory=dict)  # the coset program against the network
    ablation: dict | None = None  # coset subspaces removed vs rank-matched random ones
    activation: dict | None = None  # ReLU -> |x|: accuracy and loss beside the network's

    def to_dict(self) -> dict:
        return asdict(self)


def _winner(cat: Catalogue, subgroups: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the subgroup index of the smallest C (ties: the larger subgroup) and that C."""
    sizes = np.array([len(cat.subgroups[s]) for s in subgroups])
    tie_break = -sizes * 1e-12  # equal C (e.g. 0 on a subgroup and its subgroups): the largest H
    best = np.nanargmin(c + tie_break[None, :], axis=1)
    return subgroups[best], c[np.arange(len(c)), best]


def _live(f: np.ndarray) -> np.ndarray:
    """The parts with variance (a dead neuron's part is constant). # [m] bool"""
    var = f.var(1, ddof=1)
    return var > 1e-12 * max(float(var.max(initial=0.0)), 1e-300)


def measure(view: GroupView, parts: dict[str, np.ndarray]) -> tuple[dict, list[dict], dict]:
    """The network-level numbers, the per-neuron table and, per side, the concentrated parts'
    (neuron, winning subgroup index) from the operand parts."""
    cat = catalogue(view.group)
    subs = cat.proper()
    rows: list[dict] = [dict() for _ in range(parts["left"].shape[0])]
    mins, wins, sides, agree = [], {}, {"left": 0, "right": 0}, []
    winners: dict[str, list[tuple[int, int]]] = {"left": [], "right": []}
    for side, f in parts.items():
        live = _live(f)
        c = concentration(f[live], cat, side, subs)
        best_sub, best_c = _winner(cat, subs, c) if live.any() else (np.array([], int), np.array([]))
        irrep, share = best_irreps(view, f[live])
        for i, s, cv, r, sh in zip(np.flatnonzero(live), best_sub, best_c, irrep, share):
            cls = cat.classes[cat.class_of[s]]
            rows[i][side] = {"subgroup": cls.label, "order": cls.order, "cosets": SIDES[side],
                             "c": round(float(cv), 6), "irrep": view.names[r],
                             "irrep_share": round(float(sh), 4)}
            mins.append(cv)
            if cv < COSET_CONCENTRATED:
                wins[cls.label] = wins.get(cls.label, 0) + 1
                sides[side] += 1
                winners[side].append((int(i), int(s)))
                chi = cat.permutation_character(int(s))
                agree.append(multiplicities(view, chi)[view.names[r]] > 0)
    mins = np.array(mins)
    summary = {"fraction_concentrated": float((mins < COSET_CONCENTRATED).mean()) if len(mins) else 0.0,
               "fraction_below_0_01": float((mins < COSET_EXACT).mean()) if len(mins) else 0.0,
               "median_min_c": float(np.median(mins)) if len(mins) else float("nan"),
               "parts": int(len(mins)),
               "winning_subgroups": dict(sorted(wins.items(), key=lambda kv: -kv[1])),
               "sides": sides,
               "dictionary_agreement": float(np.mean(agree)) if agree else None,
               "null_min_c": null_min_c(cat, subs)}
    return summary, [{"neuron": i, "left": r.get("left"), "right": r.get("right")}
                     for i, r in enumerate(rows)], winners


def dictionary(view: GroupView, labels: list[str]) -> list[dict]:
    """Per subgroup class: the irreps of its permutation module Ind_H^G 1 with multiplicities."""
    cat = catalogue(view.group)
    out = []
    for label in labels:
        cls = cat.by_label(label)
        mult = multiplicities(view, cat.permutation_character(cls.members[0]))
        out.append({"subgroup": label, "order": cls.order, "index": view.group.order // cls.order,
                    "irreps": {k: v for k, v in mult.items() if v}})
    return out


# ---- the coset program ------------------------------------------------------------------------


@dataclass(frozen=True)
class CosetProgram(CharacterProgram):
    """logit(c) = SCALE · Σ_H β_H χ_{Ind_H}(a·b·c⁻¹): CharacterProgram's evaluator on permutation
    characters (`irreps` holds the subgroup classes' labels, `characters` their permutation
    characters); the ablation removes the irreps the permutation modules span."""

    spanned: tuple[str, ...] = ()
    kind: ClassVar[str] = "cosets"

    @property
    def ablated_irreps(self) -> list[str]:
        return list(self.spanned)


def fit_coset_program(view: GroupView, logits: np.ndarray, data: Dataset, labels: list[str],
                      temperature: bool = True) -> CosetProgram:
    cat = catalogue(view.group)
    g = view.group
    chars = [cat.permutation_character(cat.by_label(lab).members[0]) for lab in labels]
    beta, scale = fit_class_functions(view, logits, data, chars, temperature)
    spanned = sorted({k for chi in chars for k, v in multiplicities(view, chi).items()
                      if v and k != view.names[0]}, key=view.names.index)
    return CosetProgram(g.name, g.element_order, list(labels), beta, scale,
                        [g.label(i) for i in range(g.order)],
                        [np.round(c, 12).tolist() for c in chars], tuple(spanned))


def program_record(view: GroupView, program: CosetProgram, logits: np.ndarray,
                   data: Dataset) -> dict:
    if not program.irreps:
        return {"subgroups": [], "why_none": "no operand part is coset-concentrated"}
    check = compare(view, program, logits, data)
    return {**asdict(check), "subgroups": program.irreps,
            "beta": [round(b, 9) for b in program.alpha], "scale": program.scale,
            "spanned_irreps": list(program.spanned)}


# ---- ablation in the coset basis --------------------------------------------------------------


def _removals(view: GroupView, parts: dict[str, np.ndarray], winners: dict, rng=None
              ) -> dict[str, np.ndarray]:
    """Per side, what to subtract from each neuron's part [m, n]: its component in the functions
    constant on its winning subgroup's cosets (centred: dimension [G:H] − 1), or, with `rng`, in a
    random subspace of the same dimension orthogonal to the constants."""
    cat = catalogue(view.group)
    n = view.group.order
    out = {}
    for side, f in parts.items():
        order = cat.right_coset_order if side == "left" else cat.left_coset_order
        delta = np.zeros_like(f)
        for i, s in winners[side]:
            g = f[i] - f[i].mean()
            h = len(cat.subgroups[s])
            if rng is None:
                means = g[order[s]].reshape(n // h, h).mean(1)
                delta[i, order[s]] = np.repeat(means, h)
            else:
                basis = rng.standard_normal((n, n // h - 1))
                basis -= basis.mean(0, keepdims=True)
                q, _ = np.linalg.qr(basis)
                delta[i] = q @ (q.T @ g)
        out[side] = delta
    return out


@torch.no_grad()
def _with_removed(model: HookedModel, data: Dataset, view: GroupView,
                  removal: dict[str, np.ndarray]) -> tuple[float, float]:
    """The network's (loss, accuracy) on all pairs with removal[left][:, a] + removal[right][:, b]
    subtracted from every pair's pre-activations (at the answer position)."""
    a_el = view.structure.sigma[data.pairs[:, 0]]
    b_el = view.structure.tau[data.pairs[:, 1]]
    shift = torch.as_tensor(removal["left"][:, a_el].T + removal["right"][:, b_el].T)

    def subtract(x: torch.Tensor, _name: str) -> torch.Tensor:
        x = x.clone()
        if x.dim() == 3:
            x[:, -1] -= shift.to(x.dtype)
        else:
            x -= shift.to(x.dtype)
        return x

    with model.hooks({pre_hook(model): subtract}):
        logits = model.logits(torch.as_tensor(data.pairs)).double().numpy()
    return scores(logits, data.labels)


def coset_ablation(model: HookedModel, data: Dataset, view: GroupView,
                   parts: dict[str, np.ndarray], winners: dict, seed: int = 0) -> dict | None:
    """Every concentrated part's coset component removed, against a rank-matched random
    subspace removed from the same parts (None when no part is concentrated)."""
    if not (winners["left"] or winners["right"]):
        return None
    cat = catalogue(view.group)
    rank = sum(view.group.order // len(cat.subgroups[s]) - 1 for side in winners
               for _, s in winners[side])
    out = {"parts": sum(len(v) for v in winners.values()), "rank": int(rank)}
    for name, rng in (("coset", None), ("random", np.random.default_rng(seed))):
        loss, acc = _with_removed(model, data, view, _removals(view, parts, winners, rng))
        out[name] = {"accuracy": acc, "loss": loss}
    return out


# ---- the activation experiment ---------------------------------------------------------------


@torch.no_grad()
def absolute_activation(model: HookedModel, data: Dataset, logits: np.ndarray | None = None
                        ) -> dict:
    """Accuracy and loss (all pairs, held out) with every neuron's activation replaced by |pre|,
    beside the network's (from `logits` [pairs, n] when given)."""
    stash = {}

    def keep(x: torch.Tensor, _name: str) -> torch.Tensor:
        stash["pre"] = x
        return x

    def absolute(x: torch.Tensor, _name: str) -> torch.Tensor:
        return stash["pre"].abs()

    pairs = torch.as_tensor(data.pairs)
    out = {}
    for name, hooks in (("network", {}), ("abs", {pre_hook(model): keep,
                                                  model.neuron_hook: absolute})):
        if name == "abs" or logits is None:
            with model.hooks(hooks):
                logits = model.logits(pairs).double().numpy()
        loss, acc = scores(logits, data.labels)
        test_loss, test_acc = scores(logits, data.labels, data.test_idx)
        out[name] = {"accuracy": acc, "loss": loss, "test_accuracy": test_acc,
                     "test_loss": test_loss}
    out["activation"] = model.cfg.act
    return out


# ---- the whole account ------------------------------------------------------------------------


def applies(view: GroupView | None, model: HookedModel) -> bool:
    """A one-layer network with neurons on a group small enough to catalogue, with subgroups
    to measure against (a group of prime order has none)."""
    return (view is not None and view.group.order <= MAX_CATALOGUE and model.cfg.d_mlp > 0
            and model.cfg.n_layers == 1 and len(catalogue(view.group).proper()) > 0)


def winning_labels(model: HookedModel, data: Dataset, view: GroupView) -> list[str]:
    """The coset program's terms: the winning subgroup classes, most concentrated parts first."""
    summary, _, _ = measure(view, operand_parts(model, data, view))
    return list(summary["winning_subgroups"])[:MAX_PROGRAM_TERMS]


def coset_analysis(model: HookedModel, data: Dataset, view: GroupView, logits: np.ndarray
                   ) -> CosetAnalysis:
    parts = operand_parts(model, data, view)
    summary, neurons, winners = measure(view, parts)
    labels = list(summary["winning_subgroups"])[:MAX_PROGRAM_TERMS]
    program = fit_coset_program(view, logits, data, labels)
    cat = catalogue(view.group)
    return CosetAnalysis(rule=RULE, subgroup_classes=cat.describe(), neurons=neurons,
                         dictionary=dictionary(view, list(summary["winning_subgroups"])),
                         program=program_record(view, program, logits, data),
                         activation=absolute_activation(model, data, logits),
                         ablation=coset_ablation(model, data, view, parts, winners), **summary)


def coset_progress(model: HookedModel, data: Dataset, view: GroupView) -> tuple[float, float]:
    """(fraction of concentrated parts, median min C) of the model's current weights."""
    cat = catalogue(view.group)
    subs = cat.proper()
    mins = []
    for side, f in operand_parts(model, data, view).items():
        live = _live(f)
        if live.any():
            mins.append(concentration(f[live], cat, side, subs).min(1))
    mins = np.concatenate(mins) if mins else np.array([])
    if not len(mins):
        return 0.0, float("nan")
    return float((mins < COSET_CONCENTRATED).mean()), float(np.median(mins))
