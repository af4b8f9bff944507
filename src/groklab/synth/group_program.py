"""The group domain's program of one model: the character program (or, for a memorizer, a lookup
table), verified and emitted as program.py; one curve point per checkpoint (final key irreps).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from groklab.analysis.group.characters import CharacterProgram, fit_program, program_terms
from groklab.analysis.group.representations import choose_key_irreps, model_logits, scores, view_of
from groklab.models import HookedModel
from groklab.rules import RIGHT
from groklab.store import to_jsonable
from groklab.synth.group_verify import (CharacterVerification, emit_lookup, emit_program,
                                      verify_program)
from groklab.synth.verify import ProgramResult, pct
from groklab.tasks import Dataset


@dataclass
class GroupExtractResult(ProgramResult):
    source: dict
    program: CharacterProgram
    verification: CharacterVerification
    source_code: str
    emitted_accuracy: float  # of program.py over all pairs (a lookup table answers only its own)
    terms: dict | None = None  # the program's terms for one held-out pair (characters only)
    curve: list[dict] | None = None  # per checkpoint: epoch, accuracy, agreement, verdict
    first_correct_epoch: int | None = None
    grokked_epoch: int | None = None

    @property
    def algorithm(self) -> str:
        return self.verification.algorithm

    @property
    def key_set(self) -> list:
        """The program's key irreps."""
        return list(self.program.irreps)

    def summary_lines(self) -> list[str]:
        """The terminal summary."""
        v, prog = self.verification, self.program
        lines = [
            f"algorithm: {v.algorithm}   verdict: {v.verdict}   ({v.rule})",
            f"program: logit(c) = {prog.scale:.3g} * sum over {list(prog.irreps)} of alpha * "
            f"chi(a.b.c^-1), alpha {[round(a, 4) for a in prog.alpha]} ({prog.group})",
            *self.check_lines(),
            f"  substitution: train cross-entropy {v.program_train_loss:.3g} (program) vs "
            f"{v.network_train_loss:.3g} (network)",
            f"  necessity: network accuracy without the key irreps' product component "
            f"{pct(v.ablated_accuracy)}; program accuracy without each irrep: "
            + ", ".join(f"{k} {pct(a)}" for k, a in v.necessity.items()),
            f"  description: {v.n_constants} constants vs {v.lookup_entries} lookup-table entries",
        ]
        if self.curve:
            lines.append(f"over {len(self.curve)} checkpoints: program first right on all pairs "
                         f"(and >= 99% held-out agreement) at epoch {self.first_correct_epoch}; "
                         f"network grokked at epoch {self.grokked_epoch}")
        return lines

    def to_dict(self) -> dict:
        d = to_jsonable(dataclasses.asdict(self))
        d["program"].pop("elements")
        d["program"].pop("characters")
        return {"verdict": self.verdict, "algorithm": self.algorithm,
                "key_irreps": list(self.program.irreps),
                "program_accuracy": self.emitted_accuracy,
                "agreement": self.verification.agreement, "group": self.program.group, **d}


def extract_group_model(model: HookedModel, data: Dataset, source: dict) -> GroupExtractResult:
    model.eval()
    view = view_of(data)
    logits, _ = model_logits(model, data)
    _, acc = scores(logits, data.labels)
    keys = choose_key_irreps(view, logits, data.labels, acc)
    program = fit_program(view, logits, data, keys.names)
    check = verify_program(view, program, logits, data)
    header = {**{k: v for k, v in source.items() if v is not None}, "algorithm": check.algorithm,
              "verdict": check.verdict, "accuracy_all_pairs": round(check.program_accuracy, 6),
              "agreement_with_network": round(check.agreement, 6)}
    if check.algorithm == "lookup":
        n = view.group.order
        train = data.train_idx
        pairs = list(zip(train // n, train % n))
        answers = logits[train].argmax(1)
        code = emit_lookup(view.group.name, pairs, answers, header)
        emitted = float((answers == data.labels[train]).sum()) / (n * n)
    else:
        code = emit_program(program, view, header)
        emitted = check.program_accuracy
    return GroupExtractResult(source=source, program=program, verification=check,
                              source_code=code, emitted_accuracy=emitted,
                              terms=_example_terms(view, program, data, check.algorithm))


def _example_terms(view, program: CharacterProgram, data: Dataset, algorithm: str) -> dict | None:
    """The character program's terms for one held-out pair (drawn in the report), None without a
    characters program."""
    if not program.irreps or algorithm != "characters":
        return None
    n = view.group.order
    row = int(data.test_idx[len(data.test_idx) // 2]) if len(data.test_idx) else 0
    return program_terms(view, list(program.irreps), list(program.alpha), row // n, row % n)


def curve_point(model: HookedModel, data: Dataset, names: list[str], epoch: int) -> dict:
    """The character program on the final key irreps at one checkpoint, against the network."""
    view = view_of(data)
    logits, _ = model_logits(model, data)
    check = verify_program(view, fit_program(view, logits, data, names, temperature=False),
                           logits, data)
    return {"epoch": epoch, "program_accuracy": check.program_accuracy,
            "agreement": check.agreement, "test_agreement": check.test_agreement,
            "network_test_accuracy": check.network_test_accuracy, "verdict": check.verdict}


def first_correct(points: list[dict]) -> int | None:
    return next((p["epoch"] for p in points if p["program_accuracy"] == 1.0
                 and p["test_agreement"] >= RIGHT), None)
