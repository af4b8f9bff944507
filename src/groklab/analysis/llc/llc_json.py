"""`groklab llc`: the LLC at a run's checkpoints, and the ε × nβ calibration grid, into RUN/llc.json.

llc.json: `schema_version`, `settings` (every hyperparameter used, nβ resolved), `rule`,
`estimates` (one per checkpoint: `epoch`, `llc` (null when invalid), `llc_std`, `chains`, `valid`,
`reason`, `stationary`, `loss_init`, `loss_trace`, `nbeta`), and `calibration` when one was run
(`epoch`, `epsilons`, `nbetas`, `llc` [ε][nβ] (null: invalid), `stationary` [ε][nβ]).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

from groklab.analysis.llc.batched import estimate_checkpoints
from groklab.analysis.llc.estimator import (LLC_RULE, LLCEstimate, LLCSettings, estimate_model,
                                            pick_checkpoints)
from groklab.errors import GroklabError
from groklab.models.io import load_weights
from groklab.sources import load_run_model
from groklab.store import LLC_FILE, RunStore, read_json, write_json
from groklab.tasks import make_dataset

LLC_SCHEMA = 1
CALIBRATION_EPSILONS = (1e-4, 3e-4, 1e-3)
CALIBRATION_NBETA_FACTORS = (0.25, 1.0, 4.0)  # × the default nβ = n/ln n


def _previous(store: RunStore) -> dict:
    path = store.file(LLC_FILE)
    if not path.is_file():
        return {}
    data = read_json(path)
    return data if isinstance(data, dict) and data.get("schema_version") == LLC_SCHEMA else {}


def llc_run(path: str | Path, settings: LLCSettings, which: str | int = "all",
            on_checkpoint: Callable[[int, int], None] | None = None,
            max_models: int = 1, forward: str = "auto") -> list[LLCEstimate]:
    """λ̂ at the chosen checkpoints of a run; writes RUN/llc.json (keeping a calibration).
    `max_models` > 1: the chains of up to max_models // chains checkpoints at a time run as one
    batched SGLD through `forward` (analysis.llc.batched: the loop, a CPU's default, gives the
    sequential chains bit for bit; vmap the same estimates to float rounding)."""
    if isinstance(max_models, bool) or not isinstance(max_models, int) or max_models < 1:
        raise GroklabError(f"max_models={max_models!r} must be an integer >= 1")
    store = RunStore(path)
    cfg = store.read_config()
    with store.writer():
        model, _ = load_run_model(path)
        data = make_dataset(cfg.task)
        epochs = pick_checkpoints(store.checkpoint_epochs(), which)
        per_batch = max(1, max_models // settings.chains) if max_models > 1 else 1
        out = []
        for first in range(0, len(epochs), per_batch):
            chunk = epochs[first:first + per_batch]
            states = []
            for epoch in chunk:
                load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
                states.append({n: p.detach().clone() for n, p in model.named_parameters()})
            if max_models > 1:
                out += estimate_checkpoints(model, data, settings, states, chunk, forward)
            else:
                out.append(estimate_model(model, data, settings, chunk[0]))
            if on_checkpoint:
                on_checkpoint(len(out), len(epochs))
        n = len(data.train_idx)
        write_json(store.file(LLC_FILE), {
            "schema_version": LLC_SCHEMA,
            "settings": {**asdict(settings), "nbeta": settings.resolved_nbeta(n), "n": n,
                         "loss": "mean cross-entropy over the training pairs (float64)"},
            "rule": LLC_RULE, "estimates": [e.to_dict() for e in out],
            **({"calibration": c} if (c := _previous(store).get("calibration")) else {})})
    return out


def calibrate(path: str | Path, settings: LLCSettings, checkpoint: int | None = None,
              on_cell: Callable[[int, int], None] | None = None) -> dict:
    """λ̂ over the ε × nβ grid at one checkpoint (the last by default); stored in llc.json."""
    store = RunStore(path)
    cfg = store.read_config()
    with store.writer():
        model, epoch = load_run_model(path, checkpoint)
        data = make_dataset(cfg.task)
        default = settings.resolved_nbeta(len(data.train_idx))
        nbetas = [round(default * f, 4) for f in CALIBRATION_NBETA_FACTORS]
        grid, stationary, reasons = [], [], []
        cells = len(CALIBRATION_EPSILONS) * len(nbetas)
        for i, eps in enumerate(CALIBRATION_EPSILONS):
            row, row_s = [], []
            for j, nb in enumerate(nbetas):
                e = estimate_model(model, data, replace(settings, epsilon=eps, nbeta=nb), epoch)
                row.append(e.llc)
                row_s.append(e.valid and e.stationary)
                if e.reason:
                    reasons.append(f"epsilon {eps:g}, nbeta {nb:g}: {e.reason}")
                if on_cell:
                    on_cell(i * len(nbetas) + j + 1, cells)
            grid.append(row)
            stationary.append(row_s)
        result = {"epoch": epoch, "epsilons": list(CALIBRATION_EPSILONS), "nbetas": nbetas,
                  "llc": grid, "stationary": stationary, "invalid": reasons,
                  "settings": {k: v for k, v in asdict(settings).items()
                               if k not in ("epsilon", "nbeta")}}
        previous = _previous(store)
        write_json(store.file(LLC_FILE), {**previous, "schema_version": LLC_SCHEMA,
                                          "rule": LLC_RULE, "calibration": result,
                                          "settings": previous.get("settings", {}),
                                          "estimates": previous.get("estimates", [])})
    return result


def require_checkpoints(path: str | Path) -> None:
    store = RunStore(path)
    store.read_config()
    if not store.checkpoint_epochs():
        raise GroklabError(f"{store.path} has no checkpoints; train it first")
