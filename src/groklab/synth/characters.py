"""The character program of a group-composition network: fit, verify, emit.

Program (Chughtai et al. 2023): logit(c) = SCALE · Σ_{ρ∈K} α_ρ χ_ρ(a·b·c⁻¹) over the key irreps K.
α is the least-squares fit of the network's product component M[g, c] (analysis.representations),
centred per g, by the characters χ_ρ(g·c⁻¹); the temperature SCALE minimizes the training pairs'
cross-entropy (analysis.scale). Verified like the Fourier program (synth.verify's thresholds):
accuracy and agreement on all |G|² pairs, the network without its key irreps' product component
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

import numpy as np

from groklab.analysis.representations import GroupView, excluded_logits, product_component
from groklab.analysis.scale import best_scale
from groklab.synth.extract import cross_entropy
from groklab.synth.verify import ALGORITHMIC_ACC, MEMORIZING_AGREEMENT, NECESSITY_ACC
from groklab.tasks import Dataset

LOOKUP_AGREEMENT = 0.5
ALGORITHM_RULE = (f"characters: key irreps exist and their character program agrees with the "
                  f"network on >= {LOOKUP_AGREEMENT:.0%} of the held-out pairs; lookup otherwise")
VERDICT_RULE = (f"algorithmic: a characters program, accuracy >= {ALGORITHMIC_ACC:.0%} on all pairs, "
                f"agreement >= {ALGORITHMIC_ACC:.0%}, network <= {NECESSITY_ACC:.0%} accurate without "
                f"the key irreps' product component; memorizing: a lookup program or held-out "
                f"agreement <= {MEMORIZING_AGREEMENT:.0%}; partial otherwise")


@dataclass(frozen=True)
class CharacterProgram:
    group: str
    element_order: str
    irreps: list[str]
    alpha: list[float]
    scale: float
    elements: list[str]  # array forms, element i first
    characters: list[list[float]]  # [irrep][element]: χ_ρ(g)

    def logits(self, view: GroupView, a: np.ndarray, b: np.ndarray,
               drop: str | None = None) -> np.ndarray:  # [len(a), n]
        g = view.group
        ab = g.table[a, b]
        x = g.table[ab[:, None], g.inverse[None, :]]  # (a·b)·c⁻¹ for every class c
        out = np.zeros(x.shape)
        for name, alpha, chi in zip(self.irreps, self.alpha, self.characters):
            if name != drop:
                out += alpha * np.asarray(chi)[x]
        return self.scale * out

    def answer(self, view: GroupView, a: np.ndarray, b: np.ndarray,
               drop: str | None = None) -> np.ndarray:
        return self.logits(view, a, b, drop).argmax(1)


def fit_program(view: GroupView, logits: np.ndarray, data: Dataset, names: list[str],
                temperature: bool = True) -> CharacterProgram:
    g = view.group
    m = product_component(view, logits)
    m = m - m.mean(1, keepdims=True)
    gc = g.table[:, g.inverse]  # [g, c] -> g·c⁻¹
    chars = [view.irreps[view.index(k)].character for k in names]
    alpha = [0.0] * len(names)
    if names:
        design = np.stack([chi[gc].ravel() for chi in chars], 1)
        alpha = np.linalg.lstsq(design, m.ravel(), rcond=None)[0].tolist()
    unscaled = CharacterProgram(g.name, g.element_order, list(names), alpha, 1.0,
                                [g.label(i) for i in range(g.order)],
                                [np.round(c, 12).tolist() for c in chars])
    train = data.train_idx
    base = unscaled.logits(view, train // g.order, train % g.order) if temperature else None
    scale = 1.0
    if names and temperature:  # answers do not depend on it; the curve skips it
        scale = best_scale(lambda s: cross_entropy(s * base, data.labels[train]))
    return CharacterProgram(g.name, g.element_order, list(names), alpha, scale,
                            unscaled.elements, unscaled.characters)


def strict_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy counting a tie (the right logit not above every other by more than float noise)
    as wrong: logits left flat by an ablation answer nothing."""
    rows = np.arange(len(labels))
    right = logits[rows, labels]
    others = logits.copy()
    others[rows, labels] = -np.inf
    tol = 1e-6 * (np.abs(logits).max() + 1.0)
    return float((right - others.max(1) > tol).mean())


@dataclass(frozen=True)
class CharacterVerification:
    program_accuracy: float
    program_test_accuracy: float
    agreement: float
    test_agreement: float
    network_accuracy: float
    network_test_accuracy: float
    program_train_loss: float
    network_train_loss: float
    ablated_accuracy: float | None  # the network without its key irreps' product component
    necessity: dict[str, float] = field(default_factory=dict)  # program accuracy without each
    n_constants: int = 0
    lookup_entries: int = 0
    algorithm: str = "lookup"
    verdict: str = "memorizing"
    algorithm_rule: str = ALGORITHM_RULE
    rule: str = VERDICT_RULE


def verify_program(view: GroupView, program: CharacterProgram, logits: np.ndarray,
                   data: Dataset) -> CharacterVerification:
    n = view.group.order
    rows = np.arange(n * n)
    a, b = rows // n, rows % n
    labels, net = data.labels, logits.argmax(1)
    test, train = data.test_idx, data.train_idx
    answers = program.answer(view, a, b)
    acc = float((answers == labels).mean())
    test_acc = float((answers[test] == labels[test]).mean()) if len(test) else 0.0
    agreement = float((answers == net).mean())
    test_agreement = float((answers[test] == net[test]).mean()) if len(test) else 0.0
    ablated = None
    necessity = {}
    if program.irreps:
        ablated = strict_accuracy(excluded_logits(view, logits, program.irreps), labels)
        necessity = {k: float((program.answer(view, a, b, drop=k) == labels).mean())
                     for k in program.irreps}
    algorithm = "characters" if program.irreps and test_agreement >= LOOKUP_AGREEMENT else "lookup"
    if algorithm == "lookup" or test_agreement <= MEMORIZING_AGREEMENT:
        verdict = "memorizing"
    elif acc >= ALGORITHMIC_ACC and agreement >= ALGORITHMIC_ACC and ablated is not None \
            and ablated <= NECESSITY_ACC:
        verdict = "algorithmic"
    else:
        verdict = "partial"
    n_constants = sum(len(c) for c in program.characters) + len(program.alpha) + 1
    prog_logits = program.logits(view, train // n, train % n)
    return CharacterVerification(
        acc, test_acc, agreement, test_agreement, float((net == labels).mean()),
        float((net[test] == labels[test]).mean()) if len(test) else 0.0,
        cross_entropy(prog_logits, labels[train]), cross_entropy(logits[train], labels[train]),
        ablated, necessity, n_constants, n * n, algorithm, verdict)


_TEMPLATE = '''"""The character program extracted by groklab from a network trained on composition in a group.

Group composition via representations (Chughtai, Chan & Nanda 2023): for a few key irreducible
representations rho of the group, the network computes rho(a) rho(b) = rho(a.b) and reads the answer
out as logit(c) = SCALE * sum_rho ALPHA[rho] * chi_rho(a.b.c^-1); the character chi_rho is largest at
the identity, so the right c interferes constructively.

Elements are permutations in array form (ELEMENTS[i][j] is where element i sends point j);
a.b means "apply a first, then b". Usage: python program.py A B, with A and B element indices or
array forms (e.g. 01423); or: from program import answer, logits.
"""

import sys

import numpy as np

PROVENANCE = {provenance}
GROUP = {group}
IRREPS = {irreps}
ALPHA = {alpha}
SCALE = {scale}
ELEMENTS = np.array({elements})
CHARACTERS = np.array({characters}).reshape(len(IRREPS), len(ELEMENTS))
_INDEX = {{tuple(p): i for i, p in enumerate(ELEMENTS.tolist())}}


def compose(a, b):
    """The index of a.b: apply a first, then b."""
    return _INDEX[tuple(ELEMENTS[b][ELEMENTS[a]].tolist())]


def inverse(a):
    return _INDEX[tuple(np.argsort(ELEMENTS[a]).tolist())]


def logits(a, b):
    """SCALE * sum_rho ALPHA[rho] chi_rho(a.b.c^-1) for every element c."""
    ab = compose(a, b)
    x = [compose(ab, inverse(c)) for c in range(len(ELEMENTS))]
    return SCALE * (np.asarray(ALPHA) @ CHARACTERS[:, x])


def answer(a, b):
    return int(np.argmax(logits(a, b)))


def _element(text):
    text = text.strip()
    digits = text.split(",") if "," in text else list(text)
    if len(digits) == ELEMENTS.shape[1] and all(d.isdigit() for d in digits):
        form = tuple(int(d) for d in digits)
        if form in _INDEX:
            return _INDEX[form]
    if text.isdigit() and int(text) < len(ELEMENTS):
        return int(text)
    sys.exit(f"{{text!r}} is not an element of {{GROUP}}: give an index 0..{{len(ELEMENTS) - 1}} "
             f"or an array form of {{ELEMENTS.shape[1]}} points")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python program.py A B  (element indices or array forms)")
    a, b = _element(sys.argv[1]), _element(sys.argv[2])
    c = answer(a, b)
    form = ("" if ELEMENTS.shape[1] <= 10 else ",").join(map(str, ELEMENTS[c]))
    print(c, form)
'''


_LOOKUP_TEMPLATE = '''"""A lookup table extracted by groklab: the network's answers on its training pairs, nothing else.

The network did not compute composition in {{GROUP}} by characters (held-out agreement with the
character program was too low): it memorized. The table has no answer for any other pair.
Usage: python program.py A B (element indices); exit status 1 when the pair is not in the table.
"""

import sys

PROVENANCE = {provenance}
GROUP = {group}
TABLE = {table}


def answer(a, b):
    return TABLE.get((a, b))


if __name__ == "__main__":
    if len(sys.argv) != 3 or not all(x.isdigit() for x in sys.argv[1:]):
        sys.exit("usage: python program.py A B  (element indices)")
    c = answer(int(sys.argv[1]), int(sys.argv[2]))
    if c is None:
        sys.exit("no answer: the network memorized its training pairs and this is not one")
    print(c)
'''


def emit_lookup(group: str, pairs: np.ndarray, answers: np.ndarray, provenance: dict) -> str:
    """The memorizer's program: its answers on the training pairs as a table."""
    table = {(int(a), int(b)): int(c) for (a, b), c in zip(pairs, answers)}
    return _LOOKUP_TEMPLATE.format(provenance=repr({str(k): str(v) for k, v in provenance.items()}),
                                   group=repr(group), table=repr(table))


def emit_program(program: CharacterProgram, view: GroupView, provenance: dict) -> str:
    """A standalone numpy program; every value written as a Python literal (repr)."""
    perms = view.group.perms.tolist()
    chars = [float(x) for row in program.characters for x in row]
    return _TEMPLATE.format(
        provenance=repr({str(k): str(v) for k, v in provenance.items()}),
        group=repr(program.group), irreps=repr(tuple(program.irreps)),
        alpha=repr(tuple(float(x) for x in program.alpha)), scale=repr(float(program.scale)),
        elements=repr(perms), characters=repr(chars))


def program_terms(view: GroupView, irreps: list[str], alpha: list[float], a: int, b: int) -> dict:
    """Each key irrep's term α_ρ χ_ρ(a·b·c⁻¹) over every class c, and their sum (for the report)."""
    g = view.group
    x = g.table[g.table[a, b], g.inverse]
    terms = {k: (al * view.irreps[view.index(k)].character[x]).round(6).tolist()
             for k, al in zip(irreps, alpha)}
    total = np.sum([np.asarray(v) for v in terms.values()], axis=0) if terms else np.zeros(g.order)
    return {"a": g.label(a), "b": g.label(b), "answer": int(g.table[a, b]), "terms": terms,
            "total": np.round(total, 6).tolist()}
