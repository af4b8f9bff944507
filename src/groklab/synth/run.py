"""`extract`: the program of a checkpoint, verified; and the program over every checkpoint of a run.

Reads as the pipeline: load → extract (key frequencies, fit) → verify → emit source → program.json.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from groklab.analysis.analyze import _clean, load_run_model, read_analysis
from groklab.analysis.keyfreq import KeyFrequencies, vote
from groklab.analysis.probe import Probe
from groklab.analysis.progress import snapshot
from groklab.errors import GroklabError
from groklab.models import HookedModel
from groklab.models.io import build_imported, import_model, load_weights
from groklab.store import RunStore, write_json, write_text
from groklab.synth.emit import emit
from groklab.synth.extract import extract, program_from_logits, require_template
from groklab.synth.program import Program
from groklab.synth.verify import Verification, verdict, verify
from groklab.tasks import Dataset, make_dataset

PROGRAM_FILE = "program.py"
PROGRAM_JSON = "program.json"


@dataclass(frozen=True)
class CurvePoint:
    """The program read at one checkpoint, and how it stands against the network there."""

    epoch: int
    freqs: list[int]
    program_test_accuracy: float
    program_accuracy: float
    agreement: float
    network_test_accuracy: float
    verdict: str


@dataclass
class ExtractResult:
    """A program, its verification, the evidence for its frequencies, and (for runs) the curve."""

    source: dict
    program: Program
    verification: Verification
    keys: KeyFrequencies
    source_code: str
    curve: list[CurvePoint] | None = None
    first_correct_epoch: int | None = None  # first checkpoint whose program is right on all pairs
    grokked_epoch: int | None = None

    @property
    def verdict(self) -> str:
        return self.verification.verdict

    def to_dict(self) -> dict:
        d = _clean(dataclasses.asdict(self))
        return {"verdict": self.verdict, "key_frequencies": list(self.program.freqs),
                "program_accuracy": self.verification.program_accuracy,
                "agreement": self.verification.agreement, **d}


def extract_model(model: HookedModel, data: Dataset, source: dict) -> ExtractResult:
    model.eval()
    probe = Probe.build(model, data)
    program, keys = extract(probe)
    check = verify(program, probe)
    header = {**{k: v for k, v in source.items() if v is not None},
              "verdict": check.verdict,
              "accuracy (all pairs)": f"{check.program_accuracy:.4f}",
              "agreement with the network": f"{check.agreement:.4f}",
              "constants": f"{check.n_constants} (a lookup table needs {check.lookup_entries})"}
    return ExtractResult(source, program, check, keys, emit(program, header))


def curve(store: RunStore, model: HookedModel, data: Dataset,
          on_checkpoint: Callable[[int, int], None] | None = None) -> list[CurvePoint]:
    """The program at every checkpoint: frequencies by the analysis rule at that checkpoint (read
    from analysis.json when it has them), amplitudes fitted there, checked against the network."""
    probe = Probe.build(model, data)
    known = {}
    try:
        known = {p["epoch"]: p["key_freqs"] for p in read_analysis(store.path).get("progress") or []}
    except GroklabError:
        pass
    points = []
    epochs = store.checkpoint_epochs()
    for i, epoch in enumerate(epochs):
        load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
        if epoch in known:
            freqs, grid = known[epoch], probe.grid_logits()
        else:
            snap = snapshot(probe)
            freqs, grid = vote(snap.views), snap.grid_logits
        program = program_from_logits(probe, grid, freqs, temperature=False)
        net = probe.all_from_grid(grid)
        check = verify(program, probe, net, grid, deep=False)
        points.append(CurvePoint(epoch, list(program.freqs), check.program_test_accuracy,
                                 check.program_accuracy, check.agreement,
                                 check.network_test_accuracy,
                                 verdict(program, check.program_accuracy, check.agreement,
                                         check.test_agreement, check.ablated_accuracy)))
        if on_checkpoint:
            on_checkpoint(i + 1, len(epochs))
    return points


def extract_run(path: str | Path, checkpoint: int | None = None, out: str | Path | None = None,
                json_path: str | Path | None = None, with_curve: bool = True,
                on_checkpoint: Callable[[int, int], None] | None = None) -> ExtractResult:
    """Extract and verify the program of a run's checkpoint (the last by default); write the
    source (RUN/program.py or `out`) and RUN/program.json (or `json_path`)."""
    store = RunStore(path)
    cfg = store.read_config()
    require_template(cfg.task.name)
    model, epoch = load_run_model(path, checkpoint)
    data = make_dataset(cfg.task)
    result = extract_model(model, data, {"run": str(store.path), "checkpoint": epoch,
                                         "preset": cfg.preset})
    if with_curve:
        result.curve = curve(store, model, data, on_checkpoint)
        result.first_correct_epoch = next((p.epoch for p in result.curve
                                           if p.program_accuracy == 1.0), None)
        summary = store.read_summary() or {}
        result.grokked_epoch = summary.get("grokked_epoch")
    write_text(Path(out) if out else store.file(PROGRAM_FILE), result.source_code)
    write_json(Path(json_path) if json_path else store.file(PROGRAM_JSON), result.to_dict())
    return result


def compare_run(path: str | Path) -> ExtractResult:
    """The program of another run's last checkpoint, for comparison; writes nothing."""
    store = RunStore(path)
    cfg = store.read_config()
    require_template(cfg.task.name)
    model, epoch = load_run_model(path)
    return extract_model(model, make_dataset(cfg.task), {"run": str(store.path), "checkpoint": epoch})


def extract_file(path: str | Path, layout: str | None = None, task: str | None = None,
                 act: str = "relu", out: str | Path | None = None,
                 json_path: str | Path | None = None) -> ExtractResult:
    """Extract the program of a model file users bring (task inferred from accuracy if not given)."""
    from groklab.analysis.analyze import infer_task
    from groklab.config import TaskConfig

    imported = import_model(path, layout, act)
    model = build_imported(imported, str(path))
    if task is None:
        task, acc = infer_task(model, imported.p)
        if acc < 0.5:
            raise GroklabError(f"cannot infer the task of {path}: its best accuracy is {acc:.3f} "
                               f"({task} mod {imported.p}); pass --task")
    require_template(task)
    data = make_dataset(TaskConfig(name=task, p=imported.p, frac_train=0.3))
    with torch.no_grad():
        result = extract_model(model, data, {"file": str(path), "layout": layout or "auto"})
    write_text(Path(out) if out else Path(path).with_suffix(".program.py"), result.source_code)
    if json_path:
        write_json(Path(json_path), result.to_dict())
    return result
