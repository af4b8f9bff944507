"""Prove (or refute) that a Program is the network's program: accuracy, agreement, substitution,
necessity, description length, and a declared verdict.

Verdict rule (RULE, rules.verdict): different_function, memorizing / unfitted, algorithmic,
partial, judged on what the program shares with the network (analysis.evidence), never on the
program's accuracy alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.cyclic.frame import Frame
from groklab.analysis.evidence import evidence
from groklab.rules import MEMORIZING_AGREEMENT, NECESSITY_ACC, RIGHT, cross_entropy
from groklab.rules import verdict as rule_verdict
from groklab.rules import verdict_rule
from groklab.synth.program import Program

ALGORITHMIC_ACC = RIGHT
RULE = verdict_rule("clock or pizza", "the program's frequencies")


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
    network_train_accuracy: float = 1.0
    evidence: dict | None = None  # analysis.evidence: what the program shares with the network


def verdict(program: Program, acc: float, agreement: float, test_agreement: float,
            ablated: float | None, train_fit: float, fve: float) -> str:
    return rule_verdict(program.algorithm, bool(program.freqs), acc, agreement, test_agreement,
                        ablated, train_fit, fve)


def ablated_accuracy(frame: Frame, program: Program) -> float | None:
    """The network's accuracy on the regular pairs once its logits lose, per class, every component
    along the program's wave directions over the pairs: cos/sin(w_k x) and, for a pizza, the same
    times its magnitude profile M_k(δ)."""
    out = ablated_logits(frame, program)
    return None if out is None else float((out[1].argmax(1) == frame.labels[out[0]]).mean())


def ablated_logits(frame: Frame, program: Program) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, the network's logits on those regular pairs without the program's wave directions)."""
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
    return rows, logits - design[:, 1:] @ coef[1:]  # the constant stays


def substitution(frame: Frame, program: Program, rows: np.ndarray,
                 ablated: tuple | None) -> np.ndarray | None:
    """The network's logits on `rows` with the program standing in for its wave directions (the
    regular pairs; elsewhere the network's own)."""
    if ablated is None:
        return None
    sub = frame.logits[rows].astype(float).copy()
    where = np.full(len(frame.labels), -1)
    where[rows] = np.arange(len(rows))
    reg, residual = ablated
    sub[where[reg]] = residual + program.logits(frame.a[reg], frame.b[reg])
    return sub


def verify(program: Program, frame: Frame, necessity: bool = True,
           fit_kl: bool = True) -> Verification:
    """Check `program` against the network of `frame` on every pair of the task (`fit_kl`: fit
    the evidence's held-out KL temperature and substitute the program; the curve skips both)."""
    valid, test = np.flatnonzero(frame.valid), np.flatnonzero(frame.test)
    train = np.flatnonzero(frame.valid & frame.train)
    a, b, labels, net = frame.a, frame.b, frame.labels, frame.network_answer
    prog_all = program.logits(a[valid], b[valid])
    prog = program.answer(a[valid], b[valid])
    answers = np.full(len(labels), -1)
    answers[valid] = prog
    acc = float((answers[valid] == labels[valid]).mean())
    test_acc = float((answers[test] == labels[test]).mean()) if len(test) else 0.0
    agreement = float((answers[valid] == net[valid]).mean())
    test_agreement = float((answers[test] == net[test]).mean()) if len(test) else 0.0
    train_fit = float((net[train] == labels[train]).mean()) if len(train) else 0.0
    prog_logits = program.logits(a[train], b[train])
    cut = ablated_logits(frame, program) if necessity else None
    ablated = None if cut is None else float((cut[1].argmax(1) == labels[cut[0]]).mean())
    held, fit_rows = np.flatnonzero(frame.test[valid]), np.flatnonzero(frame.train[valid])
    held = held if fit_kl else held[:0]  # the curve: agreement and FVE only
    ev = evidence(frame.logits[valid], prog_all, labels[valid], held,
                  substitution(frame, program, valid, cut) if fit_kl else None,
                  fit_rows if fit_kl else None)
    return Verification(
        acc, test_acc, agreement, test_agreement, float((net[valid] == labels[valid]).mean()),
        float((net[test] == labels[test]).mean()) if len(test) else 0.0,
        cross_entropy(prog_logits, labels[train]),
        cross_entropy(frame.logits[train], labels[train]), program.scale, ablated,
        program.n_constants, len(valid),
        verdict(program, acc, agreement, test_agreement, ablated, train_fit, ev.logit_fve),
        network_train_accuracy=train_fit, evidence=ev.to_dict())


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
        lines = [f"  accuracy on the task {pct(v.program_accuracy)} on all pairs, "
                 f"{pct(v.program_test_accuracy)} held out (not evidence on its own)",
                 f"  agreement with the network {pct(v.agreement)} (held out "
                 f"{pct(v.test_agreement)})"]
        ev = v.evidence
        if ev:
            kl = "-" if ev["heldout_kl"] is None else f"{ev['heldout_kl']:.3g}"
            sub = "-" if ev["substitution_loss"] is None else f"{ev['substitution_loss']:.3g}"
            net = "-" if ev["network_loss"] is None else f"{ev['network_loss']:.3g}"
            lines.append(f"  evidence: logit FVE {ev['logit_fve']:.3f}, held-out KL {kl} nats, "
                         f"agreement on the network's errors "
                         f"{pct(ev['agreement_on_network_errors'])}, loss with the program "
                         f"substituted {sub} vs the network's {net}; "
                         f"explains the network: {'yes' if ev['explains'] else 'no'}")
        return lines
