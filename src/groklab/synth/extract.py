"""Read the program out of a model: discover its coordinates, compare the program families on its
logits, and build the Program of the family the rule picks, as fitted; then one temperature fitted
on the training pairs."""

from __future__ import annotations

import numpy as np

from groklab.analysis.cyclic.diagnostics import voting_symmetricity
from groklab.analysis.cyclic.families import FamilyComparison, Waves, compare
from groklab.analysis.cyclic.frame import Frame, build_frame
from groklab.analysis.scale import best_scale
from groklab.models import HookedModel
from groklab.rules import cross_entropy
from groklab.synth.program import Program
from groklab.tasks import Dataset


def fit_scale(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature s in [1e-3, 1e3] minimizing the cross-entropy of s·logits. A program right
    on every training pair would want s → ∞; the cap keeps it finite."""
    return best_scale(lambda s: cross_entropy(s * logits, labels))


def _tables(frame: Frame, rows: np.ndarray) -> tuple[tuple[int, int, int], ...]:
    answers = frame.network_answer
    return tuple((int(frame.a[r]), int(frame.b[r]), int(answers[r])) for r in rows)


def _wave_fields(waves: Waves) -> dict:
    out = {"freqs": tuple(waves.freqs), "alpha": tuple(round(a, 6) for a in waves.amplitude),
           "phase": tuple(round(f, 6) for f in waves.phase), "profile": waves.profile}
    if waves.profile == "free":
        out["free_cos"] = tuple(tuple(round(v, 6) for v in row) for row in waves.free_cos)
        out["free_sin"] = tuple(tuple(round(v, 6) for v in row) for row in waves.free_sin)
    return out


def program_of(frame: Frame, comparison: FamilyComparison, temperature: bool = True) -> Program:
    """The Program of the algorithm `comparison` chose (`unknown`: the clock fit, labelled
    unknown), with (optionally) a temperature fitted on the training pairs."""
    fin, fout = frame.maps
    base = dict(algorithm=comparison.algorithm, p=frame.p, n=frame.n, sign=frame.sign,
                input_kind=fin.kind, output_kind=fout.kind, generator=fin.generator or fout.generator,
                in_coord=fin.coord, out_coord=fout.coord)
    if comparison.algorithm == "lookup":
        program = Program(**base, table=_tables(frame, np.flatnonzero(frame.valid & frame.train)))
    else:
        waves = comparison.pizza if comparison.algorithm == "pizza" else comparison.clock
        program = Program(**base, **_wave_fields(waves),
                          table=_tables(frame, np.flatnonzero(frame.valid & ~frame.regular)))
    if not temperature:
        return program
    train = np.flatnonzero(frame.valid & frame.train)
    scale = fit_scale(program.logits(frame.a[train], frame.b[train]), frame.labels[train])
    return Program(**{**program.__dict__, "scale": round(scale, 6)})


def extract(model: HookedModel, data: Dataset) -> tuple[Program, FamilyComparison, Frame]:
    """The program of `model`, with the family comparison and the frame it rests on."""
    frame = build_frame(model, data)
    comparison = compare(frame, symmetricity=voting_symmetricity(model, frame.p))
    return program_of(frame, comparison), comparison, frame
