"""`analyze`: reverse-engineer the algorithm in a model, verify it, track it over a run.

Reads as the pipeline: load → frame (coordinates discovered from the weights) → snapshot (views) →
key frequencies → circles, neurons, logit fit → ablations → program families and diagnostics →
(for runs) progress over every checkpoint and phases → analysis.json.

The JSON schema (version 1) is the `AnalysisResult` dataclass, flattened with `dataclasses.asdict`;
its top level always has key_frequencies, accuracy, neuron_fraction_explained, logit_fve,
restricted_loss, excluded_loss, and for runs phases and progress (one object per checkpoint).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from groklab.analysis import keyfreq
from groklab.analysis.ablations import Ablation, ablation_table
from groklab.analysis.diagnostics import (correct_logit_matrix, diagnose, distance_irrelevance,
                                          gradient_symmetricity)
from groklab.analysis.embeddings import Circle, circle
from groklab.analysis.families import FamilyComparison, compare
from groklab.analysis.frame import Frame, build_frame, frame_coords
from groklab.analysis.grokking import Phases, phases
from groklab.analysis.logits import LogitFit, excluded, fit_logits, interference, restricted
from groklab.analysis.neurons import NeuronClusters
from groklab.analysis.probe import Probe
from groklab.analysis.progress import ProgressPoint, emergence, lead, scan, snapshot, spearman
from groklab.config import TaskConfig
from groklab.errors import GroklabError
from groklab.models import HookedModel, build_model
from groklab.models.io import build_imported, import_model, load_weights
from groklab.store import ANALYSIS_FILE, RunStore, read_json, write_json
from groklab.tasks import Dataset, make_dataset

SCHEMA_VERSION = 2
DEFAULT_FILE_FRAC = 0.3


@dataclass
class AnalysisResult:
    """Everything `groklab analyze` finds; `to_dict()` is the analysis.json schema."""

    schema_version: int
    source: dict  # kind (run|file), path, checkpoint epoch, layout
    task: str
    p: int
    group_order: int  # N: p, or p-1 for mul/div (discrete logs)
    generator: int | None
    model: dict  # the ModelConfig
    accuracy: float  # the model on all valid pairs of the task
    loss: float
    test_accuracy: float
    key_frequencies: list[int]
    key_frequency_rule: str
    keys: keyfreq.KeyFrequencies
    embed_norms: list[float]  # Fourier norm of W_E per frequency 1..K
    unembed_norms: list[float]  # Fourier norm of W_L per frequency 1..K
    circles: list[Circle]
    neurons: NeuronClusters
    neuron_fraction_explained: float
    logit_fit: LogitFit
    logit_fve: float
    interference: dict
    restricted_loss: float
    restricted_accuracy: float
    excluded_loss: float  # on the training pairs
    train_loss: float  # the full model on the training pairs of the grid
    ablations: list[Ablation]
    algorithm: str = "unknown"  # clock | pizza | lookup | unknown, by families.RULE
    families: dict = field(default_factory=dict)  # per family: FamilyScore
    family_comparison: FamilyComparison | None = None
    input_map: dict = field(default_factory=dict)
    output_map: dict = field(default_factory=dict)
    sign: int = 1  # the inputs combine as f(a) + sign * f(b)
    gradient_symmetricity: float | None = None
    distance_irrelevance: float | None = None
    distance_resample: dict = field(default_factory=dict)
    correct_logits: list[list[float | None]] | None = None  # [x][δ] mean correct-answer logit
    notes: list[str] = field(default_factory=list)
    phases: Phases | None = None
    progress: list[ProgressPoint] | None = None
    structure_test_loss_spearman: float | None = None  # checkpoints from the end of memorization
    structure_test_loss_spearman_all: float | None = None  # every checkpoint
    emergence: dict | None = None
    lead: dict | None = None  # progress.lead: restricted loss vs test loss crossing LEAD_LOSS
    circle_frames: list[dict] | None = None  # {epoch, circles: [Circle]} over <= 40 checkpoints

    def to_dict(self) -> dict:
        return _clean(dataclasses.asdict(self))


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def analyze_model(model: HookedModel, data: Dataset, source: dict,
                  notes: list[str] | None = None) -> AnalysisResult:
    """The full single-model analysis."""
    return _analyze(model, data, source, notes)[0]


def _analyze(model: HookedModel, data: Dataset, source: dict,
             notes: list[str] | None = None) -> tuple[AnalysisResult, Frame]:
    model.eval()
    frame = build_frame(model, data)
    probe = Probe.build(model, data, frame_coords(frame))
    c = probe.coords
    snap = snapshot(probe)
    all_logits = probe.all_logits()
    loss, acc = probe.scores(all_logits)
    _, test_acc = probe.scores(all_logits, data.test_idx)
    keys = keyfreq.choose(probe, snap.grid_logits, snap.views, acc)
    freqs = keys.freqs
    r_loss, r_acc = probe.grid_scores(restricted(snap.grid_logits, c, freqs))
    x_loss, _ = probe.grid_scores(excluded(snap.grid_logits, c, freqs), probe.grid_train)
    train_loss, _ = probe.grid_scores(snap.grid_logits, probe.grid_train)
    w_e = model.token_embeddings().detach().double().numpy()
    fit = fit_logits(snap.grid_logits, c, freqs)
    test_rows = np.flatnonzero(~probe.grid_train)
    row = int(test_rows[len(test_rows) // 2]) if len(test_rows) else 0  # a held-out pair
    notes = list(notes or [])
    if not c.template:
        notes.append(f"no bijective coordinates were found in the weights (input map "
                     f"{frame.input_map.kind}, output map {frame.output_map.kind}): the Fourier views "
                     "run in token order and are shown for reference only")
    if not freqs:
        notes.append("no key frequencies by the rule: the model shows no Fourier algorithm")
    if test_acc < keyfreq.SUFFICIENT_ACC:
        notes.insert(0, f"not grokked: held-out accuracy {test_acc:.2%}; key-frequency claims "
                        "describe structure, not a working algorithm")
    diag = diagnose(model, frame)
    families = compare(frame, symmetricity=diag.gradient_symmetricity)
    result = AnalysisResult(
        SCHEMA_VERSION, source, data.task.name, c.p, c.n, c.generator, dataclasses.asdict(model.cfg),
        acc, loss, test_acc, freqs, keyfreq.RULE, keys,
        np.sqrt(snap.embed_energy).round(6).tolist(), np.sqrt(snap.unembed_energy).round(6).tolist(),
        [circle(w_e, c, k) for k in freqs], snap.clusters, snap.clusters.fraction_explained,
        fit, fit.fve, interference(fit, c, row // c.n, row % c.n),
        r_loss, r_acc, x_loss, train_loss, ablation_table(probe, snap.grid_logits, freqs),
        families.algorithm, {k: dataclasses.asdict(v) for k, v in families.scores.items()},
        families, frame.input_map.to_dict(), frame.output_map.to_dict(), frame.sign,
        diag.gradient_symmetricity, diag.distance_irrelevance, diag.resample,
        np.round(correct_logit_matrix(frame), 4).tolist(), notes)
    return result, frame


def circle_frames(model: HookedModel, c, epochs: list[int], load: Callable[[int], None],
                  freqs: list[int], most: int = 40) -> list[dict]:
    """The embedding circles of the final key frequencies at up to `most` checkpoints (evenly
    spaced in checkpoint order, the last included): watch them form from noise."""
    if not freqs:
        return []
    picks = sorted({epochs[int(round(i))] for i in np.linspace(0, len(epochs) - 1, most)})
    frames = []
    for e in picks:
        load(e)
        w_e = model.token_embeddings().detach().double().numpy()
        frames.append({"epoch": e, "circles": [circle(w_e, c, k) for k in freqs]})
    return frames


def load_run_model(path: str | Path, checkpoint: int | None = None) -> tuple[HookedModel, int]:
    """The model of a run at `checkpoint` (the last by default), loaded strictly."""
    store = RunStore(path)
    cfg = store.read_config()
    epochs = store.checkpoint_epochs()
    if not epochs:
        raise GroklabError(f"{store.path} has no checkpoints yet; train it first "
                           f"(groklab train --out {store.path} ...)")
    epoch = epochs[-1] if checkpoint is None else checkpoint
    model = build_model(cfg.model, cfg.task.p, cfg.seed)
    return load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch))), epoch


def analyze_run(path: str | Path, checkpoint: int | None = None, with_progress: bool = True,
                on_checkpoint: Callable[[int, int], None] | None = None,
                write: bool = True) -> AnalysisResult:
    """Analyse a run directory's checkpoint (the last by default) and, with `with_progress`, every
    checkpoint; writes RUN/analysis.json (holding the run's lock when it writes)."""
    if not write:
        return _analyze_run(path, checkpoint, with_progress, on_checkpoint, False)
    store = RunStore(path)
    store.read_config()  # a clear error before any lock file is made
    with store.writer():
        return _analyze_run(path, checkpoint, with_progress, on_checkpoint, True)


def _analyze_run(path: str | Path, checkpoint: int | None, with_progress: bool,
                 on_checkpoint: Callable[[int, int], None] | None,
                 write: bool) -> AnalysisResult:
    store = RunStore(path)
    cfg = store.read_config()
    model, epoch = load_run_model(path, checkpoint)
    epochs = store.checkpoint_epochs()

    def load(e: int) -> None:
        load_weights(model, store.load_checkpoint(e), str(store.checkpoint_path(e)))

    data = make_dataset(cfg.task)
    if cfg.task.name == "group":  # elements of a group: read on its irreps, not on a circle
        from groklab.analysis.group_analyze import analyze_group_run

        return analyze_group_run(store, model, epoch, data, with_progress, on_checkpoint, write)
    result, frame = _analyze(model, data, {"kind": "run", "path": str(store.path),
                                           "checkpoint": epoch, "layout": "groklab",
                                           "preset": cfg.preset})
    if with_progress:
        states = [(e, (lambda e=e: load(e))) for e in epochs]
        done = [0]

        def tick(e: int) -> None:
            done[0] += 1
            if on_checkpoint:
                on_checkpoint(done[0], len(epochs))

        probe = Probe.build(model, data, frame_coords(frame))

        def diagnostics_at() -> tuple[float, float]:
            now = build_frame(model, data, frame.maps, (frame.sign, 1))
            return gradient_symmetricity(model, now.p), distance_irrelevance(now)

        points = scan(probe, states, result.key_frequencies, tick, diagnostics_at)
        result.progress = points
        result.phases = phases(store.read_metrics())
        result.structure_test_loss_spearman_all = spearman([p.restricted_loss for p in points],
                                                           [p.loss_test for p in points])
        start = result.phases.memorization_end or 0
        late = [p for p in points if p.epoch >= start]
        result.structure_test_loss_spearman = spearman([p.restricted_loss for p in late],
                                                       [p.loss_test for p in late])
        result.emergence = emergence(points, result.key_frequencies)
        result.lead = lead(points)
        result.circle_frames = circle_frames(model, probe.coords, epochs, load,
                                             result.key_frequencies)
        load(epoch)
    if write:
        write_json(store.file(ANALYSIS_FILE), result.to_dict())
    return result


def infer_task(model: HookedModel, p: int) -> tuple[str, float]:
    """The template task on which the model is most accurate, with that accuracy."""
    best = ("add", -1.0)
    for task in ("add", "sub", "mul", "div"):
        try:
            data = make_dataset(TaskConfig(name=task, p=p, frac_train=0.3))
        except GroklabError:
            continue
        with torch.no_grad():
            acc = (model.logits(torch.as_tensor(data.pairs)).argmax(-1).numpy() == data.labels).mean()
        if acc > best[1]:
            best = (task, float(acc))
    return best


def load_file_model(path: str | Path, layout: str | None, task: str | None, p: int | None,
                    act: str | None, frac_train: float | None, data_seed: int,
                    config_path: str | Path | None) -> tuple[HookedModel, Dataset, list[str]]:
    """A model file users bring, its task's dataset, and notes on what was assumed. The task is
    inferred from accuracy when not given (it only scores programs); the split is groklab's, with
    the file's config `frac` when it has one, and a note says so."""
    config = read_json(Path(config_path)) if config_path else None
    if config is not None and not isinstance(config, dict):
        raise GroklabError(f"{config_path} holds no JSON object")
    imported = import_model(path, layout, act, config)
    if p is not None and p != imported.p:
        raise GroklabError(f"--p {p} does not match the file, whose shapes say p={imported.p}")
    model = build_imported(imported, str(path))
    notes = []
    if task is None:
        task, acc = infer_task(model, imported.p)
        if acc < 0.5:
            raise GroklabError(f"cannot infer the task of {path}: its best accuracy is {acc:.3f} "
                               f"({task} mod {imported.p}); pass --task")
        notes.append(f"task inferred from accuracy: {task} ({acc:.4f})")
    frac = frac_train or (config or {}).get("frac") or DEFAULT_FILE_FRAC
    if not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise GroklabError(f"{config_path}: frac={frac!r} must lie in (0, 1)")
    data = make_dataset(TaskConfig(name=task, p=imported.p, frac_train=float(frac),
                                   data_seed=data_seed))
    notes.append(f"the file records no groklab split: held-out figures use groklab's split with "
                 f"frac_train={frac}, data_seed={data_seed}, not the split it was trained on")
    return model, data, notes


def analyze_file(path: str | Path, layout: str | None = None, task: str | None = None,
                 p: int | None = None, act: str | None = None, frac_train: float | None = None,
                 data_seed: int = 598, json_path: str | Path | None = None,
                 report: Callable[[str], None] = print,
                 config_path: str | Path | None = None) -> AnalysisResult:
    """Analyse a model file users bring; its accuracy on all pairs is checked and printed first."""
    if layout == "chughtai2023":
        from groklab.analysis.group_analyze import analyze_group_file

        return analyze_group_file(path, config_path, act, json_path, report)
    model, data, notes = load_file_model(path, layout, task, p, act, frac_train, data_seed,
                                         config_path)
    task = data.task.name
    with torch.no_grad():
        acc = float((model.logits(torch.as_tensor(data.pairs)).argmax(-1).numpy()
                     == data.labels).mean())
    report(f"loaded {path} ({model.cfg.kind}, p={data.task.p}, task {task}): "
           f"accuracy on all {len(data.pairs)} pairs {acc:.4f}")
    result = analyze_model(model, data, {"kind": "file", "path": str(path), "checkpoint": None,
                                         "layout": layout or "auto"}, notes)
    out = Path(json_path) if json_path else Path(path).with_suffix(".analysis.json")
    write_json(out, result.to_dict())
    result.source["json"] = str(out)
    return result


def read_analysis(path: str | Path) -> dict:
    """analysis.json of a run directory (or a JSON path) as a dict."""
    path = Path(path)
    file = path / ANALYSIS_FILE if path.is_dir() else path
    if not file.is_file():
        raise GroklabError(f"{path} has no analysis yet; run: groklab analyze {path}")
    data = read_json(file)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise GroklabError(f"{file} has schema version {data.get('schema_version')}; "
                           f"this groklab reads {SCHEMA_VERSION}: re-run groklab analyze")
    return data
