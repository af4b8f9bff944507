"""The character program of a group-composition network: the program, its fit, and how it stands
against the network (synth.group_verify gives the verdict and writes program.py).

Program (Chughtai et al. 2023): logit(c) = SCALE · Σ_{ρ∈K} α_ρ χ_ρ(a·b·c⁻¹) over the key irreps K.
α is the least-squares fit of the network's product component M[g, c] (analysis.representations),
centred per g, by the characters χ_ρ(g·c⁻¹); the temperature SCALE minimizes the training pairs'
cross-entropy (analysis.scale). `compare` measures it against the network: accuracy and agreement
on all |G|² pairs and held out, the network without its key irreps' product component
(`ablated_accuracy`), and per irrep the program's accuracy without that irrep's term.

Algorithm (ALGORITHM_RULE): `characters` when there are key irreps and the program agrees with the
network on at least LOOKUP_AGREEMENT of the held-out pairs; otherwise `lookup` (the network's
answers are a table, nothing more). Accuracy alone cannot decide: the product component averages
each class's logit over the |G| pairs with the same product, so a memorizer that is right on its
training pairs yields, over all irreps, a program that is right everywhere; only agreement on the
pairs the network never saw tells whether the network computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from groklab.analysis.evidence import evidence
from groklab.analysis.group.representations import GroupView, excluded_logits, product_component, scores
from groklab.analysis.scale import best_scale
from groklab.rules import LOOKUP_AGREEMENT
from groklab.tasks import Dataset

ALGORITHM_RULE = (f"characters: key irreps exist and their character program agrees with the "
                  f"network on >= {LOOKUP_AGREEMENT:.0%} of the held-out pairs; lookup otherwise")

@dataclass(frozen=True)
class CharacterProgram:
    kind: ClassVar[str] = "characters"  # the algorithm's name when the network computes it
    group: str
    element_order: str
    irreps: list[str]
    alpha: list[float]
    scale: float
    elements: list[str]  # array forms, element i first
    characters: list[list[float]]  # [irrep][element]: χ_ρ(g)

    def logits(self, view: GroupView, ab: np.ndarray,
               drop: str | None = None) -> np.ndarray:  # [len(ab), n]
        """The program's logits for pairs whose product is `ab` (view.pair_product of their rows)."""
        g = view.group
        x = g.table[:, g.inverse]  # [g, c] -> g·c⁻¹: the logits depend on a·b only
        table = np.zeros(x.shape)
        for name, alpha, chi in zip(self.irreps, self.alpha, self.characters):
            if name != drop:
                table += alpha * np.asarray(chi)[x]
        return self.scale * table[ab]

    def answer(self, view: GroupView, ab: np.ndarray, drop: str | None = None) -> np.ndarray:
        return self.logits(view, ab, drop).argmax(1)

    @property
    def ablated_irreps(self) -> list[str]:
        """The irreps whose product component the program claims (removed in the ablation)."""
        return list(self.irreps)


def fit_class_functions(view: GroupView, logits: np.ndarray, data: Dataset,
                        chars: list[np.ndarray], temperature: bool = True
                        ) -> tuple[list[float], float]:
    """(α, SCALE) of logit(c) = SCALE · Σ α χ(a·b·c⁻¹) for class functions χ [n]: α by least
    squares of the product component M[g, c] centred per g on the χ(g·c⁻¹) centred over c (a
    non-trivial irreducible character already is; a permutation character holds the trivial
    irrep), SCALE minimizing the training pairs' cross-entropy (1 without `temperature`: the
    answers do not depend on it and the curve skips it)."""
    if not chars:
        return [], 1.0
    g = view.group
    m = product_component(view, logits)
    m = m - m.mean(1, keepdims=True)
    gc = g.table[:, g.inverse]  # [g, c] -> g·c⁻¹
    design = np.stack([chi[gc] - chi[gc].mean(1, keepdims=True) for chi in chars], 2)
    alpha = np.linalg.lstsq(design.reshape(-1, len(chars)), m.ravel(), rcond=None)[0]
    if not temperature:
        return alpha.tolist(), 1.0
    train = data.train_idx
    base = (np.stack(chars, 1)[gc] @ alpha)[view.pair_product[train]]  # [train, n]
    return alpha.tolist(), best_scale(lambda s: scores(s * base, data.labels[train])[0])


def fit_program(view: GroupView, logits: np.ndarray, data: Dataset, names: list[str],
                temperature: bool = True) -> CharacterProgram:
    g = view.group
    chars = [view.irreps[view.index(k)].character for k in names]
    alpha, scale = fit_class_functions(view, logits, data, chars, temperature)
    return CharacterProgram(g.name, g.element_order, list(names), alpha, scale,
                            [g.label(i) for i in range(g.order)],
                            [np.round(c, 12).tolist() for c in chars])


FLAT = 1e-4  # a margin below this x the original logits' spread is float noise (float32 weights)


def strict_accuracy(logits: np.ndarray, labels: np.ndarray, spread: float = 0.0) -> float:
    """Accuracy counting a tie (the right logit not above every other by more than float noise:
    FLAT x `spread`, the original logits' standard deviation, or 1e-6 x their largest value) as
    wrong: logits left flat by an ablation answer nothing."""
    rows = np.arange(len(labels))
    right = logits[rows, labels]
    others = logits.copy()
    others[rows, labels] = -np.inf
    tol = max(1e-6 * (np.abs(logits).max() + 1.0), FLAT * spread)
    return float((right - others.max(1) > tol).mean())


@dataclass(frozen=True)
class Comparison:
    """How a CharacterProgram stands against its network (all |G|² pairs unless said)."""

    program_accuracy: float
    program_test_accuracy: float
    agreement: float
    test_agreement: float
    network_accuracy: float
    network_test_accuracy: float
    ablated_accuracy: float | None  # the network without its key irreps' product component
    necessity: dict[str, float] = field(default_factory=dict)  # program accuracy without each
    algorithm: str = "lookup"
    algorithm_rule: str = ALGORITHM_RULE
    network_train_accuracy: float = 0.0
    evidence: dict | None = None  # analysis.evidence: what the program shares with the network


def compare(view: GroupView, program: CharacterProgram, logits: np.ndarray,
            data: Dataset, fit_kl: bool = True) -> Comparison:
    """`fit_kl`: fit the held-out KL's temperature (False: at the program's own, for the curve)."""
    ab = view.pair_product
    labels, net, test = data.labels, logits.argmax(1), data.test_idx
    prog_logits = program.logits(view, ab)
    answers = prog_logits.argmax(1)
    held = (lambda x: float(x[test].mean()) if len(test) else 0.0)  # noqa: E731
    right, agree = answers == labels, answers == net
    ablated, necessity, substituted = None, {}, None
    if program.irreps:
        excluded = excluded_logits(view, logits, program.ablated_irreps)
        ablated = strict_accuracy(excluded, labels, float(logits.std()))
        substituted = excluded + prog_logits
        necessity = {k: float((program.answer(view, ab, drop=k) == labels).mean())
                     for k in program.irreps}
    test_agreement = held(agree)
    algorithm = program.kind if program.irreps and test_agreement >= LOOKUP_AGREEMENT else "lookup"
    train = data.train_idx
    fit = float((net[train] == labels[train]).mean()) if len(train) else 0.0
    ev = evidence(logits, prog_logits, labels, test if fit_kl else test[:0],
                  substituted if fit_kl else None, train if fit_kl else None)
    return Comparison(float(right.mean()), held(right), float(agree.mean()), test_agreement,
                      float((net == labels).mean()), held(net == labels), ablated, necessity,
                      algorithm, network_train_accuracy=fit, evidence=ev.to_dict())


def program_terms(view: GroupView, irreps: list[str], alpha: list[float], a: int, b: int) -> dict:
    """Each key irrep's term α_ρ χ_ρ(a·b·c⁻¹) over every class c, and their sum (for the report);
    a and b are tokens."""
    g = view.group
    ab = int(view.product(np.array([a]), np.array([b]))[0])
    x = g.table[ab, g.inverse]
    terms = {k: (al * view.irreps[view.index(k)].character[x]).round(6).tolist()
             for k, al in zip(irreps, alpha)}
    total = np.sum([np.asarray(v) for v in terms.values()], axis=0) if terms else np.zeros(g.order)
    return {"a": g.label(int(view.structure.sigma[a])), "b": g.label(int(view.structure.tau[b])),
            "answer": ab, "terms": terms,
            "total": np.round(total, 6).tolist()}
