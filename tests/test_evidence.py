"""The evidence measures pinned to values computed here from their definitions (pure numpy, fast):
each measure and the EXPLAIN rule on both sides of its thresholds (the mutation tests' target)."""

from __future__ import annotations

import numpy as np
import pytest

from groklab.analysis.evidence import (EXPLAIN_RULE, _centred, _kl, _log_softmax, evidence,
                                       heldout_kl, logit_fve)
from groklab.rules import EXPLAIN_MIN_FVE, RIGHT


def _reference_log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for i, row in enumerate(x):
        m = max(row)
        out[i] = [v - m - np.log(sum(np.exp(w - m) for w in row)) for v in row]
    return out


def _reference_kl(n, p):
    ln, lp = _reference_log_softmax(n), _reference_log_softmax(p)
    return float(np.mean([sum(np.exp(a) * (a - b) for a, b in zip(r, s)) for r, s in zip(ln, lp)]))


def test_centring_subtracts_each_rows_mean():
    x = np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]])
    assert np.array_equal(_centred(x), [[-2.0, -1.0, 3.0], [-1.0, -1.0, 2.0]])


def test_log_softmax_equals_the_definition_and_survives_large_logits():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0], [1000.0, 999.0, 990.0]])
    got = _log_softmax(x)
    assert np.all(np.isfinite(got))
    assert np.allclose(got, _reference_log_softmax(x), atol=1e-12)
    assert np.allclose(np.exp(got).sum(1), 1.0)


def test_kl_equals_the_definition():
    rng = np.random.default_rng(1)
    n, p = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    assert _kl(n, p) == pytest.approx(_reference_kl(n, p), rel=1e-12)
    assert _kl(n, n) == pytest.approx(0.0, abs=1e-15)
    assert _kl(n, p) > 0


def _reference_fve(n, p):
    n = n - n.mean(1, keepdims=True)
    p = p - p.mean(1, keepdims=True)
    s = max(0.0, float((n * p).sum() / (p * p).sum()))
    return 1 - float(((n - s * p) ** 2).sum() / (n * n).sum())


def test_logit_fve_equals_the_definition():
    rng = np.random.default_rng(2)
    n = rng.normal(size=(50, 5))
    p = n + 0.7 * rng.normal(size=n.shape) + 5.0  # a row-constant shift is no variance
    want = _reference_fve(n, p)
    assert 0.2 < want < 0.9
    assert logit_fve(n, p) == pytest.approx(want, rel=1e-12)
    assert logit_fve(n + rng.normal(size=(50, 1)), p) == pytest.approx(want, rel=1e-12)
    assert logit_fve(n, 0.25 * p) == pytest.approx(want, rel=1e-12)  # the temperature is free
    assert logit_fve(n, -p) == 0.0  # s >= 0
    small = logit_fve(0.01 * n, 0.01 * p)  # no size cut: tiny logits have an FVE too
    assert small == pytest.approx(want, rel=1e-9)


def test_logit_fve_of_constant_logits_is_zero():
    n = np.random.default_rng(3).normal(size=(10, 4))
    flat = np.ones((10, 4)) * np.arange(10)[:, None]  # constant in every row
    assert logit_fve(flat, n) == 0.0
    assert logit_fve(n, flat) == 0.0


def test_heldout_kl_uses_the_rows_and_a_temperature_fitted_on_train():
    rng = np.random.default_rng(4)
    n = rng.normal(size=(40, 5))
    rows, train = np.arange(20, 40), np.arange(0, 20)
    assert heldout_kl(n, n, np.array([], dtype=int)) is None
    # no train rows: temperature 1, the KL of exactly `rows`
    p = rng.normal(size=n.shape)
    assert heldout_kl(n, p, rows) == pytest.approx(_reference_kl(n[rows], p[rows]), rel=1e-12)
    assert heldout_kl(n, p, rows, np.array([], dtype=int)) == pytest.approx(
        _reference_kl(n[rows], p[rows]), rel=1e-12)
    # a program at a third of the network's temperature: tau = 3 fitted on train, KL ~ 0 held out
    assert heldout_kl(n, n / 3, rows) > 0.05
    assert heldout_kl(n, n / 3, rows, train) < 1e-6
    # tau comes from train, not from rows: a program right on train, wrong on rows
    q = n.copy()
    q[rows] = -n[rows]
    got = heldout_kl(n, q / 2, rows, train)  # tau = 2 from train
    assert got == pytest.approx(_reference_kl(n[rows], q[rows]), rel=1e-4)


def _pairs(rng, rows=200, classes=7):
    net = rng.normal(size=(rows, classes))
    return net, net.argmax(1)


def test_evidence_fields_equal_their_definitions():
    rng = np.random.default_rng(5)
    net, labels = _pairs(rng)
    prog = net + 0.8 * rng.normal(size=net.shape)
    labels = labels.copy()
    labels[:30] = (labels[:30] + 1) % 7  # the network errs on 30 pairs
    test, train = np.arange(100, 200), np.arange(0, 100)
    sub = net + rng.normal(size=net.shape)
    ev = evidence(net, prog, labels, test, sub, train)
    agree = net.argmax(1) == prog.argmax(1)
    assert ev.agreement == pytest.approx(agree.mean())
    assert ev.agreement_on_network_errors == pytest.approx(agree[:30].mean())
    assert ev.logit_fve == pytest.approx(_reference_fve(net, prog), rel=1e-12)
    assert ev.heldout_kl == pytest.approx(heldout_kl(net, prog, test, train), rel=1e-12)
    from groklab.rules import cross_entropy
    assert ev.substitution_loss == pytest.approx(cross_entropy(sub, labels))
    assert ev.network_loss == pytest.approx(cross_entropy(net, labels))
    assert ev.substitution_loss != ev.network_loss
    assert ev.explain_rule == EXPLAIN_RULE and "99%" in EXPLAIN_RULE
    d = ev.to_dict()
    assert d["agreement"] == ev.agreement and d["explains"] is False
    ev = evidence(net, prog, labels, test)
    assert ev.substitution_loss is None and ev.network_loss is None


def _with_agreement(rng, net, share):
    """A program equal to the network but for its argmax moved on (1 - share) of the rows."""
    prog = net.copy()
    k = int(round((1 - share) * len(net)))
    for i in range(k):
        j = (net[i].argmax() + 1) % net.shape[1]
        prog[i, j] = net[i].max() + 1e-3
    return prog


def test_explains_needs_agreement_at_right_and_fve_at_its_threshold():
    rng = np.random.default_rng(6)
    net, labels = _pairs(rng, rows=1000)
    test = np.arange(500, 1000)
    at = evidence(net, _with_agreement(rng, net, RIGHT), labels, test)
    below = evidence(net, _with_agreement(rng, net, RIGHT - 0.002), labels, test)
    assert at.agreement == pytest.approx(RIGHT) and at.logit_fve > EXPLAIN_MIN_FVE and at.explains
    assert below.agreement < RIGHT and below.logit_fve > EXPLAIN_MIN_FVE and not below.explains


@pytest.mark.parametrize("fve", [EXPLAIN_MIN_FVE + 0.01, EXPLAIN_MIN_FVE - 0.01])
def test_explains_needs_the_fve_with_every_answer_agreeing(fve):
    """One-hot network logits (margin M) and a program with noise orthogonal to them, zero on the
    answer and alternating +-c on the other six classes: every argmax agrees, FVE = a / (a + c^2 b)."""
    k, m = 7, 10.0
    labels = np.arange(140) % k
    net = m * np.eye(k)[labels]
    base = net - net.mean(1, keepdims=True)
    noise = np.zeros_like(net)
    for i, y in enumerate(labels):
        others = [j for j in range(k) if j != y]
        noise[i, others] = [1, -1, 1, -1, 1, -1]
    a, b = (base * base).sum(), (noise * noise).sum()
    c = np.sqrt(a * (1 / fve - 1) / b)
    ev = evidence(net, base + c * noise, labels, np.arange(70, 140))
    assert ev.agreement == 1.0
    assert ev.logit_fve == pytest.approx(fve, abs=1e-9)
    assert ev.explains is (fve >= EXPLAIN_MIN_FVE)
