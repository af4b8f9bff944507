"""Where a model to analyse comes from: a run directory (its config, any checkpoint, one pass over
every checkpoint) or a model file users bring (its layout, its task and split). Beside the store:
every stage after training reaches weights through here, and each checkpoint file is read once per
command (`checkpoint_pass`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from groklab.config import TaskConfig
from groklab.errors import GroklabError
from groklab.models import HookedModel, build_model
from groklab.models.io import build_imported, import_model, load_weights
from groklab.models.layouts import READERS
from groklab.store import RunStore, read_json
from groklab.tasks import Dataset, make_dataset

DEFAULT_FILE_FRAC = 0.3  # the split assumed for a file that records none
DEFAULT_FILE_DATA_SEED = 598
TEMPLATE_TASKS = ("add", "sub", "mul", "div")  # what a model file's task is inferred among
INFER_MIN_ACC = 0.5  # a file's task is inferred only where the model is at least this accurate


@dataclass
class Loaded:
    """A model ready to analyse, the dataset it is scored on, and where it came from."""

    model: HookedModel
    data: Dataset
    source: dict
    notes: list[str]
    store: RunStore | None = None  # a run's store (None for a file)
    epoch: int | None = None  # the checkpoint loaded (None for a file)
    weights: dict[str, torch.Tensor] | None = None  # that checkpoint's tensors, to restore

    def restore(self) -> None:
        """Put the loaded checkpoint back into the model (after a pass over the others)."""
        if self.weights is not None:
            load_weights(self.model, self.weights, f"{self.source.get('path')} (epoch {self.epoch})")


def accuracy(loaded: Loaded) -> float:
    """The loaded model's accuracy on every pair of its dataset."""
    with torch.no_grad():
        answers = loaded.model.logits(torch.as_tensor(loaded.data.pairs)).argmax(-1).numpy()
    return float((answers == loaded.data.labels).mean())


def _checkpoint(store: RunStore, checkpoint: int | None) -> int:
    epochs = store.checkpoint_epochs()
    if not epochs:
        raise GroklabError(f"{store.path} has no checkpoints yet; train it first "
                           f"(groklab train --out {store.path} ...)")
    return epochs[-1] if checkpoint is None else checkpoint


def _model_at(store: RunStore, checkpoint: int | None):
    """(config, model, epoch, weights) of a run at `checkpoint` (the last by default), strictly."""
    cfg = store.read_config()
    epoch = _checkpoint(store, checkpoint)
    model = build_model(cfg.model, cfg.task.p, cfg.seed)
    weights = store.load_checkpoint(epoch)
    load_weights(model, weights, str(store.checkpoint_path(epoch)))
    return cfg, model, epoch, weights


def load_run_model(path: str | Path, checkpoint: int | None = None) -> tuple[HookedModel, int]:
    """The model of a run at `checkpoint` (the last by default), loaded strictly."""
    _, model, epoch, _ = _model_at(RunStore(path), checkpoint)
    return model, epoch


def load_run(path: str | Path, checkpoint: int | None = None) -> Loaded:
    """A run's model at `checkpoint` (the last by default) with its task's dataset."""
    store = RunStore(path)
    cfg, model, epoch, weights = _model_at(store, checkpoint)
    source = {"kind": "run", "path": str(store.path), "checkpoint": epoch, "layout": "groklab",
              "preset": cfg.preset}
    return Loaded(model, make_dataset(cfg.task), source, [], store, epoch, weights)


def checkpoint_pass(loaded: Loaded, on_checkpoint: Callable[[int, int], None] | None = None
                    ) -> Iterator[int]:
    """Load every checkpoint of the run into the model in turn (each file read once), yielding its
    epoch; the loaded checkpoint is restored at the end (from memory: its file is not read again)."""
    store = loaded.store
    epochs = store.checkpoint_epochs()
    try:
        for i, epoch in enumerate(epochs):
            weights = loaded.weights if epoch == loaded.epoch else store.load_checkpoint(epoch)
            load_weights(loaded.model, weights, str(store.checkpoint_path(epoch)))
            yield epoch
            if on_checkpoint:
                on_checkpoint(i + 1, len(epochs))
    finally:
        loaded.restore()


def infer_task(model: HookedModel, p: int) -> list[tuple[str, float]]:
    """Every template task the model could be of, with its accuracy, best first."""
    scores = []
    for task in TEMPLATE_TASKS:
        try:
            data = make_dataset(TaskConfig(name=task, p=p, frac_train=0.3))
        except GroklabError:
            continue
        with torch.no_grad():
            acc = (model.logits(torch.as_tensor(data.pairs)).argmax(-1).numpy() == data.labels).mean()
        scores.append((task, float(acc)))
    return sorted(scores, key=lambda s: -s[1])


def _read_config(config_path) -> dict | None:
    config = read_json(Path(config_path)) if config_path else None
    if config is not None and not isinstance(config, dict):
        raise GroklabError(f"{config_path} holds no JSON object")
    return config


def _template_dataset(model: HookedModel, p: int, task: str | None, frac_train, data_seed: int,
                      config: dict | None, path, config_path) -> tuple[Dataset, list[str]]:
    """A file with no split of its own: the task inferred from accuracy when not given (it only
    scores programs); groklab's split with the file's config `frac` when it has one."""
    notes = []
    if task is None:
        scores = infer_task(model, p)
        task, acc = scores[0]
        if acc < INFER_MIN_ACC:
            tried = ", ".join(f"{t} {a:.3f}" for t, a in scores)
            raise GroklabError(f"cannot infer the task of {path}: no task mod {p} reaches "
                               f"{INFER_MIN_ACC:.0%} accuracy (tried {tried}); if the layout and "
                               "--config are right, name the task with --task")
        notes.append(f"task inferred from accuracy: {task} ({acc:.4f}; tried "
                     + ", ".join(f"{t} {a:.3f}" for t, a in scores) + ")")
    frac = frac_train if frac_train is not None else (config or {}).get("frac", DEFAULT_FILE_FRAC)
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise GroklabError(f"{config_path}: frac={frac!r} must be a number in (0, 1)")
    data = make_dataset(TaskConfig(name=task, p=p, frac_train=float(frac), data_seed=data_seed))
    notes.append(f"the file records no groklab split: held-out figures use groklab's split with "
                 f"frac_train={frac}, data_seed={data_seed}, not the split it was trained on")
    return data, notes


def _table_dataset(p: int, table: str, task: str | None, frac_train, data_seed: int,
                   config: dict | None) -> tuple[Dataset, list[str]]:
    if task is not None:
        raise GroklabError(f"--task {task} and --table both name the task: give one")
    frac = frac_train if frac_train is not None else (config or {}).get("frac", DEFAULT_FILE_FRAC)
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        frac = DEFAULT_FILE_FRAC
    task_cfg = TaskConfig(name="table", table=str(table), frac_train=float(frac),
                          data_seed=data_seed)
    if task_cfg.p != p:
        raise GroklabError(f"--table {table} has {task_cfg.p} rows but the model file has {p} "
                           "tokens: they must agree")
    return make_dataset(task_cfg), [f"scored on the table {table}; held-out figures use groklab's "
                                    f"split with frac_train={frac}, data_seed={data_seed}"]


def load_file(path: str | Path, layout: str | None = None, task: str | None = None,
              p: int | None = None, act: str | None = None, frac_train: float | None = None,
              data_seed: int = DEFAULT_FILE_DATA_SEED, config_path: str | Path | None = None,
              table: str | None = None) -> Loaded:
    """A model file users bring, the dataset it is scored on, and notes on what was assumed
    (`table`: score it on that table file instead of its layout's or a template task)."""
    reader = READERS.get(layout) if layout else None
    if reader is not None and reader.NEEDS_CONFIG and config_path is None:
        raise GroklabError(f"{path}: the {layout} layout needs its config JSON: pass --config "
                           f"{reader.CONFIG_NAME}")
    config = _read_config(config_path)
    imported = import_model(path, layout, act, config)
    if p is not None and p != imported.p:
        raise GroklabError(f"--p {p} does not match the file, whose shapes say p={imported.p}")
    model = build_imported(imported, str(path))
    if table is not None:
        data, notes = _table_dataset(imported.p, table, task, frac_train, data_seed, config)
    elif hasattr(reader, "dataset"):  # the layout records its own task and split
        data, notes = reader.dataset(imported, config, str(config_path))
    else:
        data, notes = _template_dataset(model, imported.p, task, frac_train, data_seed, config,
                                        path, config_path)
    source = {"kind": "file", "path": str(path), "checkpoint": None, "layout": layout or "auto"}
    return Loaded(model, data, source, notes)
