"""Behaviour injected into the training loop: metric logging, checkpoints, early stop, progress.

A callback sees each evaluated epoch through `on_eval(epoch, row, model_state)` and may ask to stop by
returning True, and every epoch through `on_epoch(epoch, model_state)` (no evaluation: checkpoints
on a schedule need none). On resume the loop replays the logged rows with `replay=True`, so
callbacks rebuild their state from history without writing anything.
"""

from __future__ import annotations

import sys
from typing import Callable

import numpy as np
from tqdm import tqdm

from groklab.config import TrainConfig
from groklab.store import RunStore


class Callback:
    def wants(self, epoch: int) -> bool:
        return False

    def on_eval(self, epoch: int, row: dict, weights: Callable[[], dict], replay: bool = False
                ) -> bool:
        return False

    def on_epoch(self, epoch: int, weights: Callable[[], dict]) -> None:
        pass

    def on_end(self, epoch: int, row: dict, weights: Callable[[], dict], stopped: str) -> None:
        pass


class MetricsLog(Callback):
    def __init__(self, store: RunStore, every: int):
        self.store, self.every = store, every

    def wants(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def on_eval(self, epoch, row, weights, replay=False):
        if not replay:
            self.store.append_metrics(row)
        return False


def checkpoint_schedule(cfg: TrainConfig) -> set[int]:
    """Log-spaced epochs in [1, epochs] plus every `ckpt_every`-th: dense early, steady later."""
    log = np.unique(np.round(np.geomspace(1, cfg.epochs, max(cfg.ckpt_log_points, 1))).astype(int))
    return {0, *map(int, log), *range(0, cfg.epochs + 1, cfg.ckpt_every)}


class Checkpointer(Callback):
    """Checkpoints on the schedule (no evaluation needed), and at evaluated epochs where train or
    test accuracy moved by `ckpt_on_change` since the last such checkpoint (denser where things
    change; the detector's state depends only on logged rows, so a resume replays it exactly).
    Each save also writes the resume state."""

    def __init__(self, store: RunStore, cfg: TrainConfig, save_state: Callable[[int], None]):
        self.store, self.schedule, self.delta = store, checkpoint_schedule(cfg), cfg.ckpt_on_change
        self.save_state = save_state
        self.last: tuple[float, float] | None = None
        self.saved_epoch: int | None = None

    def _moved(self, row: dict) -> bool:
        if self.last is None:
            return True
        return max(abs(row["acc/train"] - self.last[0]), abs(row["acc/test"] - self.last[1])) >= self.delta

    def on_eval(self, epoch, row, weights, replay=False):
        if self.delta > 0 and self._moved(row):
            self.last = (row["acc/train"], row["acc/test"])
            if not replay:
                self._save(epoch, weights)
        return False

    def on_epoch(self, epoch, weights):
        if epoch in self.schedule and self.saved_epoch != epoch:
            self._save(epoch, weights)

    def on_end(self, epoch, row, weights, stopped):
        if self.saved_epoch != epoch:  # the last evaluation may have saved it already
            self._save(epoch, weights)

    def _save(self, epoch: int, weights: Callable[[], dict]) -> None:
        self.store.save_checkpoint(epoch, weights())
        self.save_state(epoch)
        self.saved_epoch = epoch


class EarlyStop(Callback):
    """Stop once test accuracy >= stop_acc has held for `patience` epochs (0: never stop early)."""

    def __init__(self, cfg: TrainConfig):
        self.acc, self.patience = cfg.stop_acc, cfg.stop_patience
        self.since: int | None = None

    def on_eval(self, epoch, row, weights, replay=False):
        if row["acc/test"] < self.acc:
            self.since = None
            return False
        self.since = epoch if self.since is None else self.since
        return self.patience > 0 and epoch - self.since >= self.patience


class Progress(Callback):
    """A tqdm bar (epoch, accuracies, elapsed, ETA) on a terminal; silent otherwise or when quiet."""

    def __init__(self, total: int, start: int, quiet: bool):
        disable = quiet or not sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=start, disable=disable, unit="ep", dynamic_ncols=True,
                        desc="train")
        self.seen = start

    def on_eval(self, epoch, row, weights, replay=False):
        if not replay:
            self.bar.update(epoch - self.seen)
            self.seen = epoch
            self.bar.set_postfix_str(f"train {row['acc/train']:.3f} test {row['acc/test']:.3f}")
        return False

    def on_end(self, epoch, row, weights, stopped):
        self.bar.update(epoch - self.seen)
        self.bar.close()
