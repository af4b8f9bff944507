"""Shared fixtures: tiny configs that train in a second, seeded and deterministic."""

from __future__ import annotations

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


def groklab_cli(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "groklab.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


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
