"""Binary operations mod p: the table of all pairs and the seeded train/test split.

Glossary: `n` counts pairs (p² for most tasks, p(p-1) for div, which excludes b = 0).
Pairs are ordered a-major: pair index a*p + b (for div, a*(p-1) + (b-1)).
With `relabel_seed`, the model sees number a as token perm[a] (perm a seeded permutation); the
pairs of a Dataset are always the tokens the model sees, its labels the true answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.config import TaskConfig


def _inverse(b: np.ndarray, p: int) -> np.ndarray:
    return np.array([pow(int(x), p - 2, p) for x in b], dtype=np.int64)


def apply(name: str, a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """c = a ∘ b mod p for the named operation, elementwise. # [n]"""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ops = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: a * _inverse(b, p),
        "x2y2": lambda: a * a + b * b,
        "x2xyy2": lambda: a * a + a * b + b * b,
        "x3xy": lambda: a * a * a + a * b,
    }
    return ops[name]() % p


def all_pairs(name: str, p: int) -> np.ndarray:
    """Every valid (a, b), a-major. # [n, 2]"""
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)
    return pairs[pairs[:, 1] != 0] if name == "div" else pairs


def pair_index(name: str, p: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Index into `all_pairs(name, p)` of each (a, b). # [n]"""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return a * (p - 1) + (b - 1) if name == "div" else a * p + b


def relabeling(task: TaskConfig) -> np.ndarray:
    """token_of[number]: the token that presents each number (the identity without relabel_seed)."""
    if task.relabel_seed is None:
        return np.arange(task.p)
    return np.random.Generator(np.random.PCG64(task.relabel_seed)).permutation(task.p)


@dataclass(frozen=True)
class Dataset:
    """All pairs of a task with their answers and the train/test split (index arrays into pairs)."""

    task: TaskConfig
    pairs: np.ndarray  # [n, 2] tokens the model sees
    labels: np.ndarray  # [n] true answers
    train_idx: np.ndarray  # [n_train], sorted
    test_idx: np.ndarray  # [n_test], sorted
    token_of: np.ndarray  # [p] token of each number

    @property
    def index_grid(self) -> np.ndarray:  # [p, p]: dataset index of the token pair, -1 if invalid
        grid = np.full((self.task.p, self.task.p), -1, dtype=np.int64)
        grid[self.pairs[:, 0], self.pairs[:, 1]] = np.arange(len(self.pairs))
        return grid

    @property
    def is_train(self) -> np.ndarray:  # [n] bool
        mask = np.zeros(len(self.pairs), dtype=bool)
        mask[self.train_idx] = True
        return mask


def make_dataset(task: TaskConfig) -> Dataset:
    """The dataset of `task`: a pure function of (name, p, frac_train, data_seed) (and, for task
    'group', of the group and its element numbering: the label of (a, b) is a·b)."""
    pairs = all_pairs(task.name, task.p)
    if task.name == "group":
        from groklab.groups.elements import make_group

        labels = make_group(task.group, task.element_order).table[pairs[:, 0], pairs[:, 1]]
    elif task.name == "table":
        from groklab.groups.tablefile import read_table_file

        labels = read_table_file(task.table)[pairs[:, 0], pairs[:, 1]]
    else:
        labels = apply(task.name, pairs[:, 0], pairs[:, 1], task.p)
    n_train = round(task.frac_train * len(pairs))
    order = np.random.Generator(np.random.PCG64(task.data_seed)).permutation(len(pairs))
    token_of = relabeling(task)
    return Dataset(task, token_of[pairs], labels, np.sort(order[:n_train]),
                   np.sort(order[n_train:]), token_of)
