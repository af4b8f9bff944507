"""Prove (or refute) that a Program is the network's program: accuracy, agreement, substitution,
necessity, description length, and a declared verdict.

Verdict rule:
- `algorithmic`: at least one key frequency, the program is >= 99% accurate on all pairs, it agrees
  with the network on >= 99% of all pairs, and removing its frequencies from the network's logits
  leaves the network <= 10% accurate (the network needs them);
- `memorizing`: no key frequency, or the network agrees with the program on <= 10% of the held-out
  pairs (its held-out answers do not come from the algorithm);
- `partial`: anything between (the algorithm is forming, or is one of several things at work).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.ablations import embed_without
from groklab.analysis.logits import excluded
from groklab.analysis.probe import Probe
from groklab.synth.extract import cross_entropy
from groklab.synth.program import Program

ALGORITHMIC_ACC = 0.99
NECESSITY_ACC = 0.10
MEMORIZING_AGREEMENT = 0.10
RULE = ("algorithmic: >= 1 key frequency, program accuracy >= 99% on all pairs, agreement >= 99%, "
        "network <= 10% accurate without the program's frequencies; memorizing: no key frequency "
        "or held-out agreement <= 10%; partial otherwise")


@dataclass(frozen=True)
class Verification:
    """How well a Program stands in for its network."""

    program_accuracy: float  # all pairs
    program_test_accuracy: float
    agreement: float  # program answer == network answer, all pairs
    test_agreement: float
    network_accuracy: float
    network_test_accuracy: float
    program_train_loss: float  # cross-entropy of the training pairs under the program's logits
    network_train_loss: float
    scale: float  # the fitted temperature
    ablated_accuracy: float | None  # network accuracy without the program's frequencies (logits)
    ablated_embed_accuracy: float | None  # ... with them removed from W_E instead
    n_constants: int
    lookup_entries: int  # a lookup table's entries: one per pair
    verdict: str
    rule: str = RULE


def verdict(program: Program, acc: float, agreement: float, test_agreement: float,
            ablated: float | None) -> str:
    if not program.freqs or test_agreement <= MEMORIZING_AGREEMENT:
        return "memorizing"
    if acc >= ALGORITHMIC_ACC and agreement >= ALGORITHMIC_ACC and ablated is not None \
            and ablated <= NECESSITY_ACC:
        return "algorithmic"
    return "partial"


def _without_freqs(probe: Probe, grid_logits: np.ndarray, freqs) -> float:
    _, acc = probe.grid_scores(excluded(grid_logits, probe.coords, freqs))
    return acc


def verify(program: Program, probe: Probe, network_logits=None, grid_logits=None,
           deep: bool = True) -> Verification:
    """Check `program` against probe.model on every pair of the task. `deep` adds the
    embedding ablation (a second forward pass)."""
    data = probe.data
    logits = (probe.all_logits() if network_logits is None else network_logits).numpy()
    net = logits.argmax(-1)
    prog = program.answer(data.pairs[:, 0], data.pairs[:, 1])
    labels, test, train = data.labels, data.test_idx, data.train_idx
    acc, test_acc = float((prog == labels).mean()), float((prog[test] == labels[test]).mean())
    agreement, test_agreement = float((prog == net).mean()), float((prog[test] == net[test]).mean())
    prog_logits = program.logits(data.pairs[train, 0], data.pairs[train, 1])
    ablated = embed_ablated = None
    if program.freqs:
        grid = probe.grid_logits() if grid_logits is None else grid_logits
        ablated = _without_freqs(probe, grid, program.freqs)
        if deep:
            embed_ablated = probe.grid_scores(embed_without(probe, program.freqs))[1]
    return Verification(
        acc, test_acc, agreement, test_agreement, float((net == labels).mean()),
        float((net[test] == labels[test]).mean()),
        cross_entropy(prog_logits, labels[train]),
        cross_entropy(logits[train].astype(np.float64), labels[train]), program.scale,
        ablated, embed_ablated, program.n_constants, len(labels),
        verdict(program, acc, agreement, test_agreement, ablated))
