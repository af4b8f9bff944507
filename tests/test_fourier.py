import numpy as np
import pytest

from groklab.analysis.fourier import task_coords, fourier_basis, freq_norms, generator, gini


@pytest.mark.parametrize("n", [7, 10, 31])
def test_basis_is_orthonormal(n):
    f = fourier_basis(n)
    assert f.shape == (n, n)
    assert np.allclose(f @ f.T, np.eye(n), atol=1e-12)


def test_freq_norms_find_a_pure_frequency():
    x = np.arange(31)
    m = np.stack([np.cos(2 * np.pi * 5 * x / 31), 3 * np.sin(2 * np.pi * 9 * x / 31)], 1)
    norms = freq_norms(m)
    assert set(np.flatnonzero(norms > 1e-9) + 1) == {5, 9}
    assert norms[8] / norms[4] == pytest.approx(3.0)


def test_gini_known_values():
    assert gini(np.ones(10)) == pytest.approx(0.0)
    one_hot = np.zeros(10)
    one_hot[3] = 1
    assert gini(one_hot) == pytest.approx(0.9)  # 1 - 1/n for a single non-zero
    assert gini(np.array([1.0, 3.0])) == pytest.approx(0.25)


@pytest.mark.parametrize("p", [5, 7, 11, 13, 31, 113])
def test_generator_generates(p):
    g = generator(p)
    assert sorted(pow(g, i, p) for i in range(p - 1)) == list(range(1, p))


def test_discrete_log_coordinates_turn_mul_into_add():
    c = task_coords("mul", 13)
    assert c.n == 12 and c.sign == 1
    for i in range(12):
        for j in range(12):
            assert (c.tokens[i] * c.tokens[j]) % 13 == c.tokens[(i + j) % 12]
    d = task_coords("div", 13)
    assert d.sign == -1
    assert task_coords("sub", 13).sign == -1
