"""`analyze` for group composition: the irreps pipeline (analysis.representations) over one model
and over every checkpoint of a run; writes analysis.json with `kind: "group"`.

Pipeline: load → snapshot on the group's irreps (fractions, key irreps, restricted/excluded loss per
irrep) → the character program fitted and compared with the network (analysis.characters; it
decides `algorithm`: characters or lookup; the verdict is extract's) → for runs, progress over
every checkpoint and the phases → analysis.json.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from groklab.analysis.grokking import Phases, phases
from groklab.analysis.keyfreq import SUFFICIENT_ACC
from groklab.analysis.progress import lead
from groklab.analysis.representations import (GroupProgressPoint, GroupSnapshot, group_progress,
                                              group_snapshot, model_logits, view_of)
from groklab.models import HookedModel
from groklab.models.io import load_weights
from groklab.store import ANALYSIS_FILE, RunStore, write_json
from groklab.analysis.characters import compare, fit_program
from groklab.tasks import Dataset


@dataclass
class GroupAnalysisResult:
    """analysis.json for a group task (`kind: "group"`; documented in docs/schemas.md)."""

    schema_version: int
    kind: str
    source: dict
    task: str
    group: str
    element_order: str
    p: int  # |G|
    model: dict
    grokked: bool  # held-out accuracy >= SUFFICIENT_ACC
    accuracy: float
    loss: float
    test_accuracy: float
    train_loss: float
    key_irreps: list[str]
    key_irrep_rule: str
    irrep_fractions: dict[str, float]
    restricted_loss: float
    restricted_accuracy: float
    excluded_loss: float
    algorithm: str  # characters | lookup (analysis.characters.ALGORITHM_RULE)
    program: dict  # the character program against the network (accuracy, agreement, ablation, ...)
    snapshot: GroupSnapshot
    irreps: list[dict]  # name, dim, kind (1 real, 2 a complex pair) of every irrep
    notes: list[str] = field(default_factory=list)
    phases: Phases | None = None
    progress: list[GroupProgressPoint] | None = None
    lead: dict | None = None

    def to_dict(self) -> dict:
        from groklab.analysis.analyze import _clean

        return _clean(dataclasses.asdict(self))


def analyze_group_model(model: HookedModel, data: Dataset, source: dict,
                        notes: list[str] | None = None) -> GroupAnalysisResult:
    from groklab.analysis.analyze import SCHEMA_VERSION

    model.eval()
    view = view_of(data)
    logits, acts = model_logits(model, data, neurons=True)
    snap = group_snapshot(model, data, logits, acts)
    program = fit_program(view, logits, data, snap.keys.names)
    check = compare(view, program, logits, data)
    notes = list(notes or [])
    grokked = snap.test_accuracy >= SUFFICIENT_ACC
    if not grokked:
        notes.insert(0, f"not grokked: held-out accuracy {snap.test_accuracy:.2%}; key-irrep claims "
                        "describe structure, not a working algorithm")
    if not snap.keys.names:
        notes.append("no key irreps by the rule: the model shows no representation algorithm")
    irreps = [{"name": r.name, "dim": r.dim, "kind": r.kind} for r in view.irreps]
    return GroupAnalysisResult(
        SCHEMA_VERSION, "group", source, data.task.name, view.group.name,
        view.group.element_order, view.group.order, dataclasses.asdict(model.cfg), grokked,
        snap.accuracy, snap.loss, snap.test_accuracy, snap.train_loss, snap.keys.names,
        snap.keys.rule, snap.irrep_fractions, snap.restricted_loss, snap.restricted_accuracy,
        snap.excluded_loss, check.algorithm,
        {**dataclasses.asdict(check), "irreps": program.irreps, "alpha": program.alpha,
         "scale": program.scale}, snap, irreps, notes)


def analyze_group_run(store: RunStore, model: HookedModel, epoch: int, data: Dataset,
                      with_progress: bool, on_checkpoint: Callable[[int, int], None] | None,
                      write: bool) -> GroupAnalysisResult:
    cfg = store.read_config()
    result = analyze_group_model(model, data, {"kind": "run", "path": str(store.path),
                                               "checkpoint": epoch, "layout": "groklab",
                                               "preset": cfg.preset})
    if with_progress:
        epochs = store.checkpoint_epochs()
        points = []
        for i, e in enumerate(epochs):
            load_weights(model, store.load_checkpoint(e), str(store.checkpoint_path(e)))
            points.append(group_progress(model, data, e, result.key_irreps))
            if on_checkpoint:
                on_checkpoint(i + 1, len(epochs))
        load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
        result.progress = points
        result.phases = phases(store.read_metrics())
        result.lead = lead(points)
    if write:
        write_json(store.file(ANALYSIS_FILE), result.to_dict())
    return result


def format_group_analysis(r: GroupAnalysisResult) -> str:
    """A terminal summary."""
    k, s, prog = r.snapshot.keys, r.snapshot, r.program
    pct = lambda x: "-" if x is None else f"{x:.2%}"  # noqa: E731
    lines = [f"composition in {r.group} (|G| = {r.p}, {r.model['kind']}): accuracy {r.accuracy:.4f} "
             f"on all pairs, held out {r.test_accuracy:.4f}" + ("" if r.grokked else "  NOT GROKKED"),
             f"key irreps: {r.key_irreps}  (candidates {k.candidates}; sufficient {k.sufficient}; "
             "necessary " + ", ".join(f"{n}:{'yes' if v else 'NO'}" for n, v in k.necessary.items())
             + ")",
             f"restricted loss {r.restricted_loss:.3g} (acc {r.restricted_accuracy:.4f}); excluded "
             f"loss (train) {r.excluded_loss:.3g}; full train loss {r.train_loss:.3g}",
             f"neurons (best irrep >= 85%): {s.neuron_irreps}; mean best-irrep fraction "
             f"{s.neuron_fraction_explained:.3f}",
             f"  {'irrep':12s} {'dim':>3s} {'embed':>6s} {'unembed':>7s} {'logits':>6s} "
             f"{'only: loss':>10s} {'acc':>7s} {'without: train loss':>19s}"]
    for row in s.per_irrep:
        lines.append(f"  {row['irrep'] + (' *' if row['key'] else ''):12s} {row['dim']:3d} "
                     f"{row['embed_fraction']:6.3f} {row['unembed_fraction']:7.3f} "
                     f"{row['logit_share']:6.3f} {row['restricted_loss']:10.3g} "
                     f"{row['restricted_accuracy']:7.4f} {row['excluded_train_loss']:19.3g}")
    lines.append(f"algorithm: {r.algorithm}; character program: accuracy "
                 f"{pct(prog['program_accuracy'])}, agreement {pct(prog['agreement'])} (held out "
                 f"{pct(prog['test_agreement'])}), network without the key irreps "
                 f"{pct(prog['ablated_accuracy'])}; the verdict: groklab extract")
    if r.phases is not None:
        ph = r.phases
        lines.append(f"phases: memorization ends {ph.memorization_end}, circuit formation ends "
                     f"{ph.circuit_formation_end}, cleanup ends {ph.cleanup_end}; grokked at "
                     f"{ph.grokked_epoch}; lead {r.lead}")
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)


def chughtai_dataset(task_group: str, config: dict, where: str) -> tuple[Dataset, list[str]]:
    """The dataset of a Chughtai et al. model in their numbering, with their split:
    torch.manual_seed(seed); torch.randperm(n²) over pair index a·n + b; the first
    int(frac_train·n²) pairs train."""
    import numpy as np
    import torch

    from groklab.config import TaskConfig
    from groklab.errors import GroklabError
    from groklab.tasks import make_dataset

    frac, seed = config.get("frac_train"), config.get("seed")
    if not isinstance(frac, (int, float)) or isinstance(frac, bool) or not 0 < frac < 1:
        raise GroklabError(f"{where}: frac_train={frac!r} must be a number in (0, 1)")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise GroklabError(f"{where}: seed={seed!r} must be a non-negative integer")
    data = make_dataset(TaskConfig(name="group", group=task_group, element_order="chughtai2023",
                                   frac_train=float(frac)))
    n2 = len(data.pairs)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n2, generator=gen).numpy()
    n_train = int(frac * n2)
    data = dataclasses.replace(data, train_idx=np.sort(order[:n_train]),
                               test_idx=np.sort(order[n_train:]))
    return data, [f"split as Chughtai et al.: torch.randperm({n2}) with seed {seed}, first "
                  f"{n_train} pairs train"]


def load_chughtai(path: str | Path, config_path: str | Path | None, act: str | None = None
                  ) -> tuple[HookedModel, Dataset, list[str]]:
    from groklab.errors import GroklabError
    from groklab.models.io import build_imported, import_model
    from groklab.store import read_json

    if config_path is None:
        raise GroklabError(f"{path}: the chughtai2023 layout needs its config JSON: pass "
                           "--config cfg.json")
    config = read_json(Path(config_path))
    if not isinstance(config, dict):
        raise GroklabError(f"{config_path} holds no JSON object")
    imported = import_model(path, "chughtai2023", act, config)
    model = build_imported(imported, str(path))
    data, notes = chughtai_dataset(imported.extras["group"], config, str(config_path))
    return model, data, notes


def analyze_group_file(path: str | Path, config_path: str | Path | None, act: str | None,
                       json_path: str | Path | None, report: Callable[[str], None] = print
                       ) -> GroupAnalysisResult:
    model, data, notes = load_chughtai(path, config_path, act)
    result = analyze_group_model(model, data, {"kind": "file", "path": str(path),
                                               "checkpoint": None, "layout": "chughtai2023"},
                                 notes)
    report(f"loaded {path} (mlp, {result.group}): accuracy on all {len(data.pairs)} pairs "
           f"{result.accuracy:.4f}")
    out = Path(json_path) if json_path else Path(path).with_suffix(".analysis.json")
    write_json(out, result.to_dict())
    result.source["json"] = str(out)
    return result
