"""Read the program out of a model: key frequencies (the analysis rule), then amplitudes and phases
fitted to the network's logits, then one temperature fitted on the training pairs."""

from __future__ import annotations

import numpy as np

from groklab.analysis import keyfreq
from groklab.analysis.logits import fit_logits
from groklab.analysis.probe import Probe
from groklab.analysis.progress import snapshot
from groklab.errors import GroklabError
from groklab.synth.program import TEMPLATES, Program


def require_template(task: str) -> None:
    if task not in TEMPLATES:
        raise GroklabError(f"task {task!r} has no program template; templates exist for "
                           f"{', '.join(TEMPLATES)} (the Fourier algorithm does not describe it)")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return max(0.0, float(-logp[np.arange(len(labels)), labels].mean()))


def fit_scale(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature s in [1e-3, 1e3] minimizing the cross-entropy of s·logits (golden section on
    log s). A program right on every training pair would want s → ∞; the cap keeps it finite."""
    lo, hi = np.log(1e-3), np.log(1e3)
    g = (np.sqrt(5) - 1) / 2

    def f(log_s: float) -> float:
        return cross_entropy(np.exp(log_s) * logits, labels)

    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return float(np.exp((lo + hi) / 2))


def program_from_logits(probe: Probe, grid_logits: np.ndarray, freqs: list[int],
                        temperature: bool = True) -> Program:
    """The Program with `freqs`, amplitudes/phases fitted to grid logits [N², N], and (with
    `temperature`) a temperature fitted on the training pairs."""
    c = probe.coords
    fit = fit_logits(grid_logits, c, freqs)
    program = Program(c.task, c.p, c.n, c.sign, c.generator, tuple(fit.freqs),
                      tuple(round(a, 6) for a in fit.amplitude), tuple(round(f, 6) for f in fit.phase))
    if not freqs or not temperature:
        return program
    data = probe.data
    train = data.pairs[data.train_idx]
    scale = fit_scale(program.logits(train[:, 0], train[:, 1]), data.labels[data.train_idx])
    return Program(**{**program.to_dict(), "scale": round(scale, 6)})


def extract(probe: Probe) -> tuple[Program, keyfreq.KeyFrequencies]:
    """The program of probe.model, with the key-frequency evidence it rests on."""
    require_template(probe.coords.task)
    snap = snapshot(probe)
    logits = probe.all_logits()
    _, acc = probe.scores(logits)
    keys = keyfreq.choose(probe, snap.grid_logits, snap.views, acc)
    return program_from_logits(probe, snap.grid_logits, keys.freqs), keys
