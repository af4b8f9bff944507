"""The cyclic program of one model, verified, as a result (ExtractResult); one curve point per
checkpoint. The stages over runs and files are the engine's (groklab.engine.stages).

Reads as the pipeline: frame → families compared → program → verify → emit source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from groklab.analysis.cyclic.diagnostics import voting_symmetricity
from groklab.analysis.cyclic.families import FamilyComparison, compare
from groklab.analysis.cyclic.frame import Frame, build_frame
from groklab.models import HookedModel
from groklab.rules import RIGHT
from groklab.store import to_jsonable
from groklab.synth.emit import emit
from groklab.synth.extract import program_of
from groklab.synth.program import Program
from groklab.synth.verify import ProgramResult, Verification, pct, verify
from groklab.tasks import Dataset

CURVE_TEST_AGREEMENT = RIGHT  # a checkpoint's program counts as right only if it agrees this much


@dataclass(frozen=True)
class CurvePoint:
    """The program read at one checkpoint, and how it stands against the network there."""

    epoch: int
    algorithm: str
    freqs: list[int]
    program_test_accuracy: float
    program_accuracy: float
    agreement: float
    test_agreement: float
    network_test_accuracy: float
    verdict: str
    logit_fve: float | None = None
    explains: bool = False


@dataclass
class ExtractResult(ProgramResult):
    """A program, its verification, the family comparison it rests on, and (for runs) the curve."""

    source: dict
    program: Program
    verification: Verification
    comparison: FamilyComparison
    frame: dict
    source_code: str
    curve: list[CurvePoint] | None = None
    first_correct_epoch: int | None = None  # first checkpoint whose program is right on all
    # pairs and agrees with the network on >= 99% of the held-out pairs
    grokked_epoch: int | None = None

    @property
    def algorithm(self) -> str:
        return self.program.algorithm

    @property
    def key_set(self) -> list:
        """The program's key frequencies."""
        return list(self.program.freqs)

    def summary_lines(self) -> list[str]:
        """The terminal summary."""
        v, prog = self.verification, self.program
        maps = f"input map {prog.input_kind}, output map {prog.output_kind}" + (
            f" (generator {prog.generator})" if prog.generator else "")
        lines = [
            f"algorithm: {prog.algorithm}   verdict: {v.verdict}   ({v.rule})",
            *self.comparison.summary_lines(),
            f"program: {prog.algorithm} mod {prog.p} on a circle of {prog.n}, {maps}, sign "
            f"{prog.sign:+d}, frequencies {list(prog.freqs)}, amplitudes "
            f"{[round(a, 3) for a in prog.alpha]}"
            + (f", profile {prog.profile}" if prog.profile else ""),
            *self.check_lines(),
            f"  substitution: train cross-entropy {v.program_train_loss:.3g} (program, scale "
            f"{v.scale:.3g}) vs {v.network_train_loss:.3g} (network)",
            f"  necessity: network accuracy without these frequencies' directions "
            f"{pct(v.ablated_accuracy)}; network alone {pct(v.network_accuracy)}",
            f"  description: {v.n_constants} constants vs {v.lookup_entries} lookup-table entries",
        ]
        if self.curve:
            lines.append(f"over {len(self.curve)} checkpoints: the program first explains the "
                         f"network at epoch {self.first_correct_epoch}; network grokked (test acc >= 99%) at "
                         f"epoch {self.grokked_epoch}")
        return lines

    def to_dict(self) -> dict:
        d = to_jsonable(dataclasses.asdict(self))
        c = d["comparison"]
        return {"verdict": self.verdict, "algorithm": self.algorithm,
                "program_frequencies": list(self.program.freqs),
                "program_frequencies_definition": PROGRAM_FREQUENCIES,
                "program_accuracy": self.verification.program_accuracy,
                "agreement": self.verification.agreement,
                "families": c["scores"], "input_map": d["frame"]["input_map"],
                "output_map": d["frame"]["output_map"], **d}


PROGRAM_FREQUENCIES = ("the frequencies of the program's waves: the energy view of the logits "
                       "over the discovered coordinates (analysis.families), which the family fit "
                       "uses; not analysis.json's key_frequencies (three views of the weights, "
                       "pruned by the key-set rule)")


def _header(source: dict, check: Verification, program: Program) -> dict:
    return {**{k: v for k, v in source.items() if v is not None},
            "algorithm": program.algorithm, "verdict": check.verdict,
            "accuracy_all_pairs": round(check.program_accuracy, 6),
            "agreement_with_network": round(check.agreement, 6),
            "constants": check.n_constants, "lookup_table_of_every_pair": check.lookup_entries}


def extract_model(model: HookedModel, data: Dataset, source: dict) -> ExtractResult:
    return extract_with_frame(model, data, source)[0]


def extract_with_frame(model: HookedModel, data: Dataset, source: dict
                       ) -> tuple[ExtractResult, Frame]:
    model.eval()
    frame = build_frame(model, data)
    comparison = compare(frame, symmetricity=voting_symmetricity(model, frame.p))
    program = program_of(frame, comparison)
    check = verify(program, frame)
    return ExtractResult(source=source, program=program, verification=check,
                         comparison=comparison, frame=frame.to_dict(),
                         source_code=emit(program, _header(source, check, program))), frame


def curve_point(model: HookedModel, data: Dataset, final: Frame, epoch: int) -> CurvePoint:
    """The program at one checkpoint, in the final checkpoint's coordinates: the families compared
    and fitted there (without the KL), checked against the network there."""
    frame = build_frame(model, data, final.maps, (final.sign, 1))
    comparison = compare(frame, with_kl=False, symmetricity=voting_symmetricity(model, frame.p))
    program = program_of(frame, comparison, temperature=False)
    check = verify(program, frame, fit_kl=False)
    return CurvePoint(epoch=epoch, algorithm=program.algorithm, freqs=list(program.freqs),
                      program_test_accuracy=check.program_test_accuracy,
                      program_accuracy=check.program_accuracy, agreement=check.agreement,
                      test_agreement=check.test_agreement,
                      network_test_accuracy=check.network_test_accuracy, verdict=check.verdict,
                      logit_fve=(check.evidence or {}).get("logit_fve"),
                      explains=bool((check.evidence or {}).get("explains")))


def first_correct(points: list[CurvePoint]) -> int | None:
    """The first checkpoint whose program, a clock or a pizza, explains the network
    (analysis.evidence: agreement and logit FVE), not merely computes the task."""
    return next((p.epoch for p in points if p.explains and p.algorithm in ("clock", "pizza")),
                None)
