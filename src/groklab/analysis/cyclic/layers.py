"""A transformer layer by layer, in Fourier terms on the probe's grid (discovered coordinates).

Per layer i: the residual stream after block i at the last position and the MLP neurons of block i,
each as functions on the N×N grid; for each, the share of its variance (centred per direction or per
neuron, summed) that lies in the 3×3 Fourier blocks {const, cos_k, sin_k}² of each frequency k
(`neurons.neuron_fve`, weighted by each direction's variance); the shares in the key frequencies;
the frequencies holding the most; the neuron clusters (best FVE > 0.85); the accuracy on all
grid pairs with the block's attention output or MLP output mean-ablated; and the restricted loss
of the block (its output at the last position kept only in the key-frequency blocks, the rest of
the network run on it) and its excluded loss (those blocks removed; training pairs), all from the
ablation table.
Glossary: N (circle), K frequencies, d (directions: d_model or d_mlp)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.analysis.cyclic.neurons import cluster_neurons, neuron_fve
from groklab.analysis.cyclic.probe import Probe

TOP = 5  # frequencies listed per layer


@dataclass(frozen=True)
class LayerView:
    layer: int
    resid_top: dict[int, float]  # frequency -> share of the residual stream's variance (top TOP)
    resid_key_share: float  # share in the key frequencies
    neuron_top: dict[int, float]
    neuron_key_share: float
    neuron_clusters: dict[int, int]
    neuron_fraction_explained: float
    accuracy_without_attn: float  # attention output mean-ablated
    accuracy_without_mlp: float | None  # None: an attention-only model
    # the residual stream after the block kept only in the key-frequency blocks (ablations.
    # layer_restrictions): all-grid loss and accuracy; without them: the training-pair loss
    resid_shares: list[float] | None = None  # every frequency k = 1..K: share of the variance
    neuron_shares: list[float] | None = None
    restricted_loss: float | None = None  # None: no key frequencies
    restricted_accuracy: float | None = None
    excluded_train_loss: float | None = None


def frequency_shares(acts: np.ndarray, n: int) -> np.ndarray:
    """Share of the total variance of acts [N², d] in each frequency's block. # [K]"""
    fve, total = neuron_fve(acts, n)
    weight = total / max(float(total.sum()), 1e-300)
    return weight @ fve


def _top(shares: np.ndarray) -> dict[int, float]:
    order = np.argsort(-shares)[:TOP]
    return {int(k) + 1: round(float(shares[k]), 5) for k in order}


def _accuracy(ablations: list, name: str) -> float:
    """The all-grid accuracy of the ablation row `name` (ablations.component_ablations)."""
    return next(a.acc for a in ablations if a.name == name)


def _restriction(ablations: list, i: int) -> dict:
    """The block's restricted / excluded rows (ablations.layer_restrictions), when there are."""
    rows = {a.name: a for a in ablations}
    r, x = rows.get(f"restricted:L{i}"), rows.get(f"excluded:L{i}")
    if r is None or x is None:
        return {}
    return {"restricted_loss": r.loss, "restricted_accuracy": r.acc,
            "excluded_train_loss": x.train_loss}


def layer_views(probe: Probe, freqs: list[int], ablations: list) -> list[LayerView] | None:
    """One LayerView per block of a transformer, its ablation figures read from `ablations` (the
    analysis's ablation table); None for an MLP."""
    model = probe.model
    if model.cfg.kind != "transformer":
        return None
    n, layers = probe.coords.n, model.cfg.n_layers
    grabbed: dict[str, np.ndarray] = {}

    def grab(x, name):
        grabbed[name] = x[:, -1].detach().double().numpy()

    points = [f"blocks.{i}.{h}" for i in range(layers) for h in ("hook_resid_post", "mlp.hook_post")]
    probe.grid_logits({p: grab for p in points})
    keys = [k - 1 for k in freqs]
    views = []
    for i in range(layers):
        resid = frequency_shares(grabbed[f"blocks.{i}.hook_resid_post"], n)
        post = grabbed[f"blocks.{i}.mlp.hook_post"]
        neurons = frequency_shares(post, n)
        clusters = cluster_neurons(post, n)
        views.append(LayerView(
            i, _top(resid), round(float(resid[keys].sum()), 5), _top(neurons),
            round(float(neurons[keys].sum()), 5), clusters.clusters, clusters.fraction_explained,
            _accuracy(ablations, "mean:attn" if i == 0 else f"mean:L{i}.attn"),
            _accuracy(ablations, "mean:mlp" if i == 0 else f"mean:L{i}.mlp")
            if model.cfg.d_mlp else None, resid.round(5).tolist(), neurons.round(5).tolist(),
            **_restriction(ablations, i)))
    return views
