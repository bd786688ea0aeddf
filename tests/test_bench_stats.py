"""Statistics of sb3_ddpg_ext.benchmarking.stats against hand-computed cases."""

import numpy as np
import pytest
import scipy.stats

from sb3_ddpg_ext.benchmarking.stats import curve_estimate, interval_estimate, iqm, probability_of_improvement

REPS = 300


def test_iqm_hand_computed():
    # Middle 50% of 1..8 is 3, 4, 5, 6.
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)
    # 5 runs: one cut from each end (floor(0.25 * 5) = 1), the outlier is ignored.
    assert iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)
    x = np.array([5.0, -3.0, 8.0, 0.5, 2.0, 9.0, 1.0, 7.0])
    assert iqm(x) == pytest.approx(scipy.stats.trim_mean(x, 0.25))


def test_interval_estimate_contains_point_and_is_repeatable():
    scores = [1, 2, 3, 4, 5, 6, 7, 8]
    state = np.random.get_state()
    first = interval_estimate(scores, reps=REPS, seed=3)
    assert np.array_equal(np.random.get_state()[1], state[1]), "the global NumPy generator must be left as it was"
    assert first == interval_estimate(scores, reps=REPS, seed=3)
    assert first.value == pytest.approx(4.5)
    assert 1 <= first.low <= first.value <= first.high <= 8
    assert first.format(2) == f"4.50 [{first.low:.2f}, {first.high:.2f}]"


def test_interval_estimate_degenerate_cases():
    constant = interval_estimate([3.0, 3.0, 3.0], reps=REPS)
    assert (constant.value, constant.low, constant.high) == (3.0, 3.0, 3.0)
    single = interval_estimate([7.0], reps=REPS)
    assert (single.value, single.low, single.high) == (7.0, 7.0, 7.0)
    assert interval_estimate([1.0, 2.0, 6.0], aggregate="mean", reps=REPS).value == pytest.approx(3.0)
    with pytest.raises(ValueError, match="aggregate"):
        interval_estimate([1.0], aggregate="max")
    with pytest.raises(ValueError, match="n_runs"):
        interval_estimate([])


def test_probability_of_improvement_hand_computed():
    # Pairs (x, y): (2,1) win, (2,2) tie = 1/2, (3,1) win, (3,2) win -> 3.5 / 4.
    estimate = probability_of_improvement([2.0, 3.0], [1.0, 2.0], reps=REPS)
    assert estimate.value == pytest.approx(0.875)
    assert 0.0 <= estimate.low <= estimate.value <= estimate.high <= 1.0
    reverse = probability_of_improvement([1.0, 2.0], [2.0, 3.0], reps=REPS)
    assert reverse.value == pytest.approx(0.125)
    better = probability_of_improvement([5.0, 6.0, 7.0], [1.0, 2.0], reps=REPS)
    assert (better.value, better.low, better.high) == (1.0, 1.0, 1.0)
    assert probability_of_improvement([1.0, 2.0], [1.0, 2.0], reps=REPS).value == pytest.approx(0.5)


def test_curve_estimate():
    curves = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 9.0]])
    mean, low, high = curve_estimate(curves, reps=REPS)
    np.testing.assert_allclose(mean, [2.0, 3.0, 5.0])
    assert mean.shape == low.shape == high.shape == (3,)
    assert np.all(low <= mean) and np.all(mean <= high)
    assert np.all(low >= curves.min(axis=0)) and np.all(high <= curves.max(axis=0))
