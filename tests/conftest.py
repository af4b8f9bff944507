"""Shared fixtures: tiny configs that train in a second, seeded and deterministic."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from groklab.config import ModelConfig, RunConfig, TaskConfig, TrainConfig

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
