"""The program curve, for any domain: the domain's program at every checkpoint, then the first
checkpoint where it is right and the run's grokking epoch."""

from __future__ import annotations

from typing import Callable

from groklab.sources import Loaded


class Curve:
    """`point(epoch)` measures the program at the loaded checkpoint; `first(points)` picks the
    first right one."""

    def __init__(self, result, loaded: Loaded, point: Callable[[int], object],
                 first: Callable[[list], int | None]):
        self.result, self.loaded, self.point, self.first = result, loaded, point, first
        self.points: list = []

    def at(self, epoch: int) -> None:
        self.points.append(self.point(epoch))

    def finish(self) -> None:
        self.result.curve = self.points
        self.result.first_correct_epoch = self.first(self.points)
        self.result.grokked_epoch = (self.loaded.store.read_summary() or {}).get("grokked_epoch")
