"""Fair benchmarks of DDPG against SB3's DDPG, TD3 and SAC: suites, runs, statistics, reports, throughput."""

from sb3_ddpg_ext.benchmarking.report import make_report
from sb3_ddpg_ext.benchmarking.runner import expand_runs, run_suite
from sb3_ddpg_ext.benchmarking.stats import interval_estimate, iqm, probability_of_improvement
from sb3_ddpg_ext.benchmarking.suite import ALGORITHMS, Suite, SuiteError, hyperparams_to_kwargs, load_suite, resolve_algorithm
from sb3_ddpg_ext.benchmarking.throughput import measure_speed

__all__ = [
    "ALGORITHMS",
    "Suite",
    "SuiteError",
    "expand_runs",
    "hyperparams_to_kwargs",
    "interval_estimate",
    "iqm",
    "load_suite",
    "make_report",
    "measure_speed",
    "probability_of_improvement",
    "resolve_algorithm",
    "run_suite",
]
