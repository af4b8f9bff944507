"""One temperature: the scale s in [1e-3, 1e3] minimizing a loss of s·logits, by golden-section
search on log s. Shared by the family comparison (KL to the network) and the extracted program
(cross-entropy on the training pairs); the cap keeps s finite for a program right everywhere."""

from __future__ import annotations

from typing import Callable

import numpy as np

LOW, HIGH = 1e-3, 1e3


def best_scale(loss: Callable[[float], float], iterations: int = 60) -> float:
    """The s minimizing `loss(s)` over [LOW, HIGH] (golden section on log s)."""
    lo, hi = np.log(LOW), np.log(HIGH)
    g = (np.sqrt(5) - 1) / 2

    def f(log_s: float) -> float:
        return loss(float(np.exp(log_s)))

    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iterations):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return float(np.exp((lo + hi) / 2))
