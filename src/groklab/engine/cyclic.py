"""The cyclic domain: tasks on Z_N (a ∘ b read as x = f(a) ± f(b) on coordinates discovered from the
weights), analysed in Fourier terms; its program is a clock, a pizza or a lookup table."""

from __future__ import annotations

import dataclasses

import numpy as np

from groklab.analysis.cyclic.analyze import AnalysisResult, analyze_with_frame
from groklab.analysis.cyclic.diagnostics import distance_irrelevance, gradient_symmetricity
from groklab.analysis.cyclic.embeddings import circle
from groklab.analysis.cyclic.frame import Frame, build_frame, frame_coords
from groklab.analysis.grokking import phases
from groklab.analysis.cyclic.probe import Probe
from groklab.analysis.cyclic.progress import emergence, measure
from groklab.analysis.trends import lead, spearman
from groklab.engine.tracking import Curve
from groklab.errors import GroklabError
from groklab.sources import Loaded
from groklab.synth.cyclic_program import (ExtractResult, curve_point, extract_with_frame,
                                          first_correct)
from groklab.tasks import Dataset

CIRCLE_FRAMES = 40  # checkpoints at which the report's circles are drawn (evenly spaced)


class Progress:
    """Progress measures of the final key frequencies at every checkpoint, the embedding circles at
    up to CIRCLE_FRAMES of them, then the phases, correlations, emergence and lead."""

    def __init__(self, result: AnalysisResult, frame: Frame, loaded: Loaded):
        self.result, self.frame, self.loaded = result, frame, loaded
        self.probe = Probe.build(loaded.model, loaded.data, frame_coords(frame))
        epochs = loaded.store.checkpoint_epochs()
        self.picks = set()
        if result.key_frequencies:
            self.picks = {epochs[int(round(i))]
                          for i in np.linspace(0, len(epochs) - 1, CIRCLE_FRAMES)}
        self.points, self.circles = [], []

    def at(self, epoch: int) -> None:
        model, freqs = self.loaded.model, self.result.key_frequencies
        point = measure(self.probe, epoch, freqs)
        now = build_frame(model, self.loaded.data, self.frame.maps, (self.frame.sign, 1))
        point = dataclasses.replace(point,
                                    gradient_symmetricity=gradient_symmetricity(model, now.p),
                                    distance_irrelevance=distance_irrelevance(now))
        self.points.append(point)
        if epoch in self.picks:
            w_e = model.token_embeddings().detach().double().numpy()
            self.circles.append({"epoch": epoch,
                                 "circles": [circle(w_e, self.probe.coords, k) for k in freqs]})

    def finish(self) -> None:
        r, points = self.result, self.points
        r.progress = points
        r.phases = phases(self.loaded.store.read_metrics())
        r.structure_test_loss_spearman_all = spearman([p.restricted_loss for p in points],
                                                      [p.loss_test for p in points])
        start = r.phases.memorization_end or 0
        late = [p for p in points if p.epoch >= start]
        r.structure_test_loss_spearman = spearman([p.restricted_loss for p in late],
                                                  [p.loss_test for p in late])
        r.emergence = emergence(points, r.key_frequencies)
        r.lead = lead(points)
        r.circle_frames = self.circles


class CyclicDomain:
    kind = "cyclic"

    def handles(self, data: Dataset) -> bool:
        return True

    def analyze(self, loaded: Loaded) -> tuple[AnalysisResult, Frame]:
        return analyze_with_frame(loaded.model, loaded.data, loaded.source, loaded.notes)

    def progress(self, result: AnalysisResult, frame: Frame, loaded: Loaded) -> Progress:
        return Progress(result, frame, loaded)

    def extract(self, loaded: Loaded, source: dict, program: str | None = None
                ) -> tuple[ExtractResult, Frame]:
        if program is not None:
            raise GroklabError(f"--program {program}: choosing the program applies to group tasks; "
                               f"on {loaded.data.task.name} the family is read from the logits")
        return extract_with_frame(loaded.model, loaded.data, source)

    def curve(self, result: ExtractResult, frame: Frame, loaded: Loaded) -> Curve:
        return Curve(result, loaded, lambda e: curve_point(loaded.model, loaded.data, frame, e),
                     first_correct)

    def describe(self, data: Dataset) -> str:
        return f"p={data.task.p}, task {data.task.name}"
