"""Statistics of benchmark results, as rliable recommends (Agarwal et al., 2021).

Interquartile mean (IQM), stratified bootstrap confidence intervals and the probability of
improvement, computed by ``rliable``; these wrappers take one task's scores as a 1-D array of runs
(seeds) and make the bootstrap repeatable: rliable draws its resamples from NumPy's global
generator, so it is seeded here and restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from rliable import library, metrics

from sb3_ddpg_ext.benchmarking.arguments import DEFAULT_REPS


@dataclass(frozen=True)
class Estimate:
    """
    A point estimate with its confidence interval.

    :param value: the point estimate
    :param low: lower bound of the interval
    :param high: upper bound of the interval
    """

    value: float
    low: float
    high: float

    def format(self, digits: int = 1) -> str:
        """``value [low, high]`` with ``digits`` decimals."""
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def __str__(self) -> str:
        return self.format()


@contextmanager
def _seeded_global_rng(seed: int) -> Iterator[None]:
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _as_runs_by_tasks(scores: np.ndarray | list[float]) -> np.ndarray:
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(f"expected scores shaped (n_runs,) or (n_runs, n_tasks, ...) with n_runs > 0, got {array.shape}")
    return array


def iqm(scores: np.ndarray | list[float]) -> float:
    """
    Interquartile mean: the mean of the middle 50% of scores (``scipy.stats.trim_mean(x, 0.25)``).

    :param scores: scores of the runs, ``(n_runs,)`` or ``(n_runs, n_tasks)``
    :return: the IQM over all scores
    """
    return float(metrics.aggregate_iqm(_as_runs_by_tasks(scores)))


AGGREGATES: dict[str, Callable[[np.ndarray], float]] = {
    "iqm": metrics.aggregate_iqm,
    "mean": metrics.aggregate_mean,
    "median": metrics.aggregate_median,
}


def interval_estimate(
    scores: np.ndarray | list[float],
    aggregate: str = "iqm",
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """
    An aggregate of scores with its stratified bootstrap (percentile) confidence interval.

    :param scores: scores of the runs, ``(n_runs,)`` for one task or ``(n_runs, n_tasks)``
    :param aggregate: ``"iqm"``, ``"mean"`` or ``"median"``
    :param reps: bootstrap resamples
    :param confidence: coverage of the interval
    :param seed: seed of the bootstrap
    :return: the estimate
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"Unknown aggregate {aggregate!r}; allowed: {sorted(AGGREGATES)}")
    function = AGGREGATES[aggregate]
    array = _as_runs_by_tasks(scores)
    with _seeded_global_rng(seed):
        points, intervals = library.get_interval_estimates(
            {"x": array}, lambda x: np.array([function(x)]), reps=reps, confidence_interval_size=confidence
        )
    return Estimate(float(points["x"][0]), float(intervals["x"][0, 0]), float(intervals["x"][1, 0]))


def probability_of_improvement(
    scores_x: np.ndarray | list[float],
    scores_y: np.ndarray | list[float],
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """
    P(X > Y): the probability that a run of X scores higher than a run of Y (ties count half),
    averaged over tasks, with a stratified independent bootstrap confidence interval.

    :param scores_x: scores of X's runs, ``(n_runs_x,)`` or ``(n_runs_x, n_tasks)``
    :param scores_y: scores of Y's runs, ``(n_runs_y,)`` or ``(n_runs_y, n_tasks)``
    :param reps: bootstrap resamples
    :param confidence: coverage of the interval
    :param seed: seed of the bootstrap
    :return: the estimate
    """
    x, y = _as_runs_by_tasks(scores_x), _as_runs_by_tasks(scores_y)
    with _seeded_global_rng(seed):
        points, intervals = library.get_interval_estimates(
            {"p": [x, y]},
            lambda a, b: np.array([metrics.probability_of_improvement(a, b)]),
            reps=reps,
            confidence_interval_size=confidence,
        )
    return Estimate(float(points["p"][0]), float(intervals["p"][0, 0]), float(intervals["p"][1, 0]))


def curve_estimate(
    curves: np.ndarray, reps: int = DEFAULT_REPS, confidence: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Mean learning curve over runs with a pointwise stratified bootstrap confidence band.

    :param curves: returns shaped ``(n_runs, n_points)``
    :param reps: bootstrap resamples
    :param confidence: coverage of the band
    :param seed: seed of the bootstrap
    :return: mean, lower bound and upper bound, each ``(n_points,)``
    """
    array = np.asarray(curves, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"expected curves shaped (n_runs, n_points) with n_runs > 0, got {array.shape}")
    with _seeded_global_rng(seed):
        points, intervals = library.get_interval_estimates(
            {"c": array[:, None, :]}, lambda x: np.mean(x, axis=0)[0], reps=reps, confidence_interval_size=confidence
        )
    return points["c"], intervals["c"][0], intervals["c"][1]
