"""Key frequencies: three views, a declared voting rule, and the functional checks.

Views (each a set of frequencies k in 1..K):
- embed: the Fourier norms of the token embeddings W_E (group coordinates);
- neurons: frequencies whose neuron cluster (best FVE > 0.85) holds >= max(2, 2% of d_mlp) neurons;
- unembed: the Fourier norms over the output c of W_L (neurons -> logits).
In the two norm views a frequency is key when its energy (norm²) is >= RATIO × the noise floor of
that view, the 25th percentile of its frequencies' energies: a structured matrix concentrates energy
in a few frequencies, a random one spreads it evenly (max/floor ≈ 2 at init). The 25th percentile,
not the median, keeps the floor at noise for models that use many frequencies (MLPs use ~20 of 48);
the floor is at least 1e-6 × the largest energy, so float rounding in an exact model is not signal.

Rule: the reported set is the frequencies in at least two of the three views. It is then checked
functionally on the grid logits: sufficient when the restricted accuracy is >= 99% (asked only when
the model itself is >= 99% accurate; if it is not sufficient, frequencies from the union of the views
are added greedily, best restricted loss first, until it is), and each member necessary when dropping
it raises the restricted loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.fourier import Coords, freq_norms
from groklab.analysis.logits import restricted
from groklab.analysis.neurons import NeuronClusters

RATIO = 25.0
FLOOR_PERCENTILE = 25
MIN_CLUSTER_SHARE = 0.02
SUFFICIENT_ACC = 0.99
RULE = (f"key = in >= 2 of 3 views (embed and unembed: energy >= {RATIO:g} x the 25th-percentile "
        "energy; neurons: "
        f"cluster of >= max(2, {MIN_CLUSTER_SHARE:.0%} of d_mlp) neurons with FVE > 0.85); if the "
        f"model is >= {SUFFICIENT_ACC:.0%} accurate and the set is not sufficient, add from the "
        "union of the views greedily until it is")


def energy_view(energy: np.ndarray, ratio: float = RATIO) -> list[int]:
    """Frequencies (1-based) whose energy is >= ratio × the noise floor (25th percentile)."""
    floor = max(float(np.percentile(energy, FLOOR_PERCENTILE)), 1e-6 * float(energy.max()), 1e-30)
    return [int(k) + 1 for k in np.flatnonzero(energy >= ratio * floor)]


def embed_energy(w_e: np.ndarray, c: Coords) -> np.ndarray:  # w_e [p, d] -> [K]
    return freq_norms(w_e[c.tokens]) ** 2


def unembed_energy(w_l: np.ndarray, c: Coords) -> np.ndarray:  # w_l [d_mlp, p] -> [K]
    return freq_norms(w_l[:, c.out_tokens].T) ** 2


def neuron_view(clusters: NeuronClusters) -> list[int]:
    need = max(2, MIN_CLUSTER_SHARE * len(clusters.best_freq))
    return sorted(k for k, size in clusters.clusters.items() if size >= need)


def vote(views: dict[str, list[int]]) -> list[int]:
    counts: dict[int, int] = {}
    for freqs in views.values():
        for k in freqs:
            counts[k] = counts.get(k, 0) + 1
    return sorted(k for k, n in counts.items() if n >= 2)


@dataclass(frozen=True)
class KeyFrequencies:
    """The reported key frequencies with the evidence for them."""

    freqs: list[int]
    views: dict[str, list[int]]  # embed / neurons / unembed
    agreement: float  # Jaccard index of the three views (1: identical)
    voted: list[int]  # before the sufficiency repair
    sufficient: bool | None  # None when the model itself is not >= 99% accurate
    restricted_acc: float
    necessary: dict[int, bool]  # dropping k raises the restricted loss
    drop_loss_delta: dict[int, float]  # restricted loss without k minus with all


def _restricted_scores(probe, logits: np.ndarray, freqs) -> tuple[float, float]:
    return probe.grid_scores(restricted(logits, probe.coords, freqs))


def choose(probe, logits: np.ndarray, views: dict[str, list[int]], model_acc: float
           ) -> KeyFrequencies:
    """Apply the rule to the views and check the result on the grid logits [N², N]."""
    voted = vote(views)
    freqs = list(voted)
    union = sorted(set().union(*map(set, views.values())))
    loss, acc = _restricted_scores(probe, logits, freqs)
    sufficient = None
    if model_acc >= SUFFICIENT_ACC:
        while acc < SUFFICIENT_ACC and (extra := [k for k in union if k not in freqs]):
            trials = {k: _restricted_scores(probe, logits, freqs + [k]) for k in extra}
            best = min(trials, key=lambda k: trials[k][0])
            freqs = sorted(freqs + [best])
            loss, acc = trials[best]
        sufficient = acc >= SUFFICIENT_ACC
    deltas = {k: _restricted_scores(probe, logits, [f for f in freqs if f != k])[0] - loss
              for k in freqs}
    sets = [set(v) for v in views.values()]
    union_all, inter = set().union(*sets), set.intersection(*sets) if sets else set()
    agreement = len(inter) / len(union_all) if union_all else 1.0
    return KeyFrequencies(freqs, views, agreement, voted, sufficient, acc,
                          {k: d > 0 for k, d in deltas.items()},
                          {k: round(d, 6) for k, d in deltas.items()})
