"""The decision rules' thresholds, in one place, with the rules themselves as pure functions: the
key-set rule both domains share (grow to sufficiency, a noise margin, prune by necessity), the
verdict, the program family (clock / pizza / lookup and the pizza vote) and the LLC's refusal of
points that are not minima. One cross-entropy. (Pure, so `make mutants` can pin them all.)

Every threshold is named here once; the domain modules import them (and state them in their RULE
strings). The science behind each is in docs/science.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable, Sequence

import numpy as np

# ---- "right" ---------------------------------------------------------------------------------
RIGHT = 0.99  # accuracy / agreement that counts as right: memorized (train), grokked (test),
# sufficient (restricted accuracy), algorithmic (program accuracy and agreement), a curve point
# right (held-out agreement), a lookup network's training fit

# ---- key sets (frequencies, irreps) ----------------------------------------------------------
SUFFICIENT_LOSS_RATIO = 10.0  # a sufficient set's restricted loss is <= this x the full loss
NECESSITY_NOISE = 3.0  # necessary: dropping it changes the loss > this x the noise
NOISE_DRAWS = 8  # random non-key frequencies drawn for the cyclic noise margin
MIN_RISE = 0.10  # (unused by groups since the embedding restriction; kept for the record)
KEY_SHARE = 0.05  # groups: an irrep's logit share is reported, not used to choose
GROUP_SUFFICIENT_RATIO = 2.0  # groups: the embeddings restricted to the set: loss <= this x full
GROUP_NECESSARY_RATIO = 2.0  # groups: a member is needed when removing it raises that loss this x
CHANCE_FACTOR = 2.0  # groups: a candidate irrep holds >= this x its chance share of the effective
# embeddings' non-trivial part (chance: an unstructured function puts dim(isotypic)/(|G| - 1) there)
VIEW_RATIO = 25.0  # cyclic views: energy >= this x the noise floor
FLOOR_PERCENTILE = 25  # cyclic views: the noise floor is this percentile of the energies
MIN_CLUSTER_SHARE = 0.02  # cyclic neuron view: a cluster of >= max(2, this x d_mlp) neurons
NEURON_FVE = 0.85  # a neuron belongs to its best frequency / irrep when it explains this much
COSET_CONCENTRATED = 1.0  # groups: an operand part is coset-concentrated when min_H C_H < this
# (Stander et al. 2024; null: a random function gives about [G:H] >= 2, measured as null_min_c)
COSET_EXACT = 0.01  # ... and constant on the cosets up to this share of its variance

# ---- program families (cyclic) ----------------------------------------------------------------
EXPLAIN_AGREEMENT = 0.90  # a family explains the network: held-out agreement >= this
EXPLAIN_FVE_SHARE = 0.5  # ... and logit FVE >= this x the best family's
PIZZA_DEPENDENCE = 0.2  # pizza votes: distance dependence >= this,
SUMMED_INPUT_FVE = 0.99  # input side "sum": logits keep this FVE with E_a, E_b -> their mean
PIZZA_SYMMETRICITY = 0.9  # gradient symmetricity >= this (one-layer models only),
PIZZA_IRRELEVANCE = 0.5  # distance irrelevance <= this
PROFILE_TIE = 0.02  # pizza magnitude profiles closer than this in FVE are a tie
LOOKUP_TRAIN_ACC = RIGHT  # lookup: fits its training pairs ...
LOOKUP_MAX_TEST_ACC = 0.5  # ... and is at most this right held out

# ---- phases and trends -------------------------------------------------------------------------
PHASE_DROP = 0.10  # cleanup ends when the weight norm falls at <= this x its fastest rate
PHASE_WINDOW = 5  # evaluations averaged for that rate
LEAD_LOSS = 0.1  # nats: a loss this low means the answers are right with confidence

# ---- the LLC ------------------------------------------------------------------------------------
LLC_DIVERGENCE_FACTOR = 10.0  # a chain diverged: nβ (L − L*) > this x the parameter count
LLC_STATIONARY_TOL = 0.10  # stationary: the second half's mean within this share of the whole's
LLC_NEGATIVE_TOL = 0.0  # an estimate below zero minus this is flagged
LLC_DESCENT_SHARE = 0.01  # not a minimum: a draw (burn-in included) or a gradient line search
LLC_DESCENT_FLOOR = 1.0  # went below L(w*), or the gradient's pull (nβ|∇L|)²/2γ is, beyond
# max(this floor, this share x |estimate|), in nβ·ΔL units (at a minimum both are 0: the null)

# ---- verdicts ---------------------------------------------------------------------------------
NECESSITY_ACC = 0.10  # algorithmic: the network without the program's component is <= this
MEMORIZING_AGREEMENT = 0.10  # memorizing: held-out agreement with the network <= this
LOOKUP_AGREEMENT = 0.5  # groups: characters only when the program agrees this much held out
EXPLAIN_MIN_FVE = 0.5  # a program explains the network: it explains this share of the logit
# variance (null: a program fitted to an untrained network's logits explains ~0)
ALGORITHMIC_PROGRAMS = ("clock", "pizza", "characters", "cosets")
VERDICTS = ("algorithmic", "partial", "memorizing", "unfitted", "different_function")


def verdict_rule(program: str, component: str) -> str:
    """The verdict rule in words, for a domain's program kind and the component it ablates."""
    return (f"different_function: a {program} program agreeing >= {RIGHT:.0%} with the network "
            f"but < {RIGHT:.0%} right on the task; memorizing: a lookup program, no key set, or "
            f"held-out agreement <= {MEMORIZING_AGREEMENT:.0%}, the network fitting >= {RIGHT:.0%} "
            f"of its training pairs (unfitted when it does not); algorithmic: a {program} "
            f"program, accuracy >= {RIGHT:.0%} on all pairs, agreement >= {RIGHT:.0%}, logit "
            f"FVE >= {EXPLAIN_MIN_FVE:g}, the network fitting its training pairs and <= "
            f"{NECESSITY_ACC:.0%} accurate without {component}; partial otherwise")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of logits [n, classes] (float64 log-softmax), clipped at 0."""
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return max(0.0, float(-logp[np.arange(len(labels)), labels].mean()))


def verdict(algorithm: str, has_keys: bool, acc: float, agreement: float,
            test_agreement: float, ablated: float | None, train_fit: float,
            fve: float) -> str:
    """In order:
    different_function: an algorithmic program that agrees >= RIGHT with the network on all pairs
      but is < RIGHT right on the task (the network computes some other function);
    memorizing: a lookup program, no key set, or held-out agreement <= MEMORIZING_AGREEMENT, for a
      network that fits >= RIGHT of its training pairs; unfitted: the same for one that does not
      (it has neither memorized nor found an algorithm, e.g. at initialization);
    algorithmic: an algorithmic program >= RIGHT accurate on all pairs, agreeing >= RIGHT with the
      network, explaining >= EXPLAIN_MIN_FVE of its logit variance, the network fitting its
      training pairs and <= NECESSITY_ACC accurate without the program's component;
    partial otherwise."""
    programmatic = algorithm in ALGORITHMIC_PROGRAMS and has_keys
    if programmatic and agreement >= RIGHT and acc < RIGHT:
        return "different_function"
    if algorithm == "lookup" or not has_keys or test_agreement <= MEMORIZING_AGREEMENT:
        return "memorizing" if train_fit >= RIGHT else "unfitted"
    if programmatic and acc >= RIGHT and agreement >= RIGHT and fve >= EXPLAIN_MIN_FVE \
            and train_fit >= RIGHT and ablated is not None and ablated <= NECESSITY_ACC:
        return "algorithmic"
    return "partial"


# ---- which program: the family rule (families.RULE states it in words) ------------------------
def pizza_votes(dependence: float, irrelevance: float, symmetricity: float | None) -> dict:
    """The pizza signals, each a vote: distance dependence of the logits >= PIZZA_DEPENDENCE,
    distance irrelevance <= PIZZA_IRRELEVANCE, and (one-layer models only, where it is known)
    gradient symmetricity >= PIZZA_SYMMETRICITY."""
    votes = {"distance_dependence": bool(dependence >= PIZZA_DEPENDENCE),
             "distance_irrelevance": bool(irrelevance <= PIZZA_IRRELEVANCE)}
    if symmetricity is not None:
        votes["gradient_symmetricity"] = bool(symmetricity >= PIZZA_SYMMETRICITY)
    return votes


def pizza_signals(votes: dict) -> bool:
    """The vote passes with at least two signals (both, when only two were cast)."""
    return sum(votes.values()) >= 2


def family(scores: dict, pizza: bool, net_train: float, net_test: float) -> str:
    """clock / pizza / lookup / unknown from the families' scores (objects with `agreement` and
    `logit_fve`, keyed by family): a wave family explains the network when it agrees >=
    EXPLAIN_AGREEMENT held out and its logit FVE is > 0 and >= EXPLAIN_FVE_SHARE x the best
    family's; both: pizza when the pizza vote passed (`pizza`), else clock; neither: lookup for
    a network >= LOOKUP_TRAIN_ACC right on its training pairs and <= LOOKUP_MAX_TEST_ACC held
    out; else unknown."""
    best = max(s.logit_fve for s in scores.values())
    explains = [f for f in ("clock", "pizza")
                if scores[f].agreement >= EXPLAIN_AGREEMENT
                and scores[f].logit_fve >= EXPLAIN_FVE_SHARE * best and scores[f].logit_fve > 0]
    if len(explains) == 2:
        return "pizza" if pizza else "clock"
    if explains:
        return explains[0]
    if net_train >= LOOKUP_TRAIN_ACC and net_test <= LOOKUP_MAX_TEST_ACC:
        return "lookup"
    return "unknown"


# ---- the LLC: is w* a local minimum? -----------------------------------------------------------
def llc_refusal(lowest: float, drift: float, llc: float) -> str | None:
    """Why an estimate λ̂ = `llc` is not one (None when it is): `lowest`, the lowest nβ·(L − L*)
    the chains or a line search down the gradient reached; `drift`, the gradient's pull
    (nβ|∇L(w*)|)²/2γ. Not a local minimum when either goes beyond max(LLC_DESCENT_FLOOR,
    LLC_DESCENT_SHARE x |λ̂|); an estimate below −LLC_NEGATIVE_TOL is refused too."""
    allowed = max(LLC_DESCENT_FLOOR, LLC_DESCENT_SHARE * abs(llc))
    if lowest < -allowed or drift > allowed:
        why = (f"the chains found loss below L(w*) by nβ·ΔL = {lowest:.4g}" if lowest < -allowed
               else f"the gradient at w* pulls the localized chains down by (nβ|∇L|)²/2γ = "
                    f"{drift:.4g}")
        return f"not a local minimum: {why} (allowed: {allowed:.3g})"
    if llc < -LLC_NEGATIVE_TOL:
        return (f"negative estimate {llc:.4g}: the chains found lower loss than at w*, which is "
                "not a local minimum")
    return None


@dataclass(frozen=True)
class KeySet:
    """The outcome of the key-set rule: the members and the evidence for them."""

    members: list
    sufficient: bool | None  # None when the model itself is below RIGHT
    loss: float  # restricted loss of the members
    accuracy: float  # restricted accuracy of the members
    margin: float  # the noise margin necessity is judged against
    deltas: dict = field(default_factory=dict)  # restricted loss without k minus with all
    pruned: list = field(default_factory=list)

    @property
    def necessary(self) -> dict:
        return {k: d > self.margin for k, d in self.deltas.items()}


def key_set(start: Sequence[Hashable], pool: Sequence[Hashable],
            score: Callable[[list], tuple[float, float]], full_loss: float, model_acc: float,
            noise: Callable[[list], Sequence[Hashable]], min_rise: float = 0.0,
            keep_sorted: bool = False, ratio: float = SUFFICIENT_LOSS_RATIO,
            rise_ratio: float | None = None) -> KeySet:
    """The key-set rule. From `start`, if the model is >= RIGHT accurate and the set is not
    sufficient (restricted accuracy >= RIGHT, restricted loss <= `ratio` x the full loss), add
    from `pool` greedily (best restricted loss first) until it is. Necessity: with `rise_ratio`,
    a member is needed when removing it raises the restricted loss to >= rise_ratio x the set's
    (the margin is (rise_ratio - 1) x the set's loss); otherwise the noise margin is
    max(min_rise x the set's loss, NECESSITY_NOISE x the largest change from adding one of
    `noise(members)` to the set). Unnecessary members of a sufficient set are pruned, least
    necessary first, while it stays sufficient. `score(members)` -> (restricted loss, accuracy)."""

    def enough(loss: float, acc: float) -> bool:
        return acc >= RIGHT and loss <= ratio * max(full_loss, 1e-12)

    members = list(start)
    loss, acc = score(members)
    sufficient = None
    if model_acc >= RIGHT:
        while not enough(loss, acc) and (extra := [k for k in pool if k not in members]):
            trials = {k: score(members + [k]) for k in extra}
            best = min(trials, key=lambda k: trials[k][0])
            members = sorted(members + [best]) if keep_sorted else members + [best]
            loss, acc = trials[best]
        sufficient = enough(loss, acc)
    if rise_ratio is not None:
        margin = (rise_ratio - 1.0) * loss
    else:
        margin = min_rise * loss
        for k in noise(members):  # the noise: what an irrelevant member does to the set
            margin = max(margin, NECESSITY_NOISE * abs(loss - score(members + [k])[0]))
    pruned: list = []
    while True:
        deltas = {k: score([f for f in members if f != k])[0] - loss for k in members}
        weakest = min(deltas, key=deltas.get) if deltas else None
        if not sufficient or weakest is None or deltas[weakest] > margin or len(members) == 1:
            break
        trial = [f for f in members if f != weakest]
        t_loss, t_acc = score(trial)
        if not enough(t_loss, t_acc):
            break
        members, loss, acc = trial, t_loss, t_acc
        if rise_ratio is not None:
            margin = (rise_ratio - 1.0) * loss
        pruned.append(weakest)
    return KeySet(members, sufficient, loss, acc, margin, deltas, pruned)
