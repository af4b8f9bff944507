"""A real grokking run at small p: memorization first, generalization well after."""

import pytest

from groklab.store import RunStore


@pytest.mark.slow
def test_real_run_memorizes_then_groks(grokked_run):
    s = grokked_run.summary
    assert 0 < s["memorized_epoch"] < s["grokked_epoch"]
    assert s["grokked_epoch"] >= 2 * s["memorized_epoch"]
    assert s["final"]["acc/test"] >= 0.99
    rows = RunStore(grokked_run.path).read_metrics()
    at_memorization = next(r for r in rows if r["epoch"] == s["memorized_epoch"])
    assert at_memorization["acc/test"] < 0.5  # memorized, not yet generalized
    assert len(RunStore(grokked_run.path).checkpoint_epochs()) >= 30
