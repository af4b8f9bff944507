"""Evaluate a model on a task: all pairs, and the N×N grid of group coordinates the Fourier views use.

The only analysis module that runs the model. Glossary: N (group order), n (all valid pairs of the
task), d_mlp (neurons). Grid rows are i-major: row i*N + j holds the pair (tokens[i], tokens[j]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from groklab.analysis.cyclic.fourier import Coords, plain_coords
from groklab.models import HookedModel
from groklab.tasks import Dataset

Hooks = dict[str, Callable]


@dataclass
class Probe:
    """A model, its task's dataset, and the grid of group coordinates."""

    model: HookedModel
    data: Dataset
    coords: Coords
    grid_pairs: torch.Tensor  # [N², 2] tokens
    grid_labels: np.ndarray  # [N²] coordinate of the answer (0 for rows outside the task)
    grid_train: np.ndarray  # [N²] bool: the pair is a training pair
    grid_valid: np.ndarray  # [N²] bool: the pair is a pair of the task (and its answer on the grid)

    @classmethod
    def build(cls, model: HookedModel, data: Dataset, coords: Coords | None = None) -> "Probe":
        """The probe on `coords` (discovered by analysis.frame; plain token order if None)."""
        c = plain_coords(data.task.p) if coords is None else coords
        i, j = np.meshgrid(np.arange(c.n), np.arange(c.n), indexing="ij")
        a, b = c.tokens[i.ravel()], c.tokens[j.ravel()]
        idx = data.index_grid[a, b]
        answers = data.labels[np.maximum(idx, 0)]
        position = np.full(c.p, -1)
        position[c.out_tokens] = np.arange(c.n)
        valid = (idx >= 0) & (position[answers] >= 0)
        train = data.is_train[np.maximum(idx, 0)] & valid
        pairs = torch.as_tensor(np.stack([a, b], 1))
        return cls(model, data, c, pairs, np.maximum(position[answers], 0) * valid, train, valid)

    # ---- forward passes -----------------------------------------------------------------------
    @torch.no_grad()
    def all_logits(self, hooks: Hooks | None = None) -> torch.Tensor:  # [n, p]
        with self.model.hooks(hooks or {}):
            return self.model.logits(torch.as_tensor(self.data.pairs)).float()

    @torch.no_grad()
    def grid_logits(self, hooks: Hooks | None = None) -> np.ndarray:  # [N², N]
        with self.model.hooks(hooks or {}):
            logits = self.model.logits(self.grid_pairs)
        return logits[:, torch.as_tensor(self.coords.out_tokens)].double().numpy()

    def all_from_grid(self, grid_logits: np.ndarray) -> torch.Tensor | None:
        """All-pair logits [n, p] read off grid logits, when the grid is exactly the dataset's
        pairs in order and its classes all classes in order; None otherwise."""
        c, pairs = self.coords, self.data.pairs
        same = c.n == c.p and len(pairs) == c.n * c.n \
            and np.array_equal(c.out_tokens, np.arange(c.p)) \
            and np.array_equal(self.grid_pairs.numpy(), pairs)
        return torch.as_tensor(grid_logits) if same else None

    # ---- losses -------------------------------------------------------------------------------
    def scores(self, logits: torch.Tensor, idx: np.ndarray | None = None) -> tuple[float, float]:
        """(loss, accuracy) of all-pair logits [n, p] on the pairs `idx` (all if None)."""
        labels = torch.as_tensor(self.data.labels)
        if idx is not None:
            logits, labels = logits[torch.as_tensor(idx)], labels[torch.as_tensor(idx)]
        loss = F.cross_entropy(logits.double(), labels).item()
        return loss, (logits.argmax(-1) == labels).double().mean().item()

    def grid_scores(self, logits: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
        """(loss, accuracy) of grid logits [N², N] over the valid grid rows in `mask` (all if
        None)."""
        mask = self.grid_valid if mask is None else mask & self.grid_valid
        logits, labels = logits[mask], self.grid_labels[mask]
        if not len(labels):
            return float("nan"), float("nan")
        z = logits - logits.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        loss = -logp[np.arange(len(labels)), labels].mean()
        return float(loss), float((logits.argmax(-1) == labels).mean())
