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
Key irreps (RULE): judged on the network itself with its input embeddings restricted to a set of
irreps (EmbeddingRestriction: keep the trivial and the set's isotypic components of the a- and
b-embeddings, run every pair), not on the logits' product component, where a 1-dimensional irrep
such as sign is nearly invisible. Candidates must hold CHANCE_FACTOR x their chance share of the
embeddings (an unstructured function puts dim(isotypic)/(|G|-1) in each irrep), so a memorizer or
a network on a table that is no group has none; sufficient: within GROUP_SUFFICIENT_RATIO of the
full loss; necessary: removing it raises that loss GROUP_NECESSARY_RATIO x. The key irreps are
reported only for a sufficient set (`found` keeps what the rule ended with, `why_none` says why).
A model below SUFFICIENT_ACC on held-out pairs is "not grokked", said first.
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
from groklab.models.hooks import by_position
from groklab.rules import (CHANCE_FACTOR, GROUP_NECESSARY_RATIO, GROUP_SUFFICIENT_RATIO,
                           NEURON_FVE, RIGHT, key_set)
from groklab.tasks import Dataset

SUFFICIENT_ACC = RIGHT
NEURON_FRACTION = NEURON_FVE  # a neuron belongs to its best irrep when that irrep explains this much
RULE = (f"key irreps: candidates are the non-trivial irreps whose share of the effective "
        f"embeddings' non-trivial part is >= {CHANCE_FACTOR:g} x chance (dim of the isotypic "
        f"component / (|G| - 1)), best first; sufficiency and necessity are judged on the network "
        f"with its embeddings restricted to the trivial irrep plus the set (all pairs): if the "
        f"model is >= {SUFFICIENT_ACC:.0%} accurate and the set is not sufficient (accuracy >= "
        f"{SUFFICIENT_ACC:.0%}, loss <= {GROUP_SUFFICIENT_RATIO:g} x the full loss), irreps are "
        f"added greedily, best loss first, until it is; a member is necessary when removing it "
        f"raises the loss >= {GROUP_NECESSARY_RATIO:g}x; unnecessary members are pruned while the "
        f"set stays sufficient; the key irreps are reported only for a sufficient set")


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
    said = data.task.named_group
    if said is None:
        return structure_of(token_table(data))
    known = None
    if make_group(said).order == data.task.p:
        known = (said, data.task.element_order)
    return structure_of(token_table(data), said, known)


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
def answer_activations(model: HookedModel, data: Dataset, hook: str | None
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits of every pair [n², n] (float64) and, with a `hook`, what it carries at the answer
    position [n², width] (float64)."""
    captured = {}

    def grab(x: torch.Tensor, _name: str) -> torch.Tensor:
        captured["x"] = by_position(x)[:, -1]
        return x

    with model.hooks({hook: grab} if hook else {}):
        logits = model.logits(torch.as_tensor(data.pairs))
    acts = captured["x"].double().numpy() if hook else None
    return logits.double().numpy(), acts


def model_logits(model: HookedModel, data: Dataset, neurons: bool = False
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits of every pair [n², n] (float64) and, with `neurons`, the neuron activations at the
    answer position [n², d_mlp]."""
    return answer_activations(model, data, model.neuron_hook if neurons else None)


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
    """The key irreps by RULE, with the evidence. `names` is empty unless the set is sufficient."""

    names: list[str]
    shares: dict[str, float]  # product-component energy share per non-trivial irrep (reported)
    candidates: list[str]  # embedding share >= CHANCE_FACTOR x chance, best first
    sufficient: bool | None  # None when the model is below SUFFICIENT_ACC
    restricted_accuracy: float
    necessary: dict[str, bool]
    drop_loss_rise: dict[str, float]
    noise_margin: float
    pruned: list[str]
    rule: str = RULE
    embed_shares: dict[str, float] = field(default_factory=dict)  # non-trivial part of the embeddings
    chance: dict[str, float] = field(default_factory=dict)  # dim(isotypic) / (|G| - 1)
    restricted_loss: float = float("nan")  # the set's embedding-restricted loss, all pairs
    found: list[str] = field(default_factory=list)  # what the rule ended with, sufficient or not
    why_none: str = ""


class EmbeddingRestriction:
    """The network run with its input embeddings restricted to irreps: the a-embedding (one row per
    element, through σ⁻¹) projected on the trivial irrep plus the kept ones, the same for b, put
    back in at the embedding hook (the plain forward), every pair scored."""

    def __init__(self, model: HookedModel, data: Dataset, view: GroupView):
        self.model, self.view, self.labels = model, view, data.labels
        emb = [e.detach().double().numpy() for e in model.input_embeddings()]
        self.rows = (emb[0][view.a_token], emb[1][view.b_token])  # [n(element), d]
        self.pairs = torch.as_tensor(data.pairs)
        self.cache: dict[tuple, tuple[float, float]] = {}

    def logits(self, names, rows: np.ndarray | None = None) -> np.ndarray:
        """The restricted network's logits on every pair (or the dataset rows `rows`)."""
        view = self.view
        proj = view.projector_of([view.names[0], *names])
        sig, tau = view.structure.sigma, view.structure.tau
        a = torch.as_tensor((proj @ self.rows[0])[sig])  # token -> row
        b = torch.as_tensor((proj @ self.rows[1])[tau])
        pairs = self.pairs if rows is None else self.pairs[torch.as_tensor(rows)]
        tok_a, tok_b = pairs[:, 0], pairs[:, 1]

        def put(x: torch.Tensor, _name: str) -> torch.Tensor:
            x = x.clone()
            x[:, 0] = a[tok_a].to(x.dtype)
            x[:, 1] = b[tok_b].to(x.dtype)
            return x

        with torch.no_grad(), self.model.hooks({"hook_embed": put}):
            return self.model.plain_logits(pairs).double().numpy()

    def score(self, names) -> tuple[float, float]:
        key = tuple(sorted(names))
        if key not in self.cache:
            self.cache[key] = scores(self.logits(list(key)), self.labels)
        return self.cache[key]


def embed_shares(view: GroupView, rows: dict[str, np.ndarray]) -> dict[str, float]:
    """Each non-trivial irrep's share of the effective embeddings' non-trivial part (a and b
    averaged); chance for an unstructured embedding: dim(isotypic) / (|G| - 1)."""
    out = {}
    for side in rows.values():
        fr = isotypic_fractions(view, side)
        rest = sum(fr[k] for k in view.nontrivial) or 1.0
        for k in view.nontrivial:
            out[k] = out.get(k, 0.0) + fr[k] / rest / len(rows)
    return out


def chance_shares(view: GroupView) -> dict[str, float]:
    n = view.group.order
    return {r.name: r.isotypic_dim / (n - 1) for r in view.irreps[1:]}


def choose_key_irreps(view: GroupView, model: HookedModel, data: Dataset,
                      logits: np.ndarray) -> KeyIrreps:
    """RULE, on the network with its embeddings restricted (EmbeddingRestriction)."""
    labels = data.labels
    full_loss, model_acc = scores(logits, labels)
    shares = product_shares(view, product_component(view, logits))
    emb = embed_shares(view, element_rows(view, effective_embeddings(model)))
    chance = chance_shares(view)
    by_share = sorted(view.nontrivial, key=lambda k: emb[k] / chance[k], reverse=True)
    candidates = [k for k in by_share if emb[k] >= CHANCE_FACTOR * chance[k]]
    restriction = EmbeddingRestriction(model, data, view)
    keys = key_set(candidates, by_share, restriction.score, full_loss, model_acc, lambda _: [],
                   ratio=GROUP_SUFFICIENT_RATIO, rise_ratio=GROUP_NECESSARY_RATIO)
    found = [k for k in view.nontrivial if k in keys.members]
    why = ""
    if keys.sufficient is None:
        why = (f"the network is {model_acc:.2%} accurate on all pairs (< {SUFFICIENT_ACC:.0%}): "
               "there is no algorithm for a set to be sufficient for")
    elif not keys.sufficient:
        why = (f"no set of irreps is sufficient: the embeddings restricted to {found} give "
               f"{keys.loss:.3g} vs the full {full_loss:.3g} (accuracy {keys.accuracy:.2%})")
    return KeyIrreps(found if keys.sufficient else [], {k: round(v, 6) for k, v in shares.items()},
                     candidates, keys.sufficient, keys.accuracy, keys.necessary,
                     {k: round(d, 9) for k, d in keys.deltas.items()}, round(keys.margin, 12),
                     keys.pruned, embed_shares={k: round(v, 6) for k, v in emb.items()},
                     chance={k: round(v, 6) for k, v in chance.items()},
                     restricted_loss=keys.loss, found=found, why_none=why)


# ---- the whole analysis -----------------------------------------------------------------------


@dataclass
class GroupProgressPoint:
    epoch: int
    loss_train: float
    loss_test: float
    acc_train: float
    acc_test: float
    restricted_loss: float  # logits kept to the final key irreps' product component, all pairs
    excluded_loss: float  # logits without it, training pairs
    key_embed_fraction: float  # isotypic fraction of the embeddings in the final key irreps
    weight_norm: float
    coset_fraction: float | None = None  # operand parts with min C < 1 (analysis.group.cosets)
    coset_median_c: float | None = None  # their median min C


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
    keys = choose_key_irreps(view, model, data, logits)
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
    restriction = EmbeddingRestriction(model, data, view)
    r_loss, r_acc = restriction.score(keys.names)
    x_logits = restriction.logits([k for k in view.nontrivial if k not in keys.names])
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
    m = product_component(view, logits)  # per checkpoint: the logits' product component (cheap;
    # the key-set decision and the snapshot use the embedding restriction)
    r_loss, _ = scores(restricted_logits(view, logits, key_names, m), labels)
    x_loss, _ = scores(excluded_logits(view, logits, key_names, m), labels, data.train_idx)
    embeds = list(element_rows(view, effective_embeddings(model)).values())
    proj = view.projector_of(key_names)
    key = float(np.mean([((proj @ e) ** 2).sum() / max(float((e ** 2).sum()), 1e-300)
                         for e in embeds]))
    norm = float(sum((p.detach().double() ** 2).sum() for p in model.parameters()))
    return GroupProgressPoint(epoch, loss_train, loss_test, acc_train, acc_test, r_loss, x_loss,
                              key, norm)


def snapshot_dict(snap: GroupSnapshot) -> dict:
    return dataclasses.asdict(snap)
