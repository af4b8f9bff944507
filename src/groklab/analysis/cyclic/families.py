"""Which program does the network run? Program families fitted to its logits in discovered
coordinates, compared, and chosen by a declared rule.

On a `Frame` (x = f(a) + s·f(b), δ = f(a) − s·f(b), d = x − g(c), all mod N):
- clock:   logit(c) = Σ_k A_k cos(w_k d + φ_k)                       (Nanda et al. 2023)
- pizza:   logit(c) = Σ_k M_k(δ) A_k cos(w_k d + φ_k), the magnitude depending on δ (Zhong et
           al. 2023): M_k(δ) = |cos(w_k δ / 2)| (profile `abs_cos`) or free per (k, δ) (`free`)
- lookup:  the network's answers on the training pairs, and nothing else (a memorizer).
Pairs whose inputs have no coordinate (0 under a discrete log) are answered by a table of the
network's answers in clock and pizza; its entries count in their description length.

Frequencies: those of the clock's wave spectrum (the mean centred logit as a function of d) with
energy >= keyfreq.RATIO x its 25th-percentile energy (the key-frequency energy rule).
Scores per family (valid pairs of the task; the task's labels only score): logit FVE (regular
pairs, classes with a coordinate, logits centred per pair), held-out KL from the network's output
distribution (temperature fitted on the training pairs), accuracy on all pairs, agreement with the
network on held-out pairs, description length (numbers a reader must know: map table entries,
(k, A, φ) per frequency, profile entries, exception or lookup entries).

The rule (RULE) picks the algorithm. Clock and pizza give the same answers, so when both explain
the network the choice rests on three signals of the pizza, a vote of at least two (both, when the
gradient symmetricity is not available, as for bare logits):
- distance dependence = (FVE(pizza, free) − FVE(clock)) / (1 − FVE(clock)): the share of what the
  clock leaves unexplained that a δ-dependent magnitude explains (ideal clock 0, ideal pizza 1;
  measured: trained clocks 0.04 and 0.14, trained pizzas 0.25-0.58) >= PIZZA_DEPENDENCE;
- gradient symmetricity >= PIZZA_SYMMETRICITY (Zhong et al.: pizzas ≈ 0.99, clocks 0.3-0.6);
- distance irrelevance <= PIZZA_IRRELEVANCE (Zhong et al.'s medians: pizza 0.25, clock 0.79).

Glossary: N (circle), K (frequencies), C (classes with a coordinate), rows (token pairs).
"""

from __future__ import annotations

import dataclasses
import math

from dataclasses import dataclass, field

import numpy as np

from groklab.analysis.cyclic.diagnostics import distance_irrelevance
from groklab.analysis.cyclic.frame import Frame
from groklab.analysis.cyclic.keyfreq import energy_view
from groklab.analysis.scale import best_scale
from groklab.rules import (EXPLAIN_AGREEMENT, EXPLAIN_FVE_SHARE, LOOKUP_MAX_TEST_ACC,
                           LOOKUP_TRAIN_ACC, PIZZA_DEPENDENCE, PIZZA_IRRELEVANCE,
                           PIZZA_SYMMETRICITY, PROFILE_TIE, pizza_signals, pizza_votes)
from groklab.rules import family as choose  # RULE, applied to the scores

FAMILIES = ("clock", "pizza", "lookup")
ALGORITHMS = ("clock", "pizza", "lookup", "unknown")
RULE = (f"clock or pizza explains the network when its held-out agreement is >= "
        f"{EXPLAIN_AGREEMENT:.0%} and its logit FVE >= {EXPLAIN_FVE_SHARE} x the best family's; "
        f"if both do, pizza when at least two of: distance dependence >= {PIZZA_DEPENDENCE}, "
        f"gradient symmetricity >= {PIZZA_SYMMETRICITY}, distance irrelevance <= "
        f"{PIZZA_IRRELEVANCE} (both of the other two when symmetricity is unknown), else "
        "clock; if "
        f"neither does, lookup when the network is >= {LOOKUP_TRAIN_ACC:.0%} accurate on the "
        f"training pairs and <= {LOOKUP_MAX_TEST_ACC:.0%} on held-out pairs; else unknown")


@dataclass(frozen=True)
class FamilyScore:
    logit_fve: float
    heldout_kl: float | None
    accuracy: float
    agreement: float  # with the network, held-out pairs
    description_length: int
    mdl: float | None = None  # nats: N·(held-out KL) + ½·constants·ln N (None without the KL)


@dataclass(frozen=True)
class Waves:
    """Σ_k M_k(δ) (a_k cos(w_k d) + b_k sin(w_k d)) as fitted; profile None: M = 1 (clock)."""

    freqs: list[int]
    cos: list[float]  # a_k (for the free profile: the mean over δ)
    sin: list[float]  # b_k
    profile: str | None = None  # None | abs_cos | free
    free_cos: list[list[float]] | None = None  # [K][N] a_k(δ), free profile only
    free_sin: list[list[float]] | None = None

    @property
    def amplitude(self) -> list[float]:
        return [float(np.hypot(a, b)) for a, b in zip(self.cos, self.sin)]

    @property
    def phase(self) -> list[float]:  # A cos(w d + φ) = a cos(w d) + b sin(w d): φ = atan2(−b, a)
        return [float(np.arctan2(-b, a)) for a, b in zip(self.cos, self.sin)]

    def table(self, n: int) -> np.ndarray:
        """T[δ, d], the wave sum for every (δ, d). # [N, N]"""
        d = np.arange(n)
        out = np.zeros((n, n))
        for i, k in enumerate(self.freqs):
            w = 2 * np.pi * k / n
            c, s = np.cos(w * d), np.sin(w * d)
            if self.profile == "free":
                out += np.outer(self.free_cos[i], c) + np.outer(self.free_sin[i], s)
                continue
            wave = self.cos[i] * c + self.sin[i] * s
            m = np.abs(np.cos(w * d / 2)) if self.profile == "abs_cos" else np.ones(n)
            out += np.outer(m, wave)
        return out


@dataclass
class FamilyComparison:
    """Every family's fit and score, and the algorithm the rule picks."""

    algorithm: str
    freqs: list[int]
    clock: Waves
    pizza: Waves
    scores: dict[str, FamilyScore]
    distance_dependence: float
    pizza_profiles: dict[str, float]  # logit FVE of each pizza profile
    distance_irrelevance: float
    gradient_symmetricity: float | None
    pizza_votes: dict[str, bool]
    network_train_accuracy: float
    network_test_accuracy: float
    rule: str = RULE
    exceptions: int = 0  # valid pairs answered from a table in clock and pizza
    notes: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """The family comparison as a small table."""
        num = lambda x, f: "-" if x is None else format(x, f)  # noqa: E731
        lines = [f"  {'family':7s} {'logit FVE':>9s} {'held-out KL':>11s} {'accuracy':>8s} "
                 f"{'agreement':>9s} {'constants':>9s} {'MDL (nats)':>10s}"]
        for name, s in self.scores.items():
            lines.append(f"  {name:7s} {num(s.logit_fve, '9.3f')} {num(s.heldout_kl, '11.3g')} "
                         f"{num(s.accuracy, '8.2%')} {num(s.agreement, '9.2%')} "
                         f"{s.description_length:9d} {num(s.mdl, '10.4g')}")
        gs = self.gradient_symmetricity
        lines.append(f"  pizza signals: distance dependence {self.distance_dependence:.3f}, "
                     f"gradient symmetricity {'-' if gs is None else format(gs, '.3f')}, distance "
                     f"irrelevance {self.distance_irrelevance:.3f}; rule: {self.rule}")
        return lines


# ---- the cells: sums of centred logits per (δ, d) -------------------------------------------
@dataclass(frozen=True)
class Cells:
    sums: np.ndarray  # [N, N] Σ centred logit per (δ, d)
    counts: np.ndarray  # [N, N]
    total: float  # Σ centred logit², the same entries
    rows: np.ndarray  # the regular valid rows used


def cells(frame: Frame) -> Cells:
    rows = np.flatnonzero(frame.regular & frame.valid)
    n = frame.n
    z = frame.centred(rows)
    cell = (frame.delta[rows][:, None] * n + frame.d(rows)).ravel()
    sums = np.bincount(cell, weights=z.ravel(), minlength=n * n).reshape(n, n)
    counts = np.bincount(cell, minlength=n * n).reshape(n, n).astype(np.float64)
    return Cells(sums, counts, float((z**2).sum()), rows)


def fve(c: Cells, table: np.ndarray) -> float:
    """1 − RSS/total of the wave table T[δ, d] against the centred logits."""
    if c.total <= 0:
        return 0.0
    rss = c.total - 2 * float((table * c.sums).sum()) + float((c.counts * table**2).sum())
    return 1.0 - rss / c.total


def _features(n: int, freqs: list[int]) -> np.ndarray:  # [N, 2K]: cos, sin of w_k d
    d = np.arange(n)
    w = 2 * np.pi * np.asarray(freqs, dtype=float) / n
    return np.concatenate([np.cos(np.outer(d, w)), np.sin(np.outer(d, w))], axis=1)


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def wave_spectrum(c: Cells) -> np.ndarray:
    """Energy a_k² + b_k² of each frequency k = 1..N//2 of the mean centred logit per d. # [K]"""
    n = len(c.sums)
    counts = c.counts.sum(0)
    mean = c.sums.sum(0) / np.maximum(counts, 1)
    coef = np.fft.rfft(mean)[1:n // 2 + 1] * 2 / n
    if n % 2 == 0:
        coef[-1] /= 2
    return np.abs(coef) ** 2


def fit_clock(c: Cells, freqs: list[int]) -> Waves:
    n = len(c.sums)
    if not freqs:
        return Waves([], [], [])
    x = _features(n, freqs)
    counts, sums = c.counts.sum(0), c.sums.sum(0)
    beta = _solve(x.T @ (counts[:, None] * x), x.T @ sums)
    k = len(freqs)
    return Waves(list(freqs), beta[:k].tolist(), beta[k:].tolist())


def fit_pizza_abs_cos(c: Cells, freqs: list[int]) -> Waves:
    n = len(c.sums)
    if not freqs:
        return Waves([], [], [], "abs_cos")
    x = _features(n, freqs)  # [d, 2K]
    w = 2 * np.pi * np.asarray(freqs, dtype=float) / n
    m = np.abs(np.cos(np.outer(np.arange(n), w) / 2))  # [δ, K]
    m2 = np.concatenate([m, m], axis=1)  # [δ, 2K]
    feat = m2[:, None, :] * x[None, :, :]  # [δ, d, 2K]
    gram = np.einsum("ijk,ij,ijl->kl", feat, c.counts, feat)
    beta = _solve(gram, np.einsum("ijk,ij->k", feat, c.sums))
    k = len(freqs)
    return Waves(list(freqs), beta[:k].tolist(), beta[k:].tolist(), "abs_cos")


def fit_pizza_free(c: Cells, freqs: list[int]) -> Waves:
    n = len(c.sums)
    if not freqs:
        return Waves([], [], [], "free", [], [])
    x = _features(n, freqs)
    gram = np.einsum("dk,jd,dl->jkl", x, c.counts, x)  # [δ, 2K, 2K]
    rhs = c.sums @ x  # [δ, 2K]
    beta = np.stack([_solve(g, r) for g, r in zip(gram, rhs)])  # [δ, 2K]
    k = len(freqs)
    return Waves(list(freqs), beta[:, :k].mean(0).tolist(), beta[:, k:].mean(0).tolist(), "free",
                 beta[:, :k].T.tolist(), beta[:, k:].T.tolist())


# ---- answers, KL, scores ----------------------------------------------------------------------
def wave_logits(frame: Frame, waves: Waves, rows: np.ndarray) -> np.ndarray:
    """Family logits [rows, p] on regular rows; classes without a coordinate get the row minimum."""
    table = waves.table(frame.n)
    z = table[frame.delta[rows][:, None], frame.d(rows)]  # [rows, C]
    out = np.repeat(z.min(1, keepdims=True) if z.size else np.zeros((len(rows), 1)), frame.p, 1)
    out[:, frame.classes] = z
    return out


def wave_answers(frame: Frame, waves: Waves) -> np.ndarray:
    """Answers on every row: the waves' argmax on regular rows, the network's answer (the
    exception table) elsewhere; -1 outside the task. # [p²]"""
    answer = np.where(frame.valid, frame.network_answer, -1)
    rows = np.flatnonzero(frame.regular & frame.valid)
    if len(rows) and waves.freqs:
        answer[rows] = wave_logits(frame, waves, rows).argmax(1)
    elif len(rows):
        answer[rows] = -1  # no waves: no answer
    return answer


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def kl(net: np.ndarray, fam: np.ndarray) -> float:
    """Mean KL(softmax(net) ‖ softmax(fam)) over rows."""
    if not len(net):
        return 0.0
    lq, lf = _log_softmax(net), _log_softmax(fam)
    return float((np.exp(lq) * (lq - lf)).sum(1).mean())


def fit_temperature(net: np.ndarray, fam: np.ndarray) -> float:
    """τ in [1e-3, 1e3] minimizing KL(net ‖ τ·fam)."""
    return best_scale(lambda tau: kl(net, tau * fam), iterations=40)


def heldout_kl(frame: Frame, fam_logits) -> float | None:
    """KL on held-out regular rows, with the temperature fitted on training regular rows.
    `fam_logits(rows)` gives the family's logits [rows, p]."""
    reg = frame.regular & frame.valid
    train, test = np.flatnonzero(reg & frame.train), np.flatnonzero(reg & frame.test)
    if not len(test) or not len(train):
        return None
    tau = fit_temperature(frame.logits[train], fam_logits(train))
    return kl(frame.logits[test], tau * fam_logits(test))


def _score(frame: Frame, answers: np.ndarray, fve_value: float, kl_value: float | None,
           length: int) -> FamilyScore:
    valid, test = frame.valid, frame.test
    acc = float((answers[valid] == frame.labels[valid]).mean()) if valid.any() else 0.0
    agree = float((answers[test] == frame.network_answer[test]).mean()) if test.any() else 0.0
    return FamilyScore(fve_value, kl_value, acc, agree, length)


def wave_score(frame: Frame, waves: Waves, fve_value: float, length: int,
               with_kl: bool) -> FamilyScore:
    """A clock's or pizza's score: its answers, FVE, held-out KL and description length."""
    kl_value = None
    if waves.freqs and with_kl:
        kl_value = heldout_kl(frame, lambda rows: wave_logits(frame, waves, rows))
    return _score(frame, wave_answers(frame, waves), fve_value, kl_value, length)


def map_length(frame: Frame) -> int:
    """Numbers needed to state the two maps: a table's entries, or 1 (a generator or a kind)."""
    return sum(m.n if m.kind == "table" else 1 for m in frame.maps)


def lookup_score(frame: Frame, c: Cells, with_kl: bool = True) -> FamilyScore:
    answers = np.where(frame.valid & frame.train, frame.network_answer, -1)
    rows = c.rows
    z = frame.centred(rows)
    onehot = (frame.classes[None, :] == frame.network_answer[rows][:, None]).astype(np.float64)
    f0 = (onehot - onehot.mean(1, keepdims=True)) * frame.train[rows][:, None]
    denom = float((f0**2).sum())
    beta = float((f0 * z).sum()) / denom if denom > 0 else 0.0
    fve_value = 1 - float(((z - beta * f0) ** 2).sum()) / c.total if c.total > 0 else 0.0

    def fam(r: np.ndarray) -> np.ndarray:
        out = np.zeros((len(r), frame.p))
        hit = frame.train[r]
        out[np.flatnonzero(hit), frame.network_answer[r][hit]] = 1.0
        return out

    return _score(frame, answers, fve_value, heldout_kl(frame, fam) if with_kl else None,
                  int((frame.valid & frame.train).sum()))


def compare(frame: Frame, with_kl: bool = True, symmetricity: float | None = None
            ) -> FamilyComparison:
    """Fit every family on `frame`, score them, and apply RULE (`with_kl`: also the held-out KL,
    which needs a temperature fit per family; `symmetricity`: the model's gradient symmetricity,
    from analysis.diagnostics, when a model is at hand)."""

    c = cells(frame)
    spectrum = wave_spectrum(c)
    freqs = energy_view(spectrum) if len(spectrum) and spectrum.max() > 0 else []
    clock = fit_clock(c, freqs)
    abs_cos, free = fit_pizza_abs_cos(c, freqs), fit_pizza_free(c, freqs)
    fves = {"clock": fve(c, clock.table(frame.n)), "abs_cos": fve(c, abs_cos.table(frame.n)),
            "free": fve(c, free.table(frame.n))}
    pizza = abs_cos if fves["abs_cos"] >= fves["free"] - PROFILE_TIE else free
    exceptions = int((frame.valid & ~frame.regular).sum())
    base = map_length(frame) + 1 + exceptions  # maps, the sign, the exception table
    k = len(freqs)
    profile_length = 0 if pizza.profile == "abs_cos" else 2 * k * frame.n
    scores = {"clock": wave_score(frame, clock, fves["clock"], base + 3 * k, with_kl),
              "pizza": wave_score(frame, pizza, fves[pizza.profile],
                                  base + 3 * k + profile_length, with_kl)}
    scores["lookup"] = lookup_score(frame, c, with_kl)
    scores = {k: with_mdl(v, int((frame.regular & frame.valid).sum())) for k, v in scores.items()}
    unexplained = 1 - fves["clock"]
    dependence = (fves["free"] - fves["clock"]) / unexplained if unexplained > 1e-12 else 0.0
    irrelevance = distance_irrelevance(frame)
    votes = pizza_votes(dependence, irrelevance, symmetricity)
    net = frame.network_answer
    tr, te = frame.valid & frame.train, frame.test
    net_train = float((net[tr] == frame.labels[tr]).mean()) if tr.any() else 0.0
    net_test = float((net[te] == frame.labels[te]).mean()) if te.any() else 0.0
    algorithm = choose(scores, pizza_signals(votes), net_train, net_test)
    return FamilyComparison(algorithm, list(freqs), clock, pizza, scores,
                            float(min(max(dependence, 0.0), 1.0)), fves, irrelevance, symmetricity,
                            votes, net_train, net_test, exceptions=exceptions)


def with_mdl(score: FamilyScore, pairs: int) -> FamilyScore:
    """The score with its description length: the network's answers coded by the family (its
    held-out KL per pair, over all `pairs`) plus ½·ln N nats per constant (BIC)."""
    if score.heldout_kl is None or pairs < 2:
        return score
    mdl = pairs * max(score.heldout_kl, 0.0) + 0.5 * score.description_length * math.log(pairs)
    return dataclasses.replace(score, mdl=float(mdl))


