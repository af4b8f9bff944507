"""The domain interface: what a task's analysis is written against, chosen once per model.

A domain owns the basis a task is analysed in (Fourier on coordinates read from the weights for
Z_N tasks; irreps for groups), its key-set inputs, its program family and emitter, and its summary
lines (the result types it returns carry `summary_lines()` and `to_dict()`). Every stage (analyze
and extract of a model, a run or a file; the per-checkpoint progress and curve) is written once in
engine.stages against this protocol; `domain_for` is the one place that chooses.

A new domain: a module beside engine/cyclic.py and engine/group.py implementing `Domain`, plus one
line in DOMAINS and, for its report page, one in report/pages.py PAGES (domains are tried in
order; the cyclic one takes every Z_N task).
"""

from __future__ import annotations

from typing import Any, Protocol

from groklab.engine.cyclic import CyclicDomain
from groklab.engine.group import GroupDomain
from groklab.sources import Loaded
from groklab.tasks import Dataset


class Tracker(Protocol):
    """A measurement over every checkpoint of a run: `at(epoch)` with that checkpoint's weights
    in the model, then `finish()` once, after the pass (the loaded checkpoint is back in place)."""

    def at(self, epoch: int) -> None: ...

    def finish(self) -> None: ...


class Domain(Protocol):
    kind: str  # analysis.json's `kind`; the report and the sweep table choose by it

    def handles(self, data: Dataset) -> bool:
        """Whether this domain reads models trained on `data`'s task."""

    def analyze(self, loaded: Loaded) -> tuple[Any, Any]:
        """(the analysis result of the loaded model, the state its progress tracker needs)."""

    def progress(self, result: Any, state: Any, loaded: Loaded) -> Tracker:
        """Fills the result's progress measures and phases over every checkpoint."""

    def extract(self, loaded: Loaded, source: dict, program: str | None = None
                ) -> tuple[Any, Any]:
        """(the program of the loaded model, verified and emitted; the state its curve needs);
        `program` names one of the domain's programs (None: its default), one line if unknown."""

    def curve(self, result: Any, state: Any, loaded: Loaded) -> Tracker:
        """Fills the result's program curve over every checkpoint."""

    def describe(self, data: Dataset) -> str:
        """The task in a few words, for the line printed when a model file is loaded."""


DOMAINS: tuple[Domain, ...] = (GroupDomain(), CyclicDomain())  # the first that handles a task


def domain_for(data: Dataset) -> Domain:
    """The one choice of domain, from the task of the data the model is scored on."""
    return next(d for d in DOMAINS if d.handles(data))

