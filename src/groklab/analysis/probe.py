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

from groklab.analysis.fourier import Coords, coords
from groklab.models import HookedModel
from groklab.tasks import Dataset, apply, pair_index

Hooks = dict[str, Callable]


@dataclass
class Probe:
    """A model, its task's dataset, and the grid of group coordinates."""

    model: HookedModel
    data: Dataset
    coords: Coords
    grid_pairs: torch.Tensor  # [N², 2] tokens
    grid_labels: np.ndarray  # [N²] coordinate of the answer
    grid_train: np.ndarray  # [N²] bool: the pair is a training pair

    @classmethod
    def build(cls, model: HookedModel, data: Dataset) -> "Probe":
        c = coords(data.task.name, data.task.p)
        i, j = np.meshgrid(np.arange(c.n), np.arange(c.n), indexing="ij")
        a, b = c.tokens[i.ravel()], c.tokens[j.ravel()]
        answers = apply(c.task, a, b, c.p)
        position = np.full(c.p, -1)
        position[c.tokens] = np.arange(c.n)
        train = data.is_train[pair_index(c.task, c.p, a, b)]
        pairs = torch.as_tensor(np.stack([a, b], 1))
        return cls(model, data, c, pairs, position[answers], train)

    # ---- forward passes -----------------------------------------------------------------------
    @torch.no_grad()
    def all_logits(self, hooks: Hooks | None = None) -> torch.Tensor:  # [n, p]
        with self.model.hooks(hooks or {}):
            return self.model.logits(torch.as_tensor(self.data.pairs)).float()

    @torch.no_grad()
    def grid_logits(self, hooks: Hooks | None = None) -> np.ndarray:  # [N², N]
        with self.model.hooks(hooks or {}):
            logits = self.model.logits(self.grid_pairs)
        return logits[:, torch.as_tensor(self.coords.tokens)].double().numpy()

    def all_from_grid(self, grid_logits: np.ndarray) -> torch.Tensor | None:
        """All-pair logits [n, p] read off grid logits, when the grid is exactly all pairs in order
        (add, sub and the plain-coordinate tasks); None otherwise."""
        if self.coords.n != self.coords.p or self.coords.task == "div":
            return None
        return torch.as_tensor(grid_logits)

    # ---- losses -------------------------------------------------------------------------------
    def scores(self, logits: torch.Tensor, idx: np.ndarray | None = None) -> tuple[float, float]:
        """(loss, accuracy) of all-pair logits [n, p] on the pairs `idx` (all if None)."""
        labels = torch.as_tensor(self.data.labels)
        if idx is not None:
            logits, labels = logits[torch.as_tensor(idx)], labels[torch.as_tensor(idx)]
        loss = F.cross_entropy(logits.double(), labels).item()
        return loss, (logits.argmax(-1) == labels).double().mean().item()

    def grid_scores(self, logits: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
        """(loss, accuracy) of grid logits [N², N] over the grid rows in `mask` (all if None)."""
        labels = self.grid_labels
        if mask is not None:
            logits, labels = logits[mask], labels[mask]
        z = logits - logits.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        loss = -logp[np.arange(len(labels)), labels].mean()
        return float(loss), float((logits.argmax(-1) == labels).mean())
