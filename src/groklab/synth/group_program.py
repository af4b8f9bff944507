"""The group domain's program of one model: the character program (or, for a memorizer, a lookup
table), verified and emitted as program.py; one curve point per checkpoint (final key irreps).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from groklab.analysis.evidence import EXPLAIN_RULE
from groklab.analysis.group.characters import CharacterProgram, fit_program, program_terms
from groklab.analysis.group.representations import choose_key_irreps, model_logits, scores, view_of
from groklab.analysis.group.cosets import applies, fit_coset_program, winning_labels
from groklab.errors import GroklabError
from groklab.groups.subgroups import MAX_CATALOGUE
from groklab.models import HookedModel
from groklab.rules import LOOKUP_MAX_TEST_ACC, RIGHT
from groklab.rules import verdict as rule_verdict
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
            f"program ({prog.kind}): logit(c) = {prog.scale:.3g} * sum over {list(prog.irreps)} "
            f"of alpha * chi(a.b.c^-1), alpha {[round(a, 4) for a in prog.alpha]} ({prog.group})"
            + (f"; permutation characters spanning {list(prog.ablated_irreps)}"
               if prog.kind == "cosets" else ""),
            *self.check_lines(),
            f"  substitution: train cross-entropy {v.program_train_loss:.3g} (program) vs "
            f"{v.network_train_loss:.3g} (network)",
            f"  necessity: network accuracy without the key irreps' product component "
            f"{pct(v.ablated_accuracy)}; program accuracy without each irrep: "
            + ", ".join(f"{k} {pct(a)}" for k, a in v.necessity.items()),
            f"  description: {v.n_constants} constants vs {v.lookup_entries} lookup-table entries",
        ]
        if self.curve:
            lines.append(f"over {len(self.curve)} checkpoints: the program first explains the "
                         f"network ({EXPLAIN_RULE}) at epoch {self.first_correct_epoch}; "
                         f"network grokked at epoch {self.grokked_epoch}")
        return lines

    def to_dict(self) -> dict:
        d = to_jsonable(dataclasses.asdict(self))
        d["program"].pop("elements")
        d["program"].pop("characters")
        cosets = self.program.kind == "cosets"
        return {"verdict": self.verdict, "algorithm": self.algorithm,
                "program_kind": self.program.kind,
                "key_irreps": list(self.program.ablated_irreps),
                "subgroups": list(self.program.irreps) if cosets else None,
                "program_accuracy": self.emitted_accuracy,
                "agreement": self.verification.agreement, "group": self.program.group, **d}


PROGRAMS = ("characters", "cosets")


def extract_group_model(model: HookedModel, data: Dataset, source: dict,
                        program_kind: str = "characters") -> GroupExtractResult:
    """The character program on the key irreps, or (program_kind "cosets") the coset program on
    the winning subgroup classes (analysis.group.cosets)."""
    model.eval()
    view = view_of(data)
    logits, _ = model_logits(model, data)
    if program_kind == "cosets" and not applies(view, model):
        raise GroklabError(_no_cosets(view, model))
    if view is None:
        return _extract_table(data, source, logits)
    if program_kind == "cosets":
        program = fit_coset_program(view, logits, data, winning_labels(model, data, view))
    else:
        keys = choose_key_irreps(view, model, data, logits)
        program = fit_program(view, logits, data, keys.names)
    check = verify_program(view, program, logits, data)
    header = {**{k: v for k, v in source.items() if v is not None}, "algorithm": check.algorithm,
              "verdict": check.verdict, "accuracy_all_pairs": round(check.program_accuracy, 6),
              "agreement_with_network": round(check.agreement, 6)}
    if check.algorithm == "lookup":
        train = data.train_idx
        answers = logits[train].argmax(1)
        code = emit_lookup(view.group.name, data.pairs[train], answers, header)
        emitted = float((answers == data.labels[train]).sum()) / len(data.labels)
    else:
        code = emit_program(program, view, header)
        emitted = check.program_accuracy
    return GroupExtractResult(source=source, program=program, verification=check,
                              source_code=code, emitted_accuracy=emitted,
                              terms=_example_terms(view, program, data, check.algorithm))


def _no_cosets(view, model: HookedModel) -> str:
    if view is None:
        return "--program cosets: the table is not (isotopic to) a group, so it has no cosets"
    if view.group.order > MAX_CATALOGUE:
        return (f"--program cosets: {view.group.name} has {view.group.order} elements; the "
                f"subgroup catalogue covers at most {MAX_CATALOGUE}")
    if model.cfg.d_mlp == 0 or model.cfg.n_layers != 1:
        return "--program cosets reads the neurons of one-layer networks; this model has none or several layers"
    return f"--program cosets: {view.group.name} has no proper non-trivial subgroup"


def _extract_table(data: Dataset, source: dict, logits) -> GroupExtractResult:
    """A table that is not (isotopic to) a group: the network's answers on its training pairs as a
    lookup table; `lookup` when that is all it does (LOOKUP_MAX_TEST_ACC), `unknown` otherwise."""
    labels, net, train, test = data.labels, logits.argmax(1), data.train_idx, data.test_idx
    fit = float((net[train] == labels[train]).mean()) if len(train) else 0.0
    test_acc = float((net[test] == labels[test]).mean()) if len(test) else 0.0
    algorithm = "lookup" if fit >= RIGHT and test_acc <= LOOKUP_MAX_TEST_ACC else "unknown"
    verdict = rule_verdict(algorithm, False, 0.0, 0.0, 0.0, None, fit, 0.0)
    header = {**{k: v for k, v in source.items() if v is not None}, "algorithm": algorithm,
              "verdict": verdict}
    code = emit_lookup("none", data.pairs[train], net[train], header)
    program = CharacterProgram("none", data.task.element_order, [], [], 1.0, [], [])
    emitted = float((net[train] == labels[train]).sum()) / len(labels)
    check = CharacterVerification(
        program_accuracy=emitted, program_test_accuracy=0.0, agreement=len(train) / len(labels),
        test_agreement=0.0, network_accuracy=float((net == labels).mean()),
        network_test_accuracy=test_acc, ablated_accuracy=None, algorithm=algorithm,
        algorithm_rule="the table is not (isotopic to) a group: lookup when the network fits its "
                       f"training pairs and is <= {LOOKUP_MAX_TEST_ACC:.0%} right held out, "
                       "unknown otherwise",
        network_train_accuracy=fit, verdict=verdict, lookup_entries=len(labels))
    return GroupExtractResult(source=source, program=program, verification=check,
                              source_code=code, emitted_accuracy=emitted)


def _example_terms(view, program: CharacterProgram, data: Dataset, algorithm: str) -> dict | None:
    """The character program's terms for one held-out pair (drawn in the report), None without a
    characters program."""
    if not program.irreps or algorithm != "characters":
        return None
    row = int(data.test_idx[len(data.test_idx) // 2]) if len(data.test_idx) else 0
    a, b = data.pairs[row]
    return program_terms(view, list(program.irreps), list(program.alpha), int(a), int(b))


def curve_point(model: HookedModel, data: Dataset, names: list[str], epoch: int,
                fit=fit_program) -> dict:
    """The program (characters on the final key irreps, or `fit` = fit_coset_program on the final
    subgroups) at one checkpoint, against the network."""
    view = view_of(data)
    logits, _ = model_logits(model, data)
    if view is None:
        return {"epoch": epoch, "verdict": _extract_table(data, {}, logits).verdict,
                "explains": False}
    check = verify_program(view, fit(view, logits, data, names, temperature=False),
                           logits, data, fit_kl=False)
    ev = check.evidence or {}
    return {"epoch": epoch, "program_accuracy": check.program_accuracy,
            "agreement": check.agreement, "test_agreement": check.test_agreement,
            "logit_fve": ev.get("logit_fve"), "explains": bool(ev.get("explains")),
            "network_test_accuracy": check.network_test_accuracy, "verdict": check.verdict}


def first_correct(points: list[dict]) -> int | None:
    """The first checkpoint at which the program explains the network (analysis.evidence), not
    merely computes the task (it always does)."""
    return next((p["epoch"] for p in points if p.get("explains")), None)
