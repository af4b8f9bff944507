"""The group domain's analysis of one model (analysis.json with `kind: "group"`).

Pipeline: snapshot on the group's irreps (fractions, key irreps, restricted/excluded loss per irrep)
→ the character program fitted and compared with the network (group.characters; it decides
`algorithm`: characters or lookup; the verdict is extract's). Progress over every checkpoint and
the phases are filled in by the engine's tracker (engine/group.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from groklab.analysis.group.characters import compare, fit_program
from groklab.analysis.group.cosets import applies, coset_analysis
from groklab.groups.subgroups import MAX_CATALOGUE
from groklab.analysis.grokking import Phases
from groklab.analysis.group.representations import (GroupProgressPoint, GroupSnapshot, group_snapshot,
                                                    model_logits, scores, structure_of_data,
                                                    view_of)
from groklab.models import HookedModel
from groklab.rules import LOOKUP_MAX_TEST_ACC, RIGHT
from groklab.rules import RIGHT as SUFFICIENT_ACC
from groklab.store import ANALYSIS_SCHEMA, to_jsonable
from groklab.tasks import Dataset


@dataclass
class GroupAnalysisResult:
    """analysis.json for a group task (`kind: "group"`; documented in docs/schemas.md)."""

    schema_version: int
    kind: str
    source: dict
    task: str
    group: str  # the name of the group found in the table (groups.structure), e.g. "S5" or "G120"
    element_order: str  # the task's numbering (provenance; the analysis does not depend on it)
    p: int  # |G|
    structure: dict  # what the table is: structure, order, name, isomorphism, maps (isotopes)
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
    snapshot: GroupSnapshot | None  # None when the table is not (isotopic to) a group
    irreps: list[dict]  # name, dim, kind (1 real, 2 a complex pair) of every irrep
    notes: list[str] = field(default_factory=list)
    cosets: dict | None = None  # the coset account beside the irreps (analysis.group.cosets)
    phases: Phases | None = None
    progress: list[GroupProgressPoint] | None = None
    lead: dict | None = None

    def to_dict(self) -> dict:
        return to_jsonable(dataclasses.asdict(self))

    def summary_lines(self) -> list[str]:
        """The terminal summary."""
        if self.snapshot is None:
            return [f"{self.group}: accuracy {self.accuracy:.4f} on all pairs, held out "
                    f"{self.test_accuracy:.4f}; algorithm: {self.algorithm}",
                    *[f"note: {n}" for n in self.notes]]
        k, s, prog = self.snapshot.keys, self.snapshot, self.program
        pct = lambda x: "-" if x is None else f"{x:.2%}"  # noqa: E731
        necessary = ", ".join(f"{n}:{'yes' if v else 'NO'}" for n, v in k.necessary.items())
        lines = [f"composition in {self.group} (|G| = {self.p}, {self.model['kind']}): accuracy "
                 f"{self.accuracy:.4f} on all pairs, held out {self.test_accuracy:.4f}"
                 + ("" if self.grokked else "  NOT GROKKED"),
                 f"key irreps: {self.key_irreps}  (candidates {k.candidates}; sufficient "
                 f"{k.sufficient}; necessary {necessary})",
                 f"restricted loss {self.restricted_loss:.3g} (acc {self.restricted_accuracy:.4f}); "
                 f"excluded loss (train) {self.excluded_loss:.3g}; full train loss "
                 f"{self.train_loss:.3g}",
                 f"neurons (best irrep >= 85%): {s.neuron_irreps}; mean best-irrep fraction "
                 f"{s.neuron_fraction_explained:.3f}",
                 f"  {'irrep':12s} {'dim':>3s} {'embed':>6s} {'unembed':>7s} {'logits':>6s} "
                 f"{'only: loss':>10s} {'acc':>7s} {'without: train loss':>19s}"]
        for row in s.per_irrep:
            lines.append(f"  {row['irrep'] + (' *' if row['key'] else ''):12s} {row['dim']:3d} "
                         f"{row['embed_fraction']:6.3f} {row['unembed_fraction']:7.3f} "
                         f"{row['logit_share']:6.3f} {row['restricted_loss']:10.3g} "
                         f"{row['restricted_accuracy']:7.4f} {row['excluded_train_loss']:19.3g}")
        lines.append(f"algorithm: {self.algorithm}; character program: accuracy "
                     f"{pct(prog['program_accuracy'])}, agreement {pct(prog['agreement'])} (held "
                     f"out {pct(prog['test_agreement'])}), network without the key irreps "
                     f"{pct(prog['ablated_accuracy'])}; the verdict: groklab extract")
        if self.cosets is not None:
            lines += coset_lines(self.cosets, prog)
        if self.phases is not None:
            ph = self.phases
            lines.append(f"phases: memorization ends {ph.memorization_end}, circuit formation ends "
                         f"{ph.circuit_formation_end}, cleanup ends {ph.cleanup_end}; grokked at "
                         f"{ph.grokked_epoch}; lead {self.lead}")
        lines += [f"note: {n}" for n in self.notes]
        return lines


def coset_lines(c: dict, characters: dict) -> list[str]:
    """The coset account in a few lines, beside the character program's evidence."""
    pct = lambda x: "-" if x is None else f"{x:.1%}"  # noqa: E731
    wins = ", ".join(f"{k} {v}" for k, v in list(c["winning_subgroups"].items())[:5]) or "none"
    lines = [f"cosets: {pct(c['fraction_concentrated'])} of {c['parts']} operand parts "
             f"concentrated (min C < 1; random functions {c['null_min_c']:.2f}), "
             f"{pct(c['fraction_below_0_01'])} below 0.01, median min C {c['median_min_c']:.3g}; "
             f"winning subgroups: {wins}; sides {c['sides']}; dictionary agreement "
             f"{pct(c['dictionary_agreement'])}"]
    prog = c.get("program") or {}
    if prog.get("evidence"):
        fve = lambda p: (p.get("evidence") or {}).get("logit_fve")  # noqa: E731
        lines.append(f"coset program over {prog['subgroups']}: logit FVE {fve(prog):.3f} (character "
                     f"program {fve(characters) or 0:.3f}), agreement {pct(prog['agreement'])}, "
                     f"network without its irreps {pct(prog['ablated_accuracy'])}")
    abl = c.get("ablation")
    if abl:
        lines.append(f"coset ablation: the {abl['parts']} concentrated parts without their coset "
                     f"component: accuracy {abl['coset']['accuracy']:.4f}; without a random "
                     f"subspace of the same rank: {abl['random']['accuracy']:.4f}")
    act = c.get("activation")
    if act:
        lines.append(f"{act['activation']} -> |x|: accuracy {act['abs']['accuracy']:.4f}, loss "
                     f"{act['abs']['loss']:.3g} (network {act['network']['accuracy']:.4f}, "
                     f"{act['network']['loss']:.3g})")
    return lines


def structure_notes(data: Dataset, structure) -> list[str]:
    """What the table turned out to be, where that differs from what the task's name says."""
    notes = []
    said = data.task.named_group
    if said and structure.name != said:
        notes.append(f"the table is {structure.describe()}, not {said} as the task's name says: "
                     "the analysis reads the table")
    if structure.kind == "isotope":
        notes.append("the inputs are renamed: token a stands for σ(a), token b for τ(b) (maps in "
                     "`structure`), found from the table")
    if structure.is_group and structure.name is None:
        notes.append(f"a group of order {structure.n} groklab cannot name: its irreps are named by "
                     "dimension")
    return notes


def analyze_group_model(model: HookedModel, data: Dataset, source: dict,
                        notes: list[str] | None = None) -> GroupAnalysisResult:
    model.eval()
    view = view_of(data)
    structure = structure_of_data(data)
    notes = list(notes or []) + structure_notes(data, structure)
    if view is None:
        return analyze_table_model(model, data, source, structure, notes)
    logits, acts = model_logits(model, data, neurons=True)
    snap = group_snapshot(model, data, logits, acts)
    program = fit_program(view, logits, data, snap.keys.names)
    check = compare(view, program, logits, data)
    grokked = snap.test_accuracy >= SUFFICIENT_ACC
    if not grokked:
        notes.insert(0, f"not grokked: held-out accuracy {snap.test_accuracy:.2%}; key-irrep claims "
                        "describe structure, not a working algorithm")
    if not snap.keys.names:
        notes.append("no key irreps by the rule: the model shows no representation algorithm")
    irreps = [{"name": r.name, "dim": r.dim, "kind": r.kind} for r in view.irreps]
    cosets = coset_analysis(model, data, view, logits).to_dict() if applies(view, model) else None
    if cosets is None and view.group.order > MAX_CATALOGUE:
        notes.append(f"no coset account: the subgroup catalogue covers groups of at most "
                     f"{MAX_CATALOGUE} elements")
    return GroupAnalysisResult(
        schema_version=ANALYSIS_SCHEMA, kind="group", source=source, task=data.task.name,
        group=view.group.name, element_order=data.task.element_order, p=view.group.order,
        structure=structure.to_dict(),
        model=dataclasses.asdict(model.cfg), grokked=grokked, accuracy=snap.accuracy,
        loss=snap.loss, test_accuracy=snap.test_accuracy, train_loss=snap.train_loss,
        key_irreps=snap.keys.names, key_irrep_rule=snap.keys.rule,
        irrep_fractions=snap.irrep_fractions, restricted_loss=snap.restricted_loss,
        restricted_accuracy=snap.restricted_accuracy, excluded_loss=snap.excluded_loss,
        algorithm=check.algorithm,
        program={**dataclasses.asdict(check), "irreps": program.irreps, "alpha": program.alpha,
                 "scale": program.scale},
        snapshot=snap, irreps=irreps, notes=notes, cosets=cosets)


def analyze_table_model(model: HookedModel, data: Dataset, source: dict, structure,
                        notes: list[str]) -> GroupAnalysisResult:
    """A table that is not (isotopic to) a group: the group lens does not apply. The network is a
    lookup table when it fits its training pairs and is at most LOOKUP_MAX_TEST_ACC right held
    out, otherwise `unknown`."""
    logits, _ = model_logits(model, data)
    loss, acc = scores(logits, data.labels)
    _, test_acc = scores(logits, data.labels, data.test_idx)
    train_loss, train_acc = scores(logits, data.labels, data.train_idx)
    lookup = train_acc >= RIGHT and test_acc <= LOOKUP_MAX_TEST_ACC
    notes.insert(0, f"the table is {structure.describe()}: the group lens does not apply")
    return GroupAnalysisResult(
        schema_version=ANALYSIS_SCHEMA, kind="group", source=source, task=data.task.name,
        group="none", element_order=data.task.element_order, p=structure.n,
        structure=structure.to_dict(), model=dataclasses.asdict(model.cfg),
        grokked=test_acc >= SUFFICIENT_ACC, accuracy=acc, loss=loss, test_accuracy=test_acc,
        train_loss=train_loss, key_irreps=[], key_irrep_rule="", irrep_fractions={},
        restricted_loss=float("nan"), restricted_accuracy=float("nan"),
        excluded_loss=float("nan"), algorithm="lookup" if lookup else "unknown",
        program={"network_train_accuracy": train_acc}, snapshot=None, irreps=[], notes=notes)
