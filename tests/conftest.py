"""Shared fixtures: tiny configs that train in a second, seeded and deterministic."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from groklab.config import ModelConfig, RunConfig, TaskConfig, TrainConfig
from groklab.train import run

torch.use_deterministic_algorithms(True)


def tiny_config(epochs: int = 60, **train) -> RunConfig:
    return RunConfig(
        task=TaskConfig(name="add", p=13, frac_train=0.5, data_seed=1),
        model=ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32),
        train=TrainConfig(**{"epochs": epochs, "lr": 3e-3, "eval_every": 5, "ckpt_every": 20,
                             "ckpt_log_points": 5, **train}),
        seed=0,
    )


@pytest.fixture
def tiny() -> RunConfig:
    return tiny_config()


def groklab_cli(*args: str, cwd=None, timeout: float = 120, env: dict | None = None
                ) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, as a user would (`env`: variables to set or replace)."""
    return subprocess.run([sys.executable, "-m", "groklab.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout,
                          env=None if env is None else {**os.environ, **env})


SMALL = {
    "task": {"name": "add", "p": 31, "frac_train": 0.5},
    "model": {"d_model": 64, "n_heads": 4, "d_head": 16, "d_mlp": 128},
    "train": {"epochs": 6000, "lr": 5e-3, "stop_patience": 300, "eval_every": 10, "ckpt_every": 100},
}


def small_config() -> RunConfig:
    """A transformer on a+b mod 31 that memorizes by ~60 epochs and groks by ~1300 (about 10 s)."""
    return RunConfig.from_dict(SMALL)


@pytest.fixture(scope="session")
def grokked_run(tmp_path_factory):
    """One real grokking run shared by the slow tests."""
    return run(small_config(), tmp_path_factory.mktemp("grok") / "run", quiet=True, threads=1)


def _interpolated_run(path, cfg: RunConfig, target, chance: float):
    """A run directory without training: checkpoints that move linearly from the seeded random
    network to `target`, and metric rows of a run that memorizes at 20 and groks at 60."""
    from groklab.models import build_model
    from groklab.store import RunStore

    store = RunStore(path)
    with store.writer():
        store.prepare(cfg)
        start = {k: v.detach().double()
                 for k, v in build_model(cfg.model, cfg.task.p, cfg.seed).named_parameters()}
        end = {k: v.detach().double() for k, v in target.named_parameters()}
        for epoch in range(0, 101, 10):
            t = min(1.0, epoch / 60)
            store.save_checkpoint(epoch, {k: ((1 - t) * start[k] + t * end[k]).float()
                                          for k in start})
            store.append_metrics({"epoch": epoch, "loss/train": 4 * (1 - t) + 1e-3,
                                  "loss/test": 4.5 * (1 - t) + 1e-3 + (0.5 if epoch < 50 else 0),
                                  "acc/train": 1.0 if epoch >= 20 else epoch / 20,
                                  "acc/test": 1.0 if epoch >= 60 else chance, "lr": 1e-3,
                                  "norm/total": 100 - 40 * t})
        store.write_summary({"epochs": 100, "stopped": "epochs", "memorized_epoch": 20,
                             "grokked_epoch": 60, "final": {}, "wall_s": 0.0})
    return store


def handbuilt_run(path, p: int = 31, freqs=(3, 7, 11)):
    """The hand-built Fourier network as a run (_interpolated_run), under a preset name that needs
    escaping. For tests of the stages after training (report, extract) in the fast tier."""
    from handbuilt import fourier_transformer

    target = fourier_transformer(p, freqs)
    cfg = RunConfig(task=TaskConfig(name="add", p=p, frac_train=0.3),
                    model=target.cfg, train=TrainConfig(epochs=100), seed=0,
                    preset="hand <built> & 'quoted' </script><script>alert(1)</script>")
    return _interpolated_run(path, cfg, target, 0.03)


def group_handbuilt_run(path, group: str = "S4", irreps=("(3,1)", "(2,2)")):
    """The hand-built character network (handbuilt.character_mlp) as a group-task run."""
    from handbuilt import character_mlp

    target = character_mlp(group, irreps)
    cfg = RunConfig(task=TaskConfig(name="group", group=group, frac_train=0.5), model=target.cfg,
                    train=TrainConfig(epochs=100), seed=0, preset="hand <built>")
    return _interpolated_run(path, cfg, target, 0.04)
