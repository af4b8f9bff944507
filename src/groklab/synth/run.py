"""`extract`: the program of a checkpoint, verified; and the program over every checkpoint of a run.

Reads as the pipeline: load → extract (key frequencies, fit) → verify → emit source → program.json.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from groklab.analysis.analyze import _clean, load_run_model
from groklab.analysis.diagnostics import gradient_symmetricity
from groklab.analysis.families import FamilyComparison, compare
from groklab.analysis.frame import Frame, build_frame
from groklab.models import HookedModel
from groklab.models.io import load_weights
from groklab.store import PROGRAM_FILE, PROGRAM_JSON, RunStore, write_json, write_text
from groklab.synth.emit import emit
from groklab.synth.extract import program_of
from groklab.synth.program import Program
from groklab.synth.verify import Verification, verify
from groklab.tasks import Dataset, make_dataset

CURVE_TEST_AGREEMENT = 0.99  # a checkpoint's program counts as right only if it agrees this much


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


@dataclass
class ExtractResult:
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
    def verdict(self) -> str:
        return self.verification.verdict

    @property
    def algorithm(self) -> str:
        return self.program.algorithm

    def to_dict(self) -> dict:
        d = _clean(dataclasses.asdict(self))
        c = d["comparison"]
        return {"verdict": self.verdict, "algorithm": self.algorithm,
                "key_frequencies": list(self.program.freqs),
                "program_accuracy": self.verification.program_accuracy,
                "agreement": self.verification.agreement,
                "families": c["scores"], "input_map": d["frame"]["input_map"],
                "output_map": d["frame"]["output_map"], **d}


def _header(source: dict, check: Verification, program: Program) -> dict:
    return {**{k: v for k, v in source.items() if v is not None},
            "algorithm": program.algorithm, "verdict": check.verdict,
            "accuracy_all_pairs": round(check.program_accuracy, 6),
            "agreement_with_network": round(check.agreement, 6),
            "constants": check.n_constants, "lookup_table_of_every_pair": check.lookup_entries}


def extract_model(model: HookedModel, data: Dataset, source: dict) -> ExtractResult:
    return _extract(model, data, source)[0]


def _extract(model: HookedModel, data: Dataset, source: dict) -> tuple[ExtractResult, Frame]:
    model.eval()
    frame = build_frame(model, data)
    comparison = compare(frame, symmetricity=gradient_symmetricity(model, frame.p))
    program = program_of(frame, comparison)
    check = verify(program, frame)
    return ExtractResult(source, program, check, comparison, frame.to_dict(),
                         emit(program, _header(source, check, program))), frame


def curve(store: RunStore, model: HookedModel, data: Dataset, final: Frame,
          on_checkpoint: Callable[[int, int], None] | None = None) -> list[CurvePoint]:
    """The program at every checkpoint, in the final checkpoint's coordinates: the families
    compared and fitted there (without the KL), checked against the network there."""
    points = []
    epochs = store.checkpoint_epochs()
    for i, epoch in enumerate(epochs):
        load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
        frame = build_frame(model, data, final.maps, (final.sign, 1))
        comparison = compare(frame, with_kl=False,
                             symmetricity=gradient_symmetricity(model, frame.p))
        program = program_of(frame, comparison, temperature=False)
        check = verify(program, frame)
        points.append(CurvePoint(epoch, program.algorithm, list(program.freqs),
                                 check.program_test_accuracy, check.program_accuracy,
                                 check.agreement, check.test_agreement,
                                 check.network_test_accuracy, check.verdict))
        if on_checkpoint:
            on_checkpoint(i + 1, len(epochs))
    return points


def extract_run(path: str | Path, checkpoint: int | None = None, out: str | Path | None = None,
                json_path: str | Path | None = None, with_curve: bool = True,
                on_checkpoint: Callable[[int, int], None] | None = None) -> ExtractResult:
    """Extract and verify the program of a run's checkpoint (the last by default); write the
    source (RUN/program.py or `out`) and RUN/program.json (or `json_path`)."""
    store = RunStore(path)
    store.read_config()  # a clear error before any lock file is made
    with store.writer():
        return _extract_run(store, checkpoint, out, json_path, with_curve, on_checkpoint)


def _extract_run(store: RunStore, checkpoint: int | None, out, json_path, with_curve: bool,
                 on_checkpoint) -> ExtractResult:
    path = store.path
    cfg = store.read_config()
    model, epoch = load_run_model(path, checkpoint)
    data = make_dataset(cfg.task)
    if cfg.task.name == "group":  # a group's program is read in characters, not on a circle
        from groklab.synth.group_run import extract_group_run

        return extract_group_run(store, model, epoch, data, out, json_path, with_curve,
                                 on_checkpoint)
    result, final = _extract(model, data, {"run": str(store.path), "checkpoint": epoch,
                                           "preset": cfg.preset})
    if with_curve:
        result.curve = curve(store, model, data, final, on_checkpoint)
        load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
        result.first_correct_epoch = next(
            (p.epoch for p in result.curve if p.program_accuracy == 1.0
             and p.test_agreement >= CURVE_TEST_AGREEMENT and p.algorithm in ("clock", "pizza")),
            None)
        summary = store.read_summary() or {}
        result.grokked_epoch = summary.get("grokked_epoch")
    write_text(Path(out) if out else store.file(PROGRAM_FILE), result.source_code)
    write_json(Path(json_path) if json_path else store.file(PROGRAM_JSON), result.to_dict())
    return result


def compare_run(path: str | Path) -> ExtractResult:
    """The program of another run's last checkpoint, for comparison; writes nothing."""
    store = RunStore(path)
    cfg = store.read_config()
    model, epoch = load_run_model(path)
    return extract_model(model, make_dataset(cfg.task), {"run": str(store.path), "checkpoint": epoch})


def extract_file(path: str | Path, layout: str | None = None, task: str | None = None,
                 act: str | None = None, out: str | Path | None = None,
                 json_path: str | Path | None = None,
                 config_path: str | Path | None = None) -> ExtractResult:
    """Extract the program of a model file users bring (task inferred from accuracy if not given;
    it only scores the program)."""
    from groklab.analysis.analyze import load_file_model

    if layout == "chughtai2023":
        from groklab.analysis.group_analyze import load_chughtai
        from groklab.synth.group_run import extract_group_model

        model, data, notes = load_chughtai(path, config_path, act)
        with torch.no_grad():
            result = extract_group_model(model, data, {"file": str(path), "layout": layout,
                                                       "notes": "; ".join(notes)})
        write_text(Path(out) if out else Path(path).with_suffix(".program.py"), result.source_code)
        if json_path:
            write_json(Path(json_path), result.to_dict())
        return result
    model, data, notes = load_file_model(path, layout, task, None, act, None, 598, config_path)
    with torch.no_grad():
        result = extract_model(model, data, {"file": str(path), "layout": layout or "auto",
                                             "notes": "; ".join(notes)})
    write_text(Path(out) if out else Path(path).with_suffix(".program.py"), result.source_code)
    if json_path:
        write_json(Path(json_path), result.to_dict())
    return result
