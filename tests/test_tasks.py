import numpy as np
import pytest

from groklab.config import TASKS, TaskConfig
from groklab.errors import GroklabError
from groklab.tasks import make_dataset

BRUTE = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
    "div": lambda a, b, p: next(c for c in range(p) if (c * b) % p == a),
    "x2y2": lambda a, b, p: (a**2 + b**2) % p,
    "x2xyy2": lambda a, b, p: (a**2 + a * b + b**2) % p,
    "x3xy": lambda a, b, p: (a**3 + a * b) % p,
}


@pytest.mark.parametrize("name", [t for t in TASKS if t not in ("group", "table")])  # groups:
# test_groups.py; tables: test_found.py
def test_table_matches_brute_force(name):
    p = 13
    data = make_dataset(TaskConfig(name=name, p=p, frac_train=0.3))
    expected = [BRUTE[name](a, b, p) for a in range(p) for b in range(p) if name != "div" or b]
    assert data.labels.tolist() == expected
    assert len(data.pairs) == (p * (p - 1) if name == "div" else p * p)


def test_split_is_reproducible_disjoint_and_sized():
    cfg = TaskConfig(name="add", p=31, frac_train=0.3, data_seed=7)
    a, b = make_dataset(cfg), make_dataset(cfg)
    assert np.array_equal(a.train_idx, b.train_idx)
    assert not set(a.train_idx) & set(a.test_idx)
    assert len(a.train_idx) + len(a.test_idx) == 31 * 31
    assert len(a.train_idx) == round(0.3 * 31 * 31)
    other = make_dataset(TaskConfig(name="add", p=31, frac_train=0.3, data_seed=8))
    assert not np.array_equal(a.train_idx, other.train_idx)


@pytest.mark.parametrize("kwargs, message", [
    ({"p": 2}, "p=2"),
    ({"name": "mul", "p": 15}, "p=15 is not prime"),
    ({"frac_train": 1.0}, "frac_train=1.0"),
    ({"frac_train": 0.0001, "p": 5}, "at least one train"),
    ({"name": "pow"}, "'pow'"),
])
def test_validation_names_the_value(kwargs, message):
    with pytest.raises(GroklabError, match=message):
        TaskConfig(**kwargs)
