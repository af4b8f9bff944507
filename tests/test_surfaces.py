"""Every surface after training refuses bad input in one line and loses nothing
(tests/surfaces.py holds the corpus; bench/robustness.py prints its pass count)."""

import pytest

from surfaces import CASES, check


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(tmp_path, case):
    held, line = check(case, tmp_path)
    assert held, line
