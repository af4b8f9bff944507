"""The decision rules on synthetic inputs, each threshold tested on both sides and each branch
taken: the tier `make mutants` runs mutmut against (a changed rule must fail here)."""

from __future__ import annotations

import numpy as np
import pytest

from groklab import rules
from groklab.analysis.cyclic import keyfreq
from groklab.analysis.cyclic.families import FamilyScore, choose
from groklab.rules import cross_entropy, key_set, verdict

L0 = 1e-4  # the full model's loss


def _scorer(needed=None, noise=None):
    """Restricted loss of a set: ×100 without A (accuracy 0.5), ×30 without B, and a small
    factor per irrelevant member (C: +1%, D: +2%)."""
    needed = needed or {"A": 100.0, "B": 30.0}
    noise = noise if noise is not None else {"C": 0.01, "D": 0.02, "E": 0.05}

    def score(members):
        loss = L0
        for k, f in needed.items():
            if k not in members:
                loss *= f
        for k, f in noise.items():
            if k in members:
                loss *= 1 + f
        return loss, (1.0 if "A" in members else 0.5)
    return score


def test_key_set_grows_best_first_to_sufficiency():
    calls = []
    score = _scorer()

    def spy(m):
        calls.append(list(m))
        return score(m)

    ks = key_set([], ["C", "D", "B", "A"], spy, L0, 1.0, lambda m: [])
    assert ks.members == ["A", "B"] and ks.sufficient is True and ks.pruned == []
    assert ks.loss == pytest.approx(L0) and ks.accuracy == 1.0
    assert ["C"] in calls and ["A", "C"] in calls  # every candidate tried, the best one kept


def test_key_set_keeps_sorted_when_asked():
    ks = key_set([], ["C", "D", "B", "A"], _scorer(), L0, 1.0, lambda m: [], keep_sorted=True)
    assert ks.members == ["A", "B"]
    ks = key_set(["B"], ["A"], _scorer(), L0, 1.0, lambda m: [], keep_sorted=True)
    assert ks.members == ["A", "B"]
    ks = key_set(["B"], ["A"], _scorer(), L0, 1.0, lambda m: [])
    assert ks.members == ["B", "A"]


def test_key_set_is_not_grown_for_a_model_that_is_not_right():
    ks = key_set(["C"], ["A", "B"], _scorer(), L0, rules.RIGHT - 0.001, lambda m: [])
    assert ks.members == ["C"] and ks.sufficient is None and ks.pruned == []
    ks = key_set(["C"], ["A", "B"], _scorer(), L0, rules.RIGHT, lambda m: [])
    assert ks.sufficient is True and ks.members == ["A", "B"]


def test_key_set_sufficiency_ratio_on_each_side():
    # B missing costs x9.9 (within 10x: sufficient without B) or x10.1 (not)
    inside = key_set(["A"], ["B"], _scorer({"A": 100.0, "B": 9.9}), L0, 1.0, lambda m: [])
    assert inside.members == ["A"] and inside.sufficient
    outside = key_set(["A"], ["B"], _scorer({"A": 100.0, "B": 10.1}), L0, 1.0, lambda m: [])
    assert outside.members == ["A", "B"]
    two = key_set(["A"], ["B"], _scorer({"A": 100.0, "B": 2.1}), L0, 1.0, lambda m: [], ratio=2.0)
    assert two.members == ["A", "B"]
    nothing = key_set([], ["C"], _scorer(), L0, 1.0, lambda m: [])
    assert nothing.sufficient is False and nothing.members == ["C"]


def test_key_set_prunes_least_necessary_first_against_the_noise_margin():
    ks = key_set(["A", "B", "C", "D"], [], _scorer(), L0, 1.0, lambda m: ["E"])
    assert ks.members == ["A", "B"] and ks.pruned == ["D", "C"]  # D costs more: it goes first
    # the margin: NECESSITY_NOISE x the largest change from adding a noise member to the set
    assert ks.margin == pytest.approx(rules.NECESSITY_NOISE * 0.05 * L0 * 1.01 * 1.02)
    assert ks.necessary == {"A": True, "B": True}
    # with no noise draws the margin is 0: C, which lowers nothing when dropped, still goes
    ks0 = key_set(["A", "B", "C"], [], _scorer(), L0, 1.0, lambda m: [])
    assert ks0.members == ["A", "B"] and ks0.margin == 0.0
    # a member whose removal raises the loss at all is kept at margin 0
    ks1 = key_set(["A", "B"], [], _scorer({"A": 100.0, "B": 1.001}), L0, 1.0, lambda m: [])
    assert ks1.members == ["A", "B"]


def test_key_set_min_rise_margin():
    s = _scorer({"A": 100.0, "B": 1.15})
    kept = key_set(["A", "B"], [], s, L0, 1.0, lambda m: [], min_rise=0.10)
    assert kept.members == ["A", "B"]  # dropping B raises the loss 15% > 10%
    gone = key_set(["A", "B"], [], s, L0, 1.0, lambda m: [], min_rise=0.20)
    assert gone.members == ["A"] and gone.pruned == ["B"]


def test_key_set_ratio_necessity_on_each_side():
    weak = key_set(["A", "B"], [], _scorer({"A": 100.0, "B": 1.9}), L0, 1.0, lambda m: [],
                   ratio=2.0, rise_ratio=2.0)
    assert weak.members == ["A"] and weak.pruned == ["B"]
    strong = key_set(["A", "B"], [], _scorer({"A": 100.0, "B": 2.1}), L0, 1.0, lambda m: [],
                     ratio=3.0, rise_ratio=2.0)
    assert strong.members == ["A", "B"] and strong.necessary == {"A": True, "B": True}
    assert strong.margin == pytest.approx(L0)  # (rise_ratio - 1) x the set's loss


def test_key_set_never_prunes_into_insufficiency_or_below_one():
    # B is within the noise by the margin, but dropping it breaks sufficiency (x5 > 2x)
    ks = key_set(["A", "B"], [], _scorer({"A": 100.0, "B": 5.0}), L0, 1.0, lambda m: ["E"],
                 ratio=2.0, min_rise=10.0)
    assert ks.members == ["A", "B"] and ks.pruned == []
    one = key_set(["C"], [], lambda m: (L0, 1.0), L0, 1.0, lambda m: [])
    assert one.members == ["C"]  # a single member is never pruned
    unsure = key_set(["A", "B", "C"], [], _scorer(), L0, 0.5, lambda m: ["E"])
    assert unsure.members == ["A", "B", "C"]  # not sufficient-checked: nothing pruned


def test_cross_entropy():
    logits = np.array([[2.0, 0.0], [0.0, 3.0]])
    want = -np.mean([2 - np.log(np.exp(2) + 1), 3 - np.log(np.exp(3) + 1)])
    assert cross_entropy(logits, np.array([0, 1])) == pytest.approx(want)
    assert cross_entropy(np.array([[1000.0, 0.0]]), np.array([0])) == 0.0  # clipped, finite


def _fs(fve, agree, acc=1.0):
    return FamilyScore(fve, None, acc, agree, 10)


def test_family_choice_each_branch():
    both = {"clock": _fs(0.9, 1.0), "pizza": _fs(0.9, 1.0), "lookup": _fs(0.1, 0.0)}
    assert choose(both, False, 1.0, 1.0) == "clock"
    assert choose(both, True, 1.0, 1.0) == "pizza"
    only_pizza = {**both, "clock": _fs(0.9, rules.EXPLAIN_AGREEMENT - 0.01)}
    assert choose(only_pizza, False, 1.0, 1.0) == "pizza"
    edge = {**both, "clock": _fs(0.9, rules.EXPLAIN_AGREEMENT)}
    assert choose(edge, False, 1.0, 1.0) == "clock"
    weak = {**both, "pizza": _fs(0.9 * rules.EXPLAIN_FVE_SHARE - 0.01, 1.0)}
    assert choose(weak, True, 1.0, 1.0) == "clock"  # pizza's FVE under half the best's
    at = {**both, "pizza": _fs(0.9 * rules.EXPLAIN_FVE_SHARE, 1.0)}
    assert choose(at, True, 1.0, 1.0) == "pizza"
    zero = {"clock": _fs(0.0, 1.0), "pizza": _fs(0.0, 1.0), "lookup": _fs(0.0, 0.0)}
    assert choose(zero, False, 1.0, 0.0) == "lookup"
    none = {"clock": _fs(0.5, 0.2), "pizza": _fs(0.5, 0.2), "lookup": _fs(0.1, 0.0)}
    assert choose(none, False, rules.RIGHT, rules.LOOKUP_MAX_TEST_ACC) == "lookup"
    assert choose(none, False, rules.RIGHT - 0.001, 0.0) == "unknown"
    assert choose(none, False, 1.0, rules.LOOKUP_MAX_TEST_ACC + 0.01) == "unknown"


def test_energy_view_threshold_on_each_side():
    energy = np.ones(20)
    energy[3] = keyfreq.RATIO * 1.01
    energy[7] = keyfreq.RATIO * 0.99
    assert keyfreq.energy_view(energy) == [4]
    tiny = np.zeros(10)
    tiny[0], tiny[1] = 1.0, 2e-6  # float rounding in an exact model is not signal
    assert keyfreq.energy_view(tiny) == [1]


def test_cross_entropy_per_row_and_non_square():
    logits = np.array([[1000.0, 0.0, 0.0], [0.0, -1000.0, -1000.0]])  # very different scales
    assert cross_entropy(logits, np.array([0, 0])) == pytest.approx(0.0, abs=1e-12)
    tall = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    assert cross_entropy(tall, np.array([0, 1, 0])) == pytest.approx(np.log(2))
    wide = np.zeros((2, 3))
    wide[0, 0] = 5.0
    want = np.mean([-(5 - np.log(np.exp(5) + 2)), np.log(3)])
    assert cross_entropy(wide, np.array([0, 2])) == pytest.approx(want)


def test_verdict_thresholds_are_inclusive_where_declared():
    r = rules.RIGHT
    args = dict(algorithm="clock", has_keys=True, acc=r, agreement=r, test_agreement=1.0,
                ablated=rules.NECESSITY_ACC, train_fit=r, fve=rules.EXPLAIN_MIN_FVE)
    assert verdict(**args) == "algorithmic"  # every ">=" / "<=" at its edge
    assert verdict(**{**args, "acc": r - 1e-9}) == "different_function"
    assert verdict(**{**args, "algorithm": "lookup"}) == "memorizing"  # train_fit == RIGHT
    assert verdict(**{**args, "has_keys": False, "train_fit": r - 1e-9}) == "unfitted"


def test_key_set_edges():
    # accuracy exactly RIGHT and loss exactly ratio x full: sufficient
    edge = key_set(["A"], ["B"], lambda m: (10 * L0, rules.RIGHT), L0, 1.0, lambda m: [])
    assert edge.sufficient is True and edge.members == ["A"]
    # the best addition is chosen by its loss, not by its name
    s = _scorer({"Z": 100.0, "A": 1.5}, {})
    grown = key_set([], ["A", "Z"], lambda m: (s(m)[0], 1.0), L0, 1.0, lambda m: [])
    assert grown.members[0] == "Z"
    # the noise draws are asked for the members found
    seen = []
    key_set(["A", "B"], [], _scorer(), L0, 1.0, lambda m: seen.append(list(m)) or [])
    assert seen == [["A", "B"]]
    # an empty set with nothing to add: no crash, not sufficient
    empty = key_set([], [], lambda m: (1.0, 0.0), L0, 1.0, lambda m: [])
    assert empty.members == [] and empty.sufficient is False
    # a member whose removal changes nothing, at margin 0: pruned (> margin keeps, = does not)
    flat = key_set(["A", "B", "Q"], [], _scorer(), L0, 1.0, lambda m: [])
    assert flat.members == ["A", "B"] and flat.pruned == ["Q"]


def test_key_set_ratio_margin_follows_the_pruned_set():
    weak = key_set(["A", "B"], [], _scorer({"A": 100.0, "B": 1.9}), L0, 1.0, lambda m: [],
                   ratio=2.0, rise_ratio=2.0)
    assert weak.margin == pytest.approx(1.9 * L0)  # (2 - 1) x the loss of {A}
    three = key_set(["A", "B"], [], _scorer({"A": 100.0, "B": 2.5}), L0, 1.0, lambda m: [],
                    ratio=3.0, rise_ratio=3.0)
    assert three.members == ["A"] and three.margin == pytest.approx(2 * 2.5 * L0)


def test_usage_charts_count_grokked_runs_only():
    from groklab.sweep.stats import frequency_usage

    rows = [{"grokked_epoch": 900, "key_frequencies": "[2, 13]", "key_irreps": None},
            {"grokked_epoch": None, "key_frequencies": "[2, 40]", "key_irreps": None},
            {"grokked_epoch": 1000, "key_frequencies": None, "key_irreps": '["sign"]'}]
    assert frequency_usage(rows) == {2: 1, 13: 1, "sign": 1}


def test_evidence_pinned():
    from groklab.analysis import evidence as ev

    rng = np.random.default_rng(5)
    net = rng.normal(size=(300, 6)) + 10.0 * np.arange(300)[:, None]  # per-pair offsets: centred away
    prog = net + 0.3 * rng.normal(size=net.shape)
    c = ev._centred(net)
    assert np.allclose(c.mean(1), 0) and np.allclose(c, net - net.mean(1, keepdims=True))
    ls = ev._log_softmax(net)
    assert np.allclose(np.exp(ls).sum(1), 1) and np.isfinite(ls).all()
    cp = ev._centred(prog)
    s = (c * cp).sum() / (cp ** 2).sum()  # the best temperature, by hand
    want = 1 - ((c - s * cp) ** 2).sum() / (c ** 2).sum()
    assert ev.logit_fve(net, prog) == pytest.approx(want) and 0.9 < want < 1
    assert ev.logit_fve(np.ones((3, 4)), prog[:3, :4]) == 0.0  # nothing to explain
    assert ev.logit_fve(net, np.ones_like(net)) == 0.0  # a flat program explains nothing
    p = np.array([[0.0, np.log(3.0)]])  # KL(softmax(0, ln 3) || softmax(0, 0)) by hand
    q = np.zeros((1, 2))
    by_hand = 0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.5)
    assert ev._kl(p, q) == pytest.approx(by_hand)
    # the held-out KL's temperature is fitted on the training rows: a program at 1/5 of the
    # network's scale is exact once rescaled
    scaled = 0.2 * net
    rows, train = np.arange(150, 300), np.arange(150)
    assert ev.heldout_kl(net, scaled, rows, train) < 1e-6 < ev.heldout_kl(net, scaled, rows)
    assert ev.heldout_kl(net, scaled, rows[:0], train) is None
    labels = net.argmax(1)
    e = ev.evidence(net, scaled, labels, rows, substituted=net, train=train)
    assert e.logit_fve == pytest.approx(1.0) and e.heldout_kl < 1e-6
    assert e.substitution_loss == pytest.approx(cross_entropy(net, labels))
    assert e.network_loss == pytest.approx(cross_entropy(net, labels))
    assert ev.evidence(net, scaled, labels, rows).network_loss is None
    flat = np.zeros_like(net)
    flat[np.arange(300), labels] = 1e-9  # agrees everywhere, explains ~nothing of the variance
    e = ev.evidence(net, flat, labels, rows)
    assert e.agreement == 1.0 and not e.explains


def test_explains_thresholds_on_each_side(monkeypatch):
    from groklab.analysis import evidence as ev

    net = np.eye(100)[:, :10] * 5.0 + 0.0
    labels = net.argmax(1)
    monkeypatch.setattr(ev, "logit_fve", lambda a, b: rules.EXPLAIN_MIN_FVE)
    assert ev.evidence(net, net, labels, np.arange(50)).explains  # FVE at the edge: explains
    monkeypatch.setattr(ev, "logit_fve", lambda a, b: rules.EXPLAIN_MIN_FVE - 1e-9)
    assert not ev.evidence(net, net, labels, np.arange(50)).explains
    monkeypatch.setattr(ev, "logit_fve", lambda a, b: 0.9)
    wrong = net.copy()
    wrong[0] = np.roll(wrong[0], 1)  # 99 of 100 agree: 0.99 >= RIGHT
    assert ev.evidence(net, wrong, labels, np.arange(50)).explains
    wrong[1] = np.roll(wrong[1], 1)  # 98 of 100
    assert not ev.evidence(net, wrong, labels, np.arange(50)).explains


def test_pizza_votes_each_signal_on_each_side():
    from groklab.rules import PIZZA_DEPENDENCE as D, PIZZA_IRRELEVANCE as I, \
        PIZZA_SYMMETRICITY as S, pizza_signals, pizza_votes
    assert pizza_votes(D, I, S) == {"distance_dependence": True, "distance_irrelevance": True,
                                    "gradient_symmetricity": True}  # inclusive
    assert pizza_votes(D - 1e-9, I + 1e-9, S - 1e-9) == {
        "distance_dependence": False, "distance_irrelevance": False,
        "gradient_symmetricity": False}
    assert set(pizza_votes(D, I, None)) == {"distance_dependence", "distance_irrelevance"}
    assert pizza_signals(pizza_votes(D, I + 1, S))  # two of three
    assert not pizza_signals(pizza_votes(D, I + 1, S - 1))  # one of three
    assert not pizza_signals(pizza_votes(D, I + 1, None))  # one of two
    assert pizza_signals(pizza_votes(D, I, None))  # both of two
    assert not pizza_signals({})


def test_llc_refusal_each_branch_on_each_side():
    from groklab.rules import LLC_DESCENT_FLOOR as F, LLC_DESCENT_SHARE as H, llc_refusal
    assert llc_refusal(0.0, 0.0, 50.0) is None  # the null at a minimum: nothing below, no pull
    assert llc_refusal(-F, F, 50.0) is None  # the floor is allowed (50 x 1% = 0.5 < 1)
    assert llc_refusal(-F - 1e-6, 0.0, 50.0).startswith(
        "not a local minimum: the chains found loss below L(w*) by nβ·ΔL = -1 (allowed: 1)")
    assert llc_refusal(0.0, F + 1e-6, 50.0).startswith(
        "not a local minimum: the gradient at w* pulls the localized chains down by")
    big = 1000.0  # the share takes over above the floor: 1% of 1000 = 10
    assert llc_refusal(-H * big, H * big, big) is None
    assert llc_refusal(-H * big - 1e-6, 0.0, big) is not None
    assert llc_refusal(0.0, H * big + 1e-6, big) is not None
    assert "allowed: 10)" in llc_refusal(-11.0, 0.0, big)
    assert llc_refusal(0.0, 0.0, -big) is not None  # |λ̂| sets the allowance
    assert llc_refusal(-H * big, 0.0, -big).startswith("negative estimate -1000")
    assert llc_refusal(0.0, 0.0, -1e-9).startswith("negative estimate")
    assert llc_refusal(0.0, 0.0, 0.0) is None
    assert "pulls" in llc_refusal(-F, F + 1e-6, 50.0)  # at the allowance, the chains are fine
    assert llc_refusal(0.0, 0.0, -2.0) == ("negative estimate -2: the chains found lower loss "
                                           "than at w*, which is not a local minimum")
