"""Prove (or refute) that a Program is the network's program: accuracy, agreement, substitution,
necessity, description length, and a declared verdict.

Verdict rule (RULE):
- `algorithmic`: the program is a clock or a pizza, >= 99% accurate on all pairs, agrees with the
  network on >= 99% of all pairs, and removing its frequencies' directions from the network's
  logits leaves the network <= 10% accurate (the network needs them);
- `memorizing`: the program is a lookup table, has no frequency, or the network agrees with it on
  <= 10% of the held-out pairs (its held-out answers do not come from the algorithm);
- `partial`: anything between (the algorithm is forming, or is one of several things at work).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.cyclic.frame import Frame
from groklab.rules import MEMORIZING_AGREEMENT, NECESSITY_ACC, RIGHT, cross_entropy
from groklab.rules import verdict as rule_verdict
from groklab.synth.program import Program

ALGORITHMIC_ACC = RIGHT
RULE = (f"algorithmic: a clock or pizza program, accuracy >= {ALGORITHMIC_ACC:.0%} on all pairs, "
        f"agreement >= {ALGORITHMIC_ACC:.0%}, network <= {NECESSITY_ACC:.0%} accurate without the "
        f"program's frequencies; memorizing: a lookup program, no frequency, or held-out agreement "
        f"<= {MEMORIZING_AGREEMENT:.0%}; partial otherwise")


@dataclass(frozen=True)
class Verification:
    """How well a Program stands in for its network (all figures over the task's pairs)."""

    program_accuracy: float
    program_test_accuracy: float
    agreement: float  # program answer == network answer, all pairs
    test_agreement: float
    network_accuracy: float
    network_test_accuracy: float
    program_train_loss: float  # cross-entropy of the training pairs under the program's logits
    network_train_loss: float
    scale: float  # the fitted temperature
    ablated_accuracy: float | None  # network accuracy without the program's wave directions
    n_constants: int  # the program's description length
    lookup_entries: int  # a lookup table of every pair
    verdict: str
    rule: str = RULE


def verdict(program: Program, acc: float, agreement: float, test_agreement: float,
            ablated: float | None) -> str:
    return rule_verdict(program.algorithm, bool(program.freqs), acc, agreement, test_agreement,
                        ablated)


def ablated_accuracy(frame: Frame, program: Program) -> float | None:
    """The network's accuracy on the regular pairs once its logits lose, per class, every component
    along the program's wave directions over the pairs: cos/sin(w_k x) and, for a pizza, the same
    times its magnitude profile M_k(δ)."""
    if not program.waves:
        return None
    rows = np.flatnonzero(frame.regular & frame.valid)
    if not len(rows):
        return None
    x, delta = frame.x[rows], frame.delta[rows]
    cols = [np.ones(len(rows))]
    for k in program.freqs:
        w = 2 * np.pi * k / frame.n
        cols += [np.cos(w * x), np.sin(w * x)]
        if program.profile is not None:
            m = np.abs(np.cos(w * delta / 2))
            cols += [m * np.cos(w * x), m * np.sin(w * x)]
    design = np.stack(cols, 1)
    logits = frame.logits[rows]
    coef = np.linalg.lstsq(design, logits, rcond=None)[0]
    residual = logits - design[:, 1:] @ coef[1:]  # the constant stays
    return float((residual.argmax(1) == frame.labels[rows]).mean())


def verify(program: Program, frame: Frame, necessity: bool = True) -> Verification:
    """Check `program` against the network of `frame` on every pair of the task."""
    valid, test = np.flatnonzero(frame.valid), np.flatnonzero(frame.test)
    train = np.flatnonzero(frame.valid & frame.train)
    a, b, labels, net = frame.a, frame.b, frame.labels, frame.network_answer
    prog = program.answer(a[valid], b[valid])
    answers = np.full(len(labels), -1)
    answers[valid] = prog
    acc = float((answers[valid] == labels[valid]).mean())
    test_acc = float((answers[test] == labels[test]).mean()) if len(test) else 0.0
    agreement = float((answers[valid] == net[valid]).mean())
    test_agreement = float((answers[test] == net[test]).mean()) if len(test) else 0.0
    prog_logits = program.logits(a[train], b[train])
    ablated = ablated_accuracy(frame, program) if necessity else None
    return Verification(
        acc, test_acc, agreement, test_agreement, float((net[valid] == labels[valid]).mean()),
        float((net[test] == labels[test]).mean()) if len(test) else 0.0,
        cross_entropy(prog_logits, labels[train]),
        cross_entropy(frame.logits[train], labels[train]), program.scale, ablated,
        program.n_constants, len(valid), verdict(program, acc, agreement, test_agreement, ablated))


def pct(x: float | None) -> str:
    """A share as a percentage for the terminal ("-" when there is none)."""
    return "-" if x is None else f"{x:.2%}"


class ProgramResult:
    """What every domain's extract result offers the CLI: the verdict of its verification and the
    terminal lines every program shares (the rest: `algorithm`, `key_set`, `summary_lines`)."""

    verification: Verification

    @property
    def verdict(self) -> str:
        return self.verification.verdict

    def check_lines(self) -> list[str]:
        v = self.verification
        return [f"  accuracy {pct(v.program_accuracy)} on all pairs, "
                f"{pct(v.program_test_accuracy)} held out",
                f"  agreement with the network {pct(v.agreement)} (held out "
                f"{pct(v.test_agreement)})"]
