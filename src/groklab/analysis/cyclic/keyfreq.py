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
functionally on the grid logits:
- sufficient (asked only when the model itself is >= 99% accurate) when the restricted accuracy is
  >= 99% and the restricted loss is <= SUFFICIENT_LOSS_RATIO x the full model's loss (the paper's
  criterion compares losses; argmax accuracy alone is lenient); if it is not, frequencies from the
  union of the views are added greedily, best restricted loss first, until it is;
- each member necessary when dropping it raises the restricted loss by more than
  NECESSITY_NOISE x the largest change that dropping a random non-key frequency (added to the set)
  makes (NOISE_DRAWS seeded draws): noise cannot produce that margin. Unnecessary members are
  pruned from a sufficient set, one at a time, least necessary first, while it stays sufficient.
The rule itself (rules.key_set) and its thresholds are shared with the group domain.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from groklab.analysis.cyclic.fourier import Coords, freq_norms
from groklab.analysis.cyclic.logits import restricted
from groklab.analysis.cyclic.neurons import NeuronClusters
from groklab.rules import (FLOOR_PERCENTILE, MIN_CLUSTER_SHARE, NECESSITY_NOISE, NOISE_DRAWS, RIGHT,
                           SUFFICIENT_LOSS_RATIO, VIEW_RATIO, key_set)

RATIO = VIEW_RATIO
SUFFICIENT_ACC = RIGHT
RULE = (f"key = in >= 2 of 3 views (embed and unembed: energy >= {RATIO:g} x the 25th-percentile "
        "energy; neurons: "
        f"cluster of >= max(2, {MIN_CLUSTER_SHARE:.0%} of d_mlp) neurons with FVE > 0.85); if the "
        f"model is >= {SUFFICIENT_ACC:.0%} accurate and the set is not sufficient (restricted "
        f"accuracy >= {SUFFICIENT_ACC:.0%} and restricted loss <= {SUFFICIENT_LOSS_RATIO:g} x the "
        "full loss), add from the union of the views greedily until it is; necessary: dropping "
        f"it raises the restricted loss by > {NECESSITY_NOISE:g} x the largest change from "
        "dropping a random non-key frequency; unnecessary members of a sufficient set are pruned")


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
    necessary: dict[int, bool]  # dropping k raises the restricted loss beyond the noise margin
    drop_loss_delta: dict[int, float]  # restricted loss without k minus with all
    noise_margin: float = 0.0  # NECESSITY_NOISE x the largest random non-key drop change
    pruned: list[int] = dataclasses.field(default_factory=list)


def _restricted_scores(probe, logits: np.ndarray, freqs) -> tuple[float, float]:
    return probe.grid_scores(restricted(logits, probe.coords, freqs))


def noise_draws(probe, freqs: list[int]) -> list[int]:
    """The random non-key frequencies whose addition to `freqs` measures the noise (seeded by the
    set's size; none for an empty set)."""
    others = [k for k in probe.coords.freqs.tolist() if k not in freqs]
    if not others or not freqs:
        return []
    rng = np.random.Generator(np.random.PCG64(len(freqs)))
    return [int(j) for j in rng.choice(others, size=min(NOISE_DRAWS, len(others)), replace=False)]


def choose(probe, logits: np.ndarray, views: dict[str, list[int]], model_acc: float
           ) -> KeyFrequencies:
    """Apply the rule to the views and check the result on the grid logits [N², N]."""
    voted = vote(views)
    union = sorted(set().union(*map(set, views.values())))
    full_loss, _ = probe.grid_scores(logits)
    keys = key_set(voted, union, lambda fs: _restricted_scores(probe, logits, fs), full_loss,
                   model_acc, lambda fs: noise_draws(probe, fs), keep_sorted=True)
    sets = [set(v) for v in views.values()]
    union_all, inter = set().union(*sets), set.intersection(*sets) if sets else set()
    agreement = len(inter) / len(union_all) if union_all else 1.0
    return KeyFrequencies(keys.members, views, agreement, voted, keys.sufficient, keys.accuracy,
                          keys.necessary, {k: round(d, 6) for k, d in keys.deltas.items()},
                          round(keys.margin, 9), keys.pruned)
