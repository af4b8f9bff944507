"""The group domain: composition in a finite group, analysed on the group's irreps; its program is
the character program or a lookup table."""

from __future__ import annotations

import torch

from groklab.analysis.grokking import phases
from groklab.analysis.group.analyze import GroupAnalysisResult, analyze_group_model
from groklab.analysis.trends import lead
from groklab.analysis.group.cosets import coset_progress
from groklab.analysis.group.representations import group_progress, view_of
from groklab.engine.tracking import Curve
from groklab.sources import Loaded
from groklab.analysis.group.characters import fit_program
from groklab.analysis.group.cosets import fit_coset_program
from groklab.errors import GroklabError
from groklab.synth.group_program import (PROGRAMS, GroupExtractResult, curve_point,
                                         extract_group_model, first_correct)
from groklab.tasks import Dataset


class Progress:
    """The final key irreps' restricted / excluded loss and embedding share at every checkpoint."""

    def __init__(self, result: GroupAnalysisResult, loaded: Loaded):
        self.result, self.loaded, self.points = result, loaded, []

    def at(self, epoch: int) -> None:
        if self.result.snapshot is None:  # not a group: nothing to measure in irreps
            return
        point = group_progress(self.loaded.model, self.loaded.data, epoch, self.result.key_irreps)
        if self.result.cosets is not None:
            view = view_of(self.loaded.data)
            point.coset_fraction, point.coset_median_c = coset_progress(
                self.loaded.model, self.loaded.data, view)
        self.points.append(point)

    def finish(self) -> None:
        self.result.progress = self.points
        self.result.phases = phases(self.loaded.store.read_metrics())
        self.result.lead = lead(self.points)


class GroupDomain:
    kind = "group"

    def handles(self, data: Dataset) -> bool:
        return data.task.name in ("group", "table")

    def analyze(self, loaded: Loaded) -> tuple[GroupAnalysisResult, None]:
        return analyze_group_model(loaded.model, loaded.data, loaded.source, loaded.notes), None

    def progress(self, result: GroupAnalysisResult, state, loaded: Loaded) -> Progress:
        return Progress(result, loaded)

    def extract(self, loaded: Loaded, source: dict, program: str | None = None
                ) -> tuple[GroupExtractResult, None]:
        if program not in (None, *PROGRAMS):
            raise GroklabError(f"--program {program!r}: a group task's program is one of "
                               f"{', '.join(PROGRAMS)}")
        with torch.no_grad():
            return extract_group_model(loaded.model, loaded.data, source,
                                       program or "characters"), None

    def curve(self, result: GroupExtractResult, state, loaded: Loaded) -> Curve:
        names = result.program.irreps
        fit = fit_coset_program if result.program.kind == "cosets" else fit_program
        return Curve(result, loaded, lambda e: curve_point(loaded.model, loaded.data, names, e, fit),
                     first_correct)

    def describe(self, data: Dataset) -> str:
        return data.task.group or data.task.name
