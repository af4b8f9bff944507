import numpy as np
import pytest

from groklab.analysis.cyclic.fourier import task_coords, fourier_basis, freq_norms, generator, gini


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


def test_neuron_fve_is_centred_and_in_float64():
    """A neuron with mean 100 and sd 0.01 that is a pure frequency-3 wave has FVE 1 for k = 3, not
    more (float32 and an uncentred total would give nonsense), and 0 elsewhere."""
    from groklab.analysis.cyclic.neurons import neuron_fve

    n = 31
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    wave = np.cos(2 * np.pi * 3 * (a + b) / n).ravel()
    acts = np.stack([100 + 0.01 * wave, wave], 1).astype(np.float32)
    fve, _ = neuron_fve(acts, n)
    assert fve.max() <= 1 + 1e-9
    assert fve[:, 2] == pytest.approx([1.0, 1.0], abs=1e-4)
    assert np.delete(fve, 2, axis=1).max() < 1e-4


def test_nyquist_frequency_of_an_even_group_is_a_frequency():
    from groklab.analysis.cyclic.neurons import neuron_fve

    n = 12
    assert freq_norms(np.eye(n)).shape == (6,)
    x = np.arange(n)
    alt = np.cos(np.pi * x)[:, None] * np.ones((1, 3))  # all energy at k = 6 = N/2
    norms = freq_norms(alt)
    assert norms[5] == pytest.approx(np.sqrt((alt**2).sum())) and norms[:5].max() < 1e-9
    a, b = np.meshgrid(x, x, indexing="ij")
    acts = np.cos(np.pi * (a + b)).reshape(-1, 1)
    fve, _ = neuron_fve(acts, n)
    assert fve[0, 5] == pytest.approx(1.0) and fve[0, :5].max() < 1e-9


@pytest.mark.parametrize("p,freqs", [(30, (4, 7, 15)), (118, (17, 40, 59))])
def test_composite_moduli_keep_their_real_half_frequency(p, freqs):
    """Addition mod a composite n: a hand-built clock that uses k = n/2 (cos(π(a + b − c)), the
    real 1-d component: C118 = C2 × C59's sign) has it found among the key frequencies, and the
    restricted network (key frequencies only) stays exact."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from handbuilt import fourier_transformer

    from groklab.config import TaskConfig
    from groklab.engine import analyze_model
    from groklab.tasks import make_dataset

    data = make_dataset(TaskConfig(name="add", p=p, frac_train=0.3))
    r = analyze_model(fourier_transformer(p, freqs=freqs), data, {"kind": "test"})
    assert r.group_order == p and r.accuracy == 1.0
    assert r.key_frequencies == sorted(freqs) and r.algorithm == "clock"
    assert r.restricted_accuracy == 1.0
