"""The cyclic domain's analysis of one model: reverse-engineer the algorithm and verify it.

Reads as the pipeline: frame (coordinates discovered from the weights) → snapshot (views) → key
frequencies → circles, neurons, logit fit → ablations → program families and diagnostics. Progress
over every checkpoint and the phases are filled in by the engine's tracker (engine/cyclic.py).

The JSON schema (store.ANALYSIS_SCHEMA, docs/schemas.md) is the `AnalysisResult` dataclass,
flattened with `dataclasses.asdict`; its top level always has key_frequencies, accuracy,
neuron_fraction_explained, logit_fve, restricted_loss, excluded_loss, and for runs phases and
progress (one object per checkpoint).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from groklab.analysis.cyclic import keyfreq
from groklab.analysis.cyclic.ablations import Ablation, ablation_table
from groklab.analysis.cyclic.diagnostics import (authors_gradient_symmetricity,
                                                 correct_logit_matrix, diagnose, input_side,
                                                 is_deep)
from groklab.analysis.cyclic.embeddings import Circle, circle
from groklab.analysis.cyclic.families import FamilyComparison, compare
from groklab.analysis.cyclic.frame import Frame, build_frame, frame_coords
from groklab.analysis.grokking import Phases
from groklab.analysis.cyclic.layers import LayerView, layer_views
from groklab.analysis.cyclic.logits import LogitFit, excluded, fit_logits, interference, restricted
from groklab.analysis.cyclic.neurons import NeuronClusters
from groklab.analysis.cyclic.probe import Probe
from groklab.analysis.cyclic.progress import ProgressPoint, snapshot
from groklab.models import HookedModel
from groklab.store import ANALYSIS_SCHEMA, to_jsonable
from groklab.tasks import Dataset


@dataclass
class AnalysisResult:
    """Everything `groklab analyze` finds; `to_dict()` is the analysis.json schema."""

    schema_version: int
    source: dict  # kind (run|file), path, checkpoint epoch, layout
    task: str
    p: int
    group_order: int  # N: p, or p-1 for mul/div (discrete logs)
    generator: int | None
    model: dict  # the ModelConfig
    accuracy: float  # the model on all valid pairs of the task
    loss: float
    test_accuracy: float
    key_frequencies: list[int]
    key_frequency_rule: str
    keys: keyfreq.KeyFrequencies
    embed_norms: list[float]  # Fourier norm of W_E per frequency 1..K
    unembed_norms: list[float]  # Fourier norm of W_L per frequency 1..K
    circles: list[Circle]
    neurons: NeuronClusters
    neuron_fraction_explained: float
    logit_fit: LogitFit
    logit_fve: float
    interference: dict
    restricted_loss: float
    restricted_accuracy: float
    excluded_loss: float  # on the training pairs
    train_loss: float  # the full model on the training pairs of the grid
    ablations: list[Ablation]
    algorithm: str = "unknown"  # clock | pizza | lookup | unknown, by families.RULE
    families: dict = field(default_factory=dict)  # per family: FamilyScore
    family_comparison: FamilyComparison | None = None
    input_map: dict = field(default_factory=dict)
    output_map: dict = field(default_factory=dict)
    sign: int = 1  # the inputs combine as f(a) + sign * f(b)
    gradient_symmetricity: float | None = None  # votes for one-layer models only
    # Zhong et al.'s attention: the number their own code prints (diagnostics.
    # authors_gradient_symmetricity: the final residual's coordinate c, not logit c)
    gradient_symmetricity_authors: float | None = None
    distance_irrelevance: float | None = None
    input_side: dict | None = None  # diagnostics.input_side: do the inputs meet by addition?
    layers: list[LayerView] | None = None  # transformers: layers.layer_views, one per block
    distance_resample: dict = field(default_factory=dict)
    correct_logits: list[list[float | None]] | None = None  # [x][δ] mean correct-answer logit
    notes: list[str] = field(default_factory=list)
    phases: Phases | None = None
    progress: list[ProgressPoint] | None = None
    structure_test_loss_spearman: float | None = None  # checkpoints from the end of memorization
    structure_test_loss_spearman_all: float | None = None  # every checkpoint
    emergence: dict | None = None
    lead: dict | None = None  # progress.lead: restricted loss vs test loss crossing LEAD_LOSS
    circle_frames: list[dict] | None = None  # {epoch, circles: [Circle]} over <= 40 checkpoints

    def to_dict(self) -> dict:
        return to_jsonable(dataclasses.asdict(self))

    def summary_lines(self) -> list[str]:
        """The terminal summary."""
        k = self.keys
        lines = [
            f"{self.task} mod {self.p} ({self.model['kind']}): accuracy {self.accuracy:.4f} on all "
            "pairs",
            f"key frequencies: {self.key_frequencies}  (views: embed {k.views['embed']}, neurons "
            f"{k.views['neurons']}, unembed {k.views['unembed']}; agreement {k.agreement:.2f})",
            f"  sufficient: {k.sufficient} (restricted accuracy {k.restricted_acc:.4f}); necessary: "
            + ", ".join(f"{f}:{'yes' if v else 'NO'}" for f, v in k.necessary.items()),
            f"neurons explained (FVE > 0.85): {self.neuron_fraction_explained:.1%}  clusters "
            f"{self.neurons.clusters}",
            "logit FVE of sum_k a_k cos(w_k(x-c)) on the discovered coordinates: "
            f"{self.logit_fve:.3f}",
            f"restricted loss {self.restricted_loss:.3g} (acc {self.restricted_accuracy:.4f}); "
            f"excluded loss (train) {self.excluded_loss:.3g}; full train loss {self.train_loss:.3g}",
            "circularity: " + ", ".join(f"k={c.freq}: {c.circularity:.2f}" for c in self.circles),
            f"coordinates: input map {self.input_map['kind']}, output map "
            f"{self.output_map['kind']}, x = f(a) {'+' if self.sign > 0 else '-'} f(b) mod "
            f"{self.group_order}",
            f"algorithm: {self.algorithm}; gradient symmetricity {self.gradient_symmetricity:.3f}"
            + ("" if self.gradient_symmetricity_authors is None else
               f" (their script's reading: {self.gradient_symmetricity_authors:.3f})")
            + f", distance irrelevance {self.distance_irrelevance:.3f}; inputs meet as a "
            f"{(self.input_side or {}).get('side')} (FVE with E_a, E_b -> their mean "
            f"{(self.input_side or {}).get('fve', float('nan')):.3f})",
            *self.family_comparison.summary_lines(),
        ]
        return lines + self._layer_lines() + self._progress_lines() + self._ablation_lines()

    def _layer_lines(self) -> list[str]:
        return [f"layer {v.layer}: key-frequency share of the residual stream "
                f"{v.resid_key_share:.3f}, of the neurons {v.neuron_key_share:.3f} (clusters "
                f"{v.neuron_clusters}); accuracy without its attention {v.accuracy_without_attn:.3f}"
                + ("; no MLP" if v.accuracy_without_mlp is None
                   else f", without its MLP {v.accuracy_without_mlp:.3f}")
                + ("" if v.restricted_loss is None else
                   f"; restricted loss {v.restricted_loss:.3g} (acc {v.restricted_accuracy:.3f}), "
                   f"excluded (train) {v.excluded_train_loss:.3g}")
                for v in self.layers or []]

    def _progress_lines(self) -> list[str]:
        if self.phases is None:
            return []
        ph, ld = self.phases, self.lead or {}
        return [f"phases: memorization ends {ph.memorization_end}, circuit formation ends "
                f"{ph.circuit_formation_end}, cleanup ends {ph.cleanup_end}; grokked at "
                f"{ph.grokked_epoch}",
                f"Spearman(restricted loss, test loss): {self.structure_test_loss_spearman:.3f} "
                f"from the end of memorization, {self.structure_test_loss_spearman_all:.3f} over "
                f"all {len(self.progress)} checkpoints; emergence {self.emergence}",
                f"lead: restricted loss <= {ld.get('threshold')} at epoch "
                f"{ld.get('restricted_epoch')}, test loss at {ld.get('test_epoch')} "
                f"(structure leads by {ld.get('lead_epochs')} epochs)"]

    def _ablation_lines(self) -> list[str]:
        lines = [f"{'ablation':18s} {'loss':>9s} {'acc':>7s} {'test acc':>8s}"]
        lines += [f"{a.name:18s} {a.loss:9.4g} {a.acc:7.4f} {a.test_acc:8.4f}"
                  for a in self.ablations]
        return lines + [f"note: {n}" for n in self.notes]


def side_notes(algorithm: str, side: dict, deep: bool, symmetricity: float) -> list[str]:
    """What the input side and depth say about the program's name."""
    notes = []
    if deep:
        notes.append(f"gradient symmetricity {symmetricity:.3f} is reported but does not vote: at "
                     "depth it stays near 1 whatever the program; the logits decide clock or pizza")
    if algorithm == "clock" and side["side"] == "sum":
        notes.append(f"a clock on summed inputs: the logits are clock-shaped but the network reads "
                     f"only E_a + E_b (FVE {side['fve']:.3f} with both embeddings replaced by "
                     "their mean)")
    return notes


def analyze_model(model: HookedModel, data: Dataset, source: dict,
                  notes: list[str] | None = None) -> AnalysisResult:
    """The full single-model analysis."""
    return analyze_with_frame(model, data, source, notes)[0]


def analyze_with_frame(model: HookedModel, data: Dataset, source: dict,
             notes: list[str] | None = None) -> tuple[AnalysisResult, Frame]:
    model.eval()
    frame = build_frame(model, data)
    probe = Probe.build(model, data, frame_coords(frame))
    c = probe.coords
    snap = snapshot(probe)
    all_logits = probe.all_logits()
    loss, acc = probe.scores(all_logits)
    _, test_acc = probe.scores(all_logits, data.test_idx)
    keys = keyfreq.choose(probe, snap.grid_logits, snap.views, acc)
    freqs = keys.freqs
    r_loss, r_acc = probe.grid_scores(restricted(snap.grid_logits, c, freqs))
    x_loss, _ = probe.grid_scores(excluded(snap.grid_logits, c, freqs), probe.grid_train)
    train_loss, _ = probe.grid_scores(snap.grid_logits, probe.grid_train)
    w_e = model.token_embeddings().detach().double().numpy()
    fit = fit_logits(snap.grid_logits, c, freqs)
    test_rows = np.flatnonzero(~probe.grid_train)
    row = int(test_rows[len(test_rows) // 2]) if len(test_rows) else 0  # a held-out pair
    notes = list(notes or [])
    if not c.template:
        notes.append(f"no bijective coordinates were found in the weights (input map "
                     f"{frame.input_map.kind}, output map {frame.output_map.kind}): the Fourier views "
                     "run in token order and are shown for reference only")
    if not freqs:
        notes.append("no key frequencies by the rule: the model shows no Fourier algorithm")
    if test_acc < keyfreq.SUFFICIENT_ACC:
        notes.insert(0, f"not grokked: held-out accuracy {test_acc:.2%}; key-frequency claims "
                        "describe structure, not a working algorithm")
    diag = diagnose(model, frame)
    deep = is_deep(model)
    families = compare(frame, symmetricity=None if deep else diag.gradient_symmetricity)
    side = input_side(model, torch.as_tensor(data.pairs))
    ablations = ablation_table(probe, snap.grid_logits, freqs)
    notes += side_notes(families.algorithm, side, deep, diag.gradient_symmetricity)
    result = AnalysisResult(
        schema_version=ANALYSIS_SCHEMA, source=source, task=data.task.name, p=c.p,
        group_order=c.n, generator=c.generator, model=dataclasses.asdict(model.cfg),
        accuracy=acc, loss=loss, test_accuracy=test_acc, key_frequencies=freqs,
        key_frequency_rule=keyfreq.RULE, keys=keys,
        embed_norms=np.sqrt(snap.embed_energy).round(6).tolist(),
        unembed_norms=np.sqrt(snap.unembed_energy).round(6).tolist(),
        circles=[circle(w_e, c, k) for k in freqs], neurons=snap.clusters,
        neuron_fraction_explained=snap.clusters.fraction_explained, logit_fit=fit,
        logit_fve=fit.fve, interference=interference(fit, c, row // c.n, row % c.n),
        restricted_loss=r_loss, restricted_accuracy=r_acc, excluded_loss=x_loss,
        train_loss=train_loss, ablations=ablations,
        algorithm=families.algorithm,
        families={k: dataclasses.asdict(v) for k, v in families.scores.items()},
        family_comparison=families, input_map=frame.input_map.to_dict(),
        output_map=frame.output_map.to_dict(), sign=frame.sign,
        gradient_symmetricity=diag.gradient_symmetricity,
        gradient_symmetricity_authors=authors_gradient_symmetricity(model, c.p)
        if model.cfg.attn_mix == "sum" else None,
        distance_irrelevance=diag.distance_irrelevance, distance_resample=diag.resample,
        input_side=side, layers=layer_views(probe, freqs, ablations),
        correct_logits=np.round(correct_logit_matrix(frame), 4).tolist(), notes=notes)
    return result, frame
