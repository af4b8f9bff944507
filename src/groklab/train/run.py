"""`run(config)`: the training pipeline in one reading: dataset → model → trainer → run directory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from groklab.config import RunConfig
from groklab.errors import GroklabError
from groklab.models import HookedModel, build_model
from groklab.store import RunStore
from groklab.tasks import Dataset, make_dataset
from groklab.train.callbacks import Checkpointer, EarlyStop, MetricsLog, Progress
from groklab.train.loop import Batch, Trainer
from groklab.train.summary import summarize


@dataclass
class TrainResult:
    """What `run` leaves behind: the run directory, its summary, and the trained model."""

    path: Path
    config: RunConfig
    summary: dict
    model: HookedModel
    resumed_from: int | None


def set_threads(threads: int | None) -> None:
    """Intra-op threads; default 1 (on a loaded 2-core machine 2 threads can be far slower)."""
    threads = 1 if threads is None else threads
    if threads < 1:
        raise GroklabError(f"threads={threads} must be >= 1")
    torch.set_num_threads(threads)


def resolve_device(device: str) -> torch.device:
    if device not in ("cpu", "cuda"):
        raise GroklabError(f"device={device!r} is not one of: cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise GroklabError("device='cuda' requested but torch sees no CUDA GPU; use --device cpu")
    return torch.device(device)


def to_batch(data: Dataset, device: torch.device) -> Batch:
    pairs = torch.as_tensor(data.pairs, device=device)
    labels = torch.as_tensor(data.labels, device=device)
    tr, te = torch.as_tensor(data.train_idx), torch.as_tensor(data.test_idx)
    return Batch(pairs[tr], labels[tr], pairs[te], labels[te])


def run(config: RunConfig, out: str | Path, *, threads: int | None = None, device: str = "cpu",
        quiet: bool = False, overwrite: bool = False) -> TrainResult:
    """Train `config` into the run directory `out`, resuming from its last checkpoint if it has one."""
    set_threads(threads)
    dev = resolve_device(device)
    store = RunStore(out)
    with store.writer():
        resumable = store.prepare(config, overwrite=overwrite)
        data = make_dataset(config.task)
        model = build_model(config.model, config.task.p, config.seed).to(dev)
        trainer = Trainer(model, config.train)
        start, rows, prior_wall = 0, [], 0.0
        if resumable:
            start, tensors, prior_wall = store.load_state()
            trainer.load_state_tensors({k: v.to(dev) for k, v in tensors.items()})
            rows = store.keep_metrics_before(start)
            store.drop_checkpoints_after(start)
        elif store.metrics_path.exists():
            store.clear()
        t0 = time.perf_counter()  # wall_s counts every segment of a resumed run

        def save_state(epoch: int) -> None:
            store.save_state(epoch, trainer.state_tensors(),
                             prior_wall + time.perf_counter() - t0)

        callbacks = [
            MetricsLog(store, config.train.eval_every),
            Checkpointer(store, config.train, save_state),
            EarlyStop(config.train),
            Progress(config.train.epochs, start, quiet),
        ]
        for row in rows:
            for cb in callbacks:
                cb.on_eval(row["epoch"], row, trainer.weights, replay=True)
        _, _, stopped = trainer.fit(to_batch(data, dev), callbacks, start)
        summary = summarize(store.read_metrics(), stopped, prior_wall + time.perf_counter() - t0)
        store.write_summary(summary)
    return TrainResult(store.path, config, summary, model.cpu(), start or None)

