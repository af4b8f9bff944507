"""Analysis on irreps: the representation-theory counterpart of every Fourier measure, for a model
trained on composition in a finite group (Chughtai, Chan & Nanda 2023).

Glossary: n = |G|; pairs (a, b) a-major (row a·n + b), classes c; ρ a real irrep, P_ρ its isotypic
projector on functions of one element (groups.irreps.projector; Σ_ρ P_ρ = I).

Measures:
- isotypic fraction of a matrix E with one row per element: ‖P_ρ E‖² / ‖E‖² (embeddings of a and of
  b, the unembedding's rows over classes, W_L);
- the product component of the logits: M[g, c] = mean of logit(a, b → c) over the n pairs with
  a·b = g. The part of the logits that is a function of a·b in ρ is (P_ρ M)[a·b, c]; on C_n it is
  exactly the Fourier path's key directions cos/sin(w(a+b)). Its energy share per non-trivial irrep
  ranks the candidates;
- restricted logits: the constant over pairs plus Σ_{ρ∈K} (P_ρ M)[a·b, c]; excluded logits: the
  logits minus Σ_{ρ∈K} (P_ρ M)[a·b, c];
- neurons: a neuron's activation A[a, b] belongs to ρ when it lies in (P_ρ + P_1) on both axes (it
  reads ρ(a) and ρ(b) and a constant); its fraction is that part's share of A's variance.
Key irreps (RULE): candidates are the non-trivial irreps holding >= KEY_SHARE of the product
component's energy, best first; if the model is >= SUFFICIENT_ACC accurate and they are not
sufficient (restricted accuracy >= SUFFICIENT_ACC and restricted loss <= SUFFICIENT_LOSS_RATIO x the
full loss), irreps are added greedily (best restricted loss first) until they are; a member is
necessary when dropping it raises the restricted loss by more than max(NECESSITY_NOISE x the largest
change from dropping a non-key irrep added to the set, MIN_RISE x the set's restricted loss);
unnecessary members of a sufficient set are pruned, least necessary first. A model below SUFFICIENT_ACC on held-out pairs is
"not grokked", said first: its key irreps describe structure, not a working algorithm.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from groklab.groups.elements import Group, make_group
from groklab.groups.irreps import Irrep, projector
from groklab.groups.structure import Structure, structure_irreps, structure_of
from groklab.models import HookedModel
from groklab.rules import (KEY_SHARE, MIN_RISE, NECESSITY_NOISE, NEURON_FVE, RIGHT,
                           SUFFICIENT_LOSS_RATIO, key_set)
from groklab.tasks import Dataset

SUFFICIENT_ACC = RIGHT
NEURON_FRACTION = NEURON_FVE  # a neuron belongs to its best irrep when that irrep explains this much
RULE = (f"key irreps: non-trivial irreps holding >= {KEY_SHARE:.0%} of the logits' product "
        f"component (a function of a·b), best first; if the model is >= {SUFFICIENT_ACC:.0%} "
        f"accurate and they are not sufficient (restricted accuracy >= {SUFFICIENT_ACC:.0%} and "
        f"restricted loss <= {SUFFICIENT_LOSS_RATIO:g} x the full loss), add irreps greedily, best "
        "restricted loss first, until they are; necessary: dropping it raises the restricted loss "
        f"by > max({NECESSITY_NOISE:g} x the largest change from dropping a non-key irrep, "
        f"{MIN_RISE:.0%} of the set's restricted loss); unnecessary members of a sufficient set "
        "are pruned")


@dataclass(frozen=True, eq=False)
class GroupView:
    """The group found in a dataset's table, with its irreps and isotypic projectors, computed once.
    Elements are the classes the network answers in; a-token x stands for σ(x), b-token y for τ(y)
    (groups.structure), so nothing depends on how the task numbered its elements."""

    group: Group  # its table is the composition found on the classes
    irreps: list[Irrep]  # trivial first
    projectors: np.ndarray  # [R, n, n]
    pair_product: np.ndarray  # [rows]: σ(a)·τ(b) of each dataset row (its class, when right)
    fibre: np.ndarray  # [n(a-token), n(g)]: dataset row of (x, y) with σ(x)·τ(y) = g
    a_token: np.ndarray  # [n]: the a-token of each element (σ⁻¹)
    b_token: np.ndarray  # [n]: the b-token of each element (τ⁻¹)
    structure: Structure
    grid: np.ndarray  # [n(a-token), n(b-token)]: the dataset row of each token pair

    @property
    def element_grid(self) -> np.ndarray:  # [n(g_a), n(g_b)]: dataset row of the pair of elements
        return self.grid[self.a_token[:, None], self.b_token[None, :]]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.irreps]

    @property
    def nontrivial(self) -> list[str]:
        return self.names[1:]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def projector_of(self, names) -> np.ndarray:  # [n, n]
        idx = [self.index(k) for k in names]
        return self.projectors[idx].sum(0) if idx else np.zeros(self.projectors.shape[1:])

    def product(self, a_tokens: np.ndarray, b_tokens: np.ndarray) -> np.ndarray:
        """σ(a)·τ(b) for token arrays."""
        s = self.structure
        return self.group.table[s.sigma[a_tokens], s.tau[b_tokens]]


def token_table(data: Dataset) -> np.ndarray:
    """T[x, y]: the label of the pair of tokens (x, y), -1 where the dataset has no such pair."""
    size = max(int(data.pairs.max()) + 1, int(data.labels.max()) + 1)
    table = np.full((size, size), -1, dtype=np.int64)
    table[data.pairs[:, 0], data.pairs[:, 1]] = data.labels
    return table


def structure_of_data(data: Dataset) -> Structure:
    """What the dataset's table is, read from the table; the task's group name is only a hint for
    the order in which names are tried."""
    if data.task.name != "group":
        return structure_of(token_table(data))
    known = None
    if make_group(data.task.group).order == data.task.p:
        known = (data.task.group, data.task.element_order)
    return structure_of(token_table(data), data.task.group, known)


@lru_cache(maxsize=8)
def _view(structure: Structure, grid_key: bytes, n: int) -> GroupView:
    grid = np.frombuffer(grid_key, dtype=np.int64).reshape(n, n)
    group = structure.group
    reps = structure_irreps(structure)
    projs = np.stack([projector(group, r) for r in reps])
    sigma, tau = structure.sigma, structure.tau
    a_token, b_token = np.argsort(sigma), np.argsort(tau)
    rows = np.arange(n)
    # the b-token y with σ(x)·τ(y) = g is τ⁻¹(σ(x)⁻¹·g)
    y = b_token[group.table[group.inverse[sigma[rows]][:, None], rows[None, :]]]
    fibre = grid[rows[:, None], y]
    product = np.full(n * n, -1, dtype=np.int64)
    product[grid.ravel()] = group.table[sigma[rows[:, None]], tau[rows[None, :]]].ravel()
    return GroupView(group, reps, projs, product, fibre, a_token, b_token, structure, grid)


def group_view(name: str, element_order: str = "groklab") -> GroupView:
    """The view of a named group's own table (tokens are its elements, pairs a-major)."""
    group = make_group(name, element_order)
    grid = np.arange(group.order**2, dtype=np.int64)
    return _view(structure_of(group.table, name, (name, element_order)), grid.tobytes(),
                 group.order)


def view_of(data: Dataset) -> GroupView | None:
    """The group view of the dataset's table, or None when the table is not (isotopic to) a group."""
    structure = structure_of_data(data)
    if not structure.is_group:
        return None
    grid = np.ascontiguousarray(data.index_grid, dtype=np.int64)
    return _view(structure, grid.tobytes(), structure.n)


# ---- measures ---------------------------------------------------------------------------------


def isotypic_fractions(view: GroupView, rows: np.ndarray) -> dict[str, float]:
    """‖P_ρ E‖²/‖E‖² per irrep, for E [n, d] with one row per element."""
    rows = np.asarray(rows, dtype=float)
    total = float((rows**2).sum()) or 1.0
    return {r.name: float(((p @ rows) ** 2).sum()) / total
            for r, p in zip(view.irreps, view.projectors)}


def product_component(view: GroupView, logits: np.ndarray) -> np.ndarray:
    """M[g, c]: the mean logit over the pairs with a·b = g. logits [n², n] -> [n, n]"""
    return logits[view.fibre].mean(0)


def product_shares(view: GroupView, m: np.ndarray) -> dict[str, float]:
    """Each non-trivial irrep's share of the product component's (non-constant) energy."""
    energy = {r.name: float(((p @ m) ** 2).sum())
              for r, p in zip(view.irreps[1:], view.projectors[1:])}
    total = sum(energy.values()) or 1.0
    return {k: v / total for k, v in energy.items()}


def keyed_part(view: GroupView, m: np.ndarray, names) -> np.ndarray:
    """Σ_{ρ∈names} (P_ρ M)[a·b, c] over the pairs. # [n², n]"""
    return (view.projector_of(names) @ m)[view.pair_product]


def restricted_logits(view: GroupView, logits: np.ndarray, names,
                      m: np.ndarray | None = None) -> np.ndarray:
    m = product_component(view, logits) if m is None else m
    return logits.mean(0, keepdims=True) + keyed_part(view, m, names)


def excluded_logits(view: GroupView, logits: np.ndarray, names,
                    m: np.ndarray | None = None) -> np.ndarray:
    m = product_component(view, logits) if m is None else m
    return logits - keyed_part(view, m, names)


def scores(logits: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None
           ) -> tuple[float, float]:
    """(cross-entropy, accuracy) of logits [n², n] on `rows` (all if None)."""
    if rows is not None:
        logits, labels = logits[rows], labels[rows]
    if not len(labels):
        return float("nan"), float("nan")
    t = torch.as_tensor(logits, dtype=torch.float64)
    loss = F.cross_entropy(t, torch.as_tensor(labels)).item()
    return loss, float((logits.argmax(1) == labels).mean())


@torch.no_grad()
def model_logits(model: HookedModel, data: Dataset, neurons: bool = False
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits of every pair [n², n] (float64) and, with `neurons`, the neuron activations at the
    answer position [n², d_mlp]."""
    captured = {}

    def grab(x: torch.Tensor, _name: str) -> torch.Tensor:
        captured["x"] = x.reshape(x.shape[0], -1, x.shape[-1])[:, -1]
        return x

    with model.hooks({model.neuron_hook: grab} if neurons else {}):
        logits = model.logits(torch.as_tensor(data.pairs))
    acts = captured["x"].double().numpy() if neurons else None
    return logits.double().numpy(), acts


def neuron_fractions(view: GroupView, acts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per neuron: its best non-trivial irrep (index into view.irreps) and that irrep's fraction of
    the neuron's variance. acts [n², d_mlp] -> ([d_mlp], [d_mlp])"""
    a = acts[view.element_grid]  # [n(g_a), n(g_b), d_mlp]
    a = a - a.mean((0, 1), keepdims=True)
    total = (a**2).sum((0, 1)) + 1e-30
    p1 = view.projectors[0]
    best = np.zeros(a.shape[-1], dtype=int)
    frac = np.zeros(a.shape[-1])
    for i, p in enumerate(view.projectors[1:], start=1):
        q = p + p1
        part = np.einsum("xa,aby,zb->xzy", q, a, q, optimize=True)
        f = (part**2).sum((0, 1)) / total
        better = f > frac
        best[better], frac[better] = i, f[better]
    return best, frac


@dataclass(frozen=True)
class KeyIrreps:
    """The key irreps by RULE, with the evidence."""

    names: list[str]
    shares: dict[str, float]  # product-component energy share per non-trivial irrep
    candidates: list[str]  # shares >= KEY_SHARE
    sufficient: bool | None  # None when the model is below SUFFICIENT_ACC
    restricted_accuracy: float
    necessary: dict[str, bool]
    drop_loss_rise: dict[str, float]
    noise_margin: float
    pruned: list[str]
    rule: str = RULE


def choose_key_irreps(view: GroupView, logits: np.ndarray, labels: np.ndarray,
                      model_acc: float) -> KeyIrreps:
    m = product_component(view, logits)
    shares = product_shares(view, m)
    full_loss, _ = scores(logits, labels)
    by_share = sorted(shares, key=shares.get, reverse=True)
    candidates = [k for k in by_share if shares[k] >= KEY_SHARE]

    def rs(names) -> tuple[float, float]:
        return scores(restricted_logits(view, logits, names, m), labels)

    keys = key_set(candidates, by_share, rs, full_loss, model_acc,
                   lambda names: [k for k in by_share if k not in names], min_rise=MIN_RISE)
    order = [k for k in view.nontrivial if k in keys.members]
    return KeyIrreps(order, {k: round(v, 6) for k, v in shares.items()}, candidates,
                     keys.sufficient, keys.accuracy, keys.necessary,
                     {k: round(d, 6) for k, d in keys.deltas.items()}, round(keys.margin, 9),
                     keys.pruned)


# ---- the whole analysis -----------------------------------------------------------------------


@dataclass
class GroupProgressPoint:
    epoch: int
    loss_train: float
    loss_test: float
    acc_train: float
    acc_test: float
    restricted_loss: float  # final key irreps, all pairs
    excluded_loss: float  # final key irreps, training pairs
    key_embed_fraction: float  # isotypic fraction of the embeddings in the final key irreps
    weight_norm: float


@dataclass
class GroupSnapshot:
    """The measures of one model on its group."""

    accuracy: float
    loss: float
    test_accuracy: float
    train_loss: float
    keys: KeyIrreps
    irrep_fractions: dict[str, float]  # of the (effective) embeddings, mean over a and b
    embed_fractions: dict[str, dict[str, float]]  # {"a": {...}, "b": {...}}
    unembed_fractions: dict[str, float]
    logit_shares: dict[str, float]
    neuron_irreps: dict[str, int]  # neurons whose best irrep explains >= NEURON_FRACTION
    neuron_fraction_explained: float  # mean best-irrep fraction over neurons
    restricted_loss: float
    restricted_accuracy: float
    excluded_loss: float  # on the training pairs
    excluded_accuracy: float  # on all pairs
    per_irrep: list[dict] = field(default_factory=list)  # restricted to / excluded without each


def effective_embeddings(model: HookedModel) -> dict[str, np.ndarray]:
    """What the network first does with a and with b, one row per element: for an MLP the
    embeddings times its half of W_in (the pre-activations a and b contribute), for a
    transformer its token embedding."""
    embeds = [e.detach().double().numpy() for e in model.input_embeddings()]
    if model.cfg.kind == "mlp" and model.cfg.combine == "concat":
        w_in = model.W_in.detach().double().numpy()
        d = embeds[0].shape[1]
        embeds = [embeds[0] @ w_in[:d], embeds[1] @ w_in[d:]]
    elif model.cfg.kind == "mlp":
        w_in = model.W_in.detach().double().numpy()
        embeds = [e @ w_in for e in embeds]
    return {"a": embeds[0], "b": embeds[1]}


def element_rows(view: GroupView, embeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The effective embeddings with one row per element: a's rows through σ⁻¹, b's through τ⁻¹."""
    return {"a": embeds["a"][view.a_token], "b": embeds["b"][view.b_token]}


def group_snapshot(model: HookedModel, data: Dataset, logits: np.ndarray,
                   acts: np.ndarray | None) -> GroupSnapshot:
    """The measures from the model's weights and its logits [n², n] and neuron activations
    [n², d_mlp] (model_logits; acts None skips the neuron view)."""
    view = view_of(data)
    labels = data.labels
    loss, acc = scores(logits, labels)
    _, test_acc = scores(logits, labels, data.test_idx)
    train_loss, _ = scores(logits, labels, data.train_idx)
    keys = choose_key_irreps(view, logits, labels, acc)
    m = product_component(view, logits)
    embeds = element_rows(view, effective_embeddings(model))
    embed_fr = {k: isotypic_fractions(view, v) for k, v in embeds.items()}
    fractions = {k: (embed_fr["a"][k] + embed_fr["b"][k]) / 2 for k in view.names}
    w_l = model.neuron_to_logits().detach().double().numpy()[:, :view.group.order]
    unembed = isotypic_fractions(view, w_l.T)
    counts: dict[str, int] = {}
    explained = float("nan")
    if acts is not None:
        best, frac = neuron_fractions(view, acts)
        for i, f in zip(best, frac):
            if f >= NEURON_FRACTION:
                counts[view.names[i]] = counts.get(view.names[i], 0) + 1
        explained = float(frac.mean())
    r_loss, r_acc = scores(restricted_logits(view, logits, keys.names, m), labels)
    x_logits = excluded_logits(view, logits, keys.names, m)
    x_loss, _ = scores(x_logits, labels, data.train_idx)
    _, x_acc = scores(x_logits, labels)
    per = []
    for k in view.nontrivial:
        only_loss, only_acc = scores(restricted_logits(view, logits, [k], m), labels)
        without_loss, _ = scores(excluded_logits(view, logits, [k], m), labels, data.train_idx)
        per.append({"irrep": k, "dim": view.irreps[view.index(k)].dim, "key": k in keys.names,
                    "restricted_loss": only_loss, "restricted_accuracy": only_acc,
                    "excluded_train_loss": without_loss, "logit_share": keys.shares[k],
                    "embed_fraction": fractions[k], "unembed_fraction": unembed[k],
                    "neurons": counts.get(k, 0)})
    return GroupSnapshot(acc, loss, test_acc, train_loss, keys, fractions, embed_fr, unembed,
                         keys.shares, counts, explained, r_loss, r_acc, x_loss, x_acc, per)


def group_progress(model: HookedModel, data: Dataset, epoch: int, key_names: list[str]
                   ) -> GroupProgressPoint:
    view = view_of(data)
    logits, _ = model_logits(model, data)
    labels = data.labels
    loss_train, acc_train = scores(logits, labels, data.train_idx)
    loss_test, acc_test = scores(logits, labels, data.test_idx)
    m = product_component(view, logits)
    r_loss, _ = scores(restricted_logits(view, logits, key_names, m), labels)
    x_loss, _ = scores(excluded_logits(view, logits, key_names, m), labels, data.train_idx)
    embeds = list(element_rows(view, effective_embeddings(model)).values())
    key = float(np.mean([sum(isotypic_fractions(view, e)[k] for k in key_names) for e in embeds]))
    norm = float(sum((p.detach().double() ** 2).sum() for p in model.parameters()))
    return GroupProgressPoint(epoch, loss_train, loss_test, acc_train, acc_test, r_loss, x_loss,
                              key, norm)


def snapshot_dict(snap: GroupSnapshot) -> dict:
    return dataclasses.asdict(snap)
