"""The character program verified (the verdict, with synth.verify's thresholds) and written as a
standalone numpy program.py (or, for a memorizer, its lookup table).

The program, its fit and its comparison with the network live in analysis.characters. Every value
is written as a Python literal (repr), never spliced into code or docstrings.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from groklab.analysis.group.characters import CharacterProgram, Comparison, compare
from groklab.analysis.group.representations import GroupView
from groklab.rules import MEMORIZING_AGREEMENT, NECESSITY_ACC, cross_entropy
from groklab.rules import RIGHT as ALGORITHMIC_ACC
from groklab.rules import verdict as rule_verdict
from groklab.rules import verdict_rule
from groklab.tasks import Dataset

VERDICT_RULE = verdict_rule("characters", "the key irreps' product component")


@dataclass(frozen=True)
class CharacterVerification(Comparison):
    """The comparison, the substitution (train cross-entropies), the description length and the
    verdict (VERDICT_RULE)."""

    program_train_loss: float = 0.0
    network_train_loss: float = 0.0
    n_constants: int = 0
    lookup_entries: int = 0
    verdict: str = "memorizing"
    rule: str = VERDICT_RULE


def verdict(c: Comparison) -> str:
    fve = (c.evidence or {}).get("logit_fve", 0.0)
    return rule_verdict(c.algorithm, c.algorithm != "lookup", c.program_accuracy, c.agreement,
                        c.test_agreement, c.ablated_accuracy, c.network_train_accuracy, fve)


def verify_program(view: GroupView, program: CharacterProgram, logits: np.ndarray,
                   data: Dataset, fit_kl: bool = True) -> CharacterVerification:
    c = compare(view, program, logits, data, fit_kl)
    n, train = view.group.order, data.train_idx
    prog_logits = program.logits(view, view.pair_product[train])
    n_constants = sum(len(ch) for ch in program.characters) + len(program.alpha) + 1
    return CharacterVerification(
        **c.__dict__, program_train_loss=cross_entropy(prog_logits, data.labels[train]),
        network_train_loss=cross_entropy(logits[train], data.labels[train]),
        n_constants=n_constants, lookup_entries=n * n, verdict=verdict(c),
        rule=VERDICT_RULE if program.kind == "characters" else
        verdict_rule(program.kind, "the irreps its permutation characters span"))


_CHARACTERS_DOC = """The character program extracted by groklab from a network trained on composition in a group.

Group composition via representations (Chughtai, Chan & Nanda 2023): for a few key irreducible
representations rho of the group, the network computes rho(a) rho(b) = rho(a.b) and reads the answer
out as logit(c) = SCALE * sum_rho ALPHA[rho] * chi_rho(a.b.c^-1); the character chi_rho is largest at
the identity, so the right c interferes constructively."""

_COSETS_DOC = """The coset program extracted by groklab from a network trained on composition in a group.

Group multiplication with cosets (Stander, Yu, Fan & Biderman 2024): for a few subgroups H (IRREPS
holds their class labels), logit(c) = SCALE * sum_H ALPHA[H] * chi_H(a.b.c^-1), where chi_H(g) is the
number of cosets xH that g fixes (the permutation character of G on G/H): the cosets that a.b and c
share. It is largest at the identity, so the right c interferes constructively."""

_TEMPLATE = '''"""{doc}

Elements are permutations in array form (ELEMENTS[i][j] is where element i sends point j);
a.b means "apply a first, then b". The network reads tokens: token a stands for element SIGMA[a]
and token b for TAU[b] (the identity unless its inputs were renamed); answers are elements.
Usage: python program.py A B, with A and B tokens or array forms (e.g. 01423); or: from program
import answer, logits.
"""

import sys

import numpy as np

PROVENANCE = {provenance}
GROUP = {group}
IRREPS = {irreps}
ALPHA = {alpha}
SCALE = {scale}
ELEMENTS = np.array({elements})
SIGMA = {sigma}
TAU = {tau}
CHARACTERS = np.array({characters}).reshape(len(IRREPS), len(ELEMENTS))
_INDEX = {{tuple(p): i for i, p in enumerate(ELEMENTS.tolist())}}


def compose(a, b):
    """The index of a.b: apply a first, then b."""
    return _INDEX[tuple(ELEMENTS[b][ELEMENTS[a]].tolist())]


def inverse(a):
    return _INDEX[tuple(np.argsort(ELEMENTS[a]).tolist())]


def logits(a, b):
    """SCALE * sum_rho ALPHA[rho] chi_rho(a.b.c^-1) for every element c (a, b tokens)."""
    ab = compose(SIGMA[a], TAU[b])
    x = [compose(ab, inverse(c)) for c in range(len(ELEMENTS))]
    return SCALE * (np.asarray(ALPHA) @ CHARACTERS[:, x])


def answer(a, b):
    return int(np.argmax(logits(a, b)))


def _number(text):
    return text.isascii() and text.isdigit()


def _element(text):
    """An index (17) or an array form (01423, or 0,1,4,2,3 past 10 points), as groklab reads them."""
    text = text.strip()
    degree = ELEMENTS.shape[1]
    if _number(text) and (len(text) != degree or degree > 10) and int(text) < len(ELEMENTS):
        return int(text)
    digits = [d.strip() for d in text.split(",")] if "," in text else list(text)
    if len(digits) == degree and all(_number(d) for d in digits):
        form = tuple(int(d) for d in digits)
        if form in _INDEX:
            return _INDEX[form]
    sys.exit(f"{{text!r}} is not an element of {{GROUP}}: give an index 0..{{len(ELEMENTS) - 1}} "
             f"or an array form of {{degree}} points")


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
    if len(sys.argv) != 3 or not all(x.isascii() and x.isdigit() for x in sys.argv[1:]):
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
    doc = _COSETS_DOC if program.kind == "cosets" else _CHARACTERS_DOC
    return _TEMPLATE.format(
        doc=doc, provenance=repr({str(k): str(v) for k, v in provenance.items()}),
        group=repr(program.group), irreps=repr(tuple(program.irreps)),
        alpha=repr(tuple(float(x) for x in program.alpha)), scale=repr(float(program.scale)),
        elements=repr(perms), characters=repr(chars),
        sigma=repr(view.structure.sigma.tolist()), tau=repr(view.structure.tau.tolist()))
