"""Command-line arguments of ``sb3-ddpg bench`` and ``sb3-ddpg speed``, declared without importing their work."""

import argparse

from sb3_ddpg_ext.experiment.config import ALGORITHMS

DEFAULT_RESULTS = "benchmarks/results"
DEFAULT_REPS = 2000


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Arguments of ``sb3-ddpg bench``.

    :param parser: the subcommand's parser
    """
    parser.add_argument("--suite", required=True, help="suite YAML, e.g. benchmarks/suites/pendulum.yml")
    parser.add_argument(
        "--results", default=DEFAULT_RESULTS, help=f"results root; files go to <results>/<suite>/ (default {DEFAULT_RESULTS})"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs in parallel processes, one torch thread each (default 1: in this process, at torch's thread count, "
        "so two bench commands side by side oversubscribe the cores; use --jobs 2 or OMP_NUM_THREADS=1)",
    )
    parser.add_argument(
        "--shard", default=None, help="'i/n' (0 <= i < n): run every n-th run from the i-th, to split a suite over machines"
    )
    parser.add_argument("--algos", default="", help="comma-separated algorithm entries of the suite to run (default: all)")
    parser.add_argument("--envs", default="", help="comma-separated environment ids of the suite to run (default: all)")
    parser.add_argument("--report-only", action="store_true", help="run nothing; rewrite the table and curves from the CSVs")
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS, help=f"bootstrap resamples (default {DEFAULT_REPS})")


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Arguments of ``sb3-ddpg speed``.

    :param parser: the subcommand's parser
    """
    parser.add_argument(
        "--suite",
        default=None,
        help="time a benchmark suite's entries at their own settings instead (e.g. benchmarks/suites/lunarlander.yml; "
        "--algos picks entries, --env one of its environments)",
    )
    parser.add_argument("--env", default=None, help="environment id (default Pendulum-v1; with --suite, its first)")
    parser.add_argument("--steps", type=int, default=2000, help="timed steps per round, after learning_starts (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each timing every algorithm once (default 3)")
    parser.add_argument(
        "--net-arch", default=None, help="hidden layer sizes shared by all (default 400,300; not with --suite)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads for every algorithm (default 0: torch's default)"
    )
    parser.add_argument(
        "--learning-starts",
        type=int,
        default=100,
        help="untimed warm-up steps (default 100, SB3's; with --suite it replaces the entries' own value)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="untimed training steps after learning_starts, to time a run past its start (default 0)",
    )
    parser.add_argument(
        "--updates", type=int, default=50, help="updates per timing of the update comparison; 0 skips it (default 50)"
    )
    parser.add_argument(
        "--algos",
        default=None,
        help=f"labels to time: exact, fast (this DDPG's modes) or {sorted(ALGORITHMS)}; with --suite, its entry names; "
        "ratios are over the last one (default fast,exact,sb3_ddpg; with --suite, every entry)",
    )
