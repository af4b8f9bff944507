"""Every stage after training, written once against the domain interface: analyze and extract a
model, a run (its last checkpoint, then one pass over every checkpoint) or a model file.

    analyze_run(RUN)    load → domain_for(data) → domain.analyze → pass(progress) → analysis.json
    extract_run(RUN)    load → domain_for(data) → domain.extract → pass(curve) → program.py/.json
    analyze_and_extract(RUN)   both, with one pass over the checkpoints (each file read once)
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import torch

from groklab.engine.domain import Tracker, domain_for
from groklab.models import HookedModel
from groklab.sources import (DEFAULT_FILE_DATA_SEED, Loaded, accuracy, checkpoint_pass, load_file,
                             load_run)
from groklab.store import (ANALYSIS_FILE, PROGRAM_FILE, PROGRAM_JSON, RunStore, write_json,
                           write_text)
from groklab.tasks import Dataset

Progress = Callable[[int, int], None]


def run_pass(loaded: Loaded, trackers: list[Tracker], on_checkpoint: Progress | None) -> None:
    """One pass over every checkpoint, each tracker measuring at each; then each finishes."""
    for epoch in checkpoint_pass(loaded, on_checkpoint):
        for tracker in trackers:
            tracker.at(epoch)
    for tracker in trackers:
        tracker.finish()


def program_source(loaded: Loaded) -> dict:
    """The provenance a program records (program.json `source`, program.py's header)."""
    s = loaded.source
    if s["kind"] == "run":
        return {"run": s["path"], "checkpoint": s["checkpoint"], "preset": s.get("preset")}
    return {"file": s["path"], "layout": s["layout"], "notes": "; ".join(loaded.notes)}


# ---- single models ----------------------------------------------------------------------------
def analyze_model(model: HookedModel, data: Dataset, source: dict, notes: list[str] | None = None):
    """The analysis of one model in its task's domain."""
    loaded = Loaded(model, data, source, list(notes or []))
    return domain_for(data).analyze(loaded)[0]


def extract_model(model: HookedModel, data: Dataset, source: dict):
    """The verified program of one model in its task's domain."""
    loaded = Loaded(model, data, {"kind": "model"}, [])
    return domain_for(data).extract(loaded, source)[0]


# ---- runs -------------------------------------------------------------------------------------
def _writing(store: RunStore, write: bool):
    store.read_config()  # a clear error before any lock file is made
    return store.writer() if write else nullcontext()


def _write_program(result, code_path: Path, json_path: Path) -> None:
    write_text(code_path, result.source_code)
    write_json(json_path, result.to_dict())


def analyze_run(path: str | Path, checkpoint: int | None = None, with_progress: bool = True,
                on_checkpoint: Progress | None = None, write: bool = True,
                json_path: str | Path | None = None):
    """Analyse a run directory's checkpoint (the last by default) and, with `with_progress`, every
    checkpoint; writes RUN/analysis.json, or `json_path` (holding the run's lock when it writes)."""
    store = RunStore(path)
    with _writing(store, write):
        loaded = load_run(path, checkpoint)
        domain = domain_for(loaded.data)
        result, state = domain.analyze(loaded)
        if with_progress:
            run_pass(loaded, [domain.progress(result, state, loaded)], on_checkpoint)
        if write:
            write_json(Path(json_path) if json_path else store.file(ANALYSIS_FILE),
                       result.to_dict())
    return result


def extract_run(path: str | Path, checkpoint: int | None = None, out: str | Path | None = None,
                json_path: str | Path | None = None, with_curve: bool = True,
                on_checkpoint: Progress | None = None, program: str | None = None):
    """Extract and verify the program of a run's checkpoint (the last by default); write the
    source (RUN/program.py or `out`) and RUN/program.json (or `json_path`)."""
    store = RunStore(path)
    with _writing(store, True):
        loaded = load_run(path, checkpoint)
        domain = domain_for(loaded.data)
        result, state = domain.extract(loaded, program_source(loaded), program)
        if with_curve:
            run_pass(loaded, [domain.curve(result, state, loaded)], on_checkpoint)
        _write_program(result, Path(out) if out else store.file(PROGRAM_FILE),
                       Path(json_path) if json_path else store.file(PROGRAM_JSON))
    return result


def analyze_and_extract(path: str | Path, on_checkpoint: Progress | None = None):
    """analyze_run and extract_run of the last checkpoint with one pass over every checkpoint
    (each checkpoint file read once); writes analysis.json, program.py and program.json."""
    store = RunStore(path)
    with _writing(store, True):
        loaded = load_run(path)
        domain = domain_for(loaded.data)
        analysis, a_state = domain.analyze(loaded)
        program, p_state = domain.extract(loaded, program_source(loaded))
        run_pass(loaded, [domain.progress(analysis, a_state, loaded),
                          domain.curve(program, p_state, loaded)], on_checkpoint)
        write_json(store.file(ANALYSIS_FILE), analysis.to_dict())
        _write_program(program, store.file(PROGRAM_FILE), store.file(PROGRAM_JSON))
    return analysis, program


def compare_run(path: str | Path):
    """The program of another run's last checkpoint, for comparison; writes nothing."""
    loaded = load_run(path)
    return domain_for(loaded.data).extract(loaded, program_source(loaded))[0]


# ---- model files ------------------------------------------------------------------------------
def analyze_file(path: str | Path, layout: str | None = None, task: str | None = None,
                 p: int | None = None, act: str | None = None, frac_train: float | None = None,
                 data_seed: int = DEFAULT_FILE_DATA_SEED, json_path: str | Path | None = None,
                 report: Callable[[str], None] = print,
                 config_path: str | Path | None = None, table: str | None = None):
    """Analyse a model file users bring; its accuracy on all pairs is printed first (`table`: a
    table file the model is scored on, see config.TaskConfig.table)."""
    loaded = load_file(path, layout, task, p, act, frac_train, data_seed, config_path, table)
    domain = domain_for(loaded.data)
    report(f"loaded {path} ({loaded.model.cfg.kind}, {domain.describe(loaded.data)}): accuracy on "
           f"all {len(loaded.data.pairs)} pairs {accuracy(loaded):.4f}")
    result, _ = domain.analyze(loaded)
    out = Path(json_path) if json_path else Path(path).with_suffix(".analysis.json")
    write_json(out, result.to_dict())
    result.source["json"] = str(out)
    return result


def extract_file(path: str | Path, layout: str | None = None, task: str | None = None,
                 act: str | None = None, out: str | Path | None = None,
                 json_path: str | Path | None = None, config_path: str | Path | None = None,
                 table: str | None = None, program: str | None = None):
    """Extract the program of a model file users bring (task inferred from accuracy if not given;
    it only scores the program)."""
    loaded = load_file(path, layout, task, None, act, None, DEFAULT_FILE_DATA_SEED, config_path,
                       table)
    with torch.no_grad():
        result, _ = domain_for(loaded.data).extract(loaded, program_source(loaded), program)
    write_text(Path(out) if out else Path(path).with_suffix(".program.py"), result.source_code)
    if json_path:
        write_json(Path(json_path), result.to_dict())
    return result
