"""Command-line front ends of the benchmarks: ``sb3-ddpg bench`` and ``sb3-ddpg speed``.

``add_*_arguments`` fill a subcommand's parser; ``run_*`` take the parsed namespace and return an exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sb3_ddpg_ext.benchmarking.report import make_report
from sb3_ddpg_ext.benchmarking.runner import parse_shard, run_suite
from sb3_ddpg_ext.benchmarking.stats import DEFAULT_REPS
from sb3_ddpg_ext.benchmarking.suite import ALGORITHMS, load_suite, resolve_algorithm
from sb3_ddpg_ext.benchmarking.throughput import measure_speed

DEFAULT_RESULTS = "benchmarks/results"


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Arguments of ``sb3-ddpg bench``.

    :param parser: the subcommand's parser
    """
    parser.add_argument("--suite", required=True, help="suite YAML, e.g. benchmarks/suites/pendulum.yml")
    parser.add_argument(
        "--results", default=DEFAULT_RESULTS, help=f"results root; files go to <results>/<suite>/ (default {DEFAULT_RESULTS})"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes, one torch thread each (default 1)")
    parser.add_argument(
        "--shard", default=None, help="'i/n' (0 <= i < n): run every n-th run from the i-th, to split a suite over machines"
    )
    parser.add_argument("--report-only", action="store_true", help="run nothing; rewrite the table and curves from the CSVs")
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS, help=f"bootstrap resamples (default {DEFAULT_REPS})")


def run_bench(args: argparse.Namespace) -> int:
    """
    Run a suite's incomplete runs (unless ``--report-only``), then write its report.

    :param args: parsed ``bench`` arguments
    :return: 0 on success, 1 if some run failed (the report is written anyway)
    """
    suite = load_suite(args.suite)
    shard = parse_shard(args.shard)
    failed = 0
    if not args.report_only:
        summary = run_suite(suite, args.results, jobs=args.jobs, shard=shard)
        failed = len(summary.failed)
        print(f"{len(summary.ran)} runs done, {len(summary.skipped)} already complete, {failed} failed")
    table = make_report(suite, args.results, reps=args.reps)
    print(f"report: {table}")
    return 1 if failed else 0


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Arguments of ``sb3-ddpg speed``.

    :param parser: the subcommand's parser
    """
    parser.add_argument("--env", default="Pendulum-v1", help="environment id (default Pendulum-v1)")
    parser.add_argument("--steps", type=int, default=2000, help="timed steps per round, after learning_starts (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each timing every algorithm once (default 3)")
    parser.add_argument("--net-arch", default="400,300", help="hidden layer sizes shared by all (default 400,300)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every algorithm (default 1)")
    parser.add_argument("--learning-starts", type=int, default=100, help="untimed warm-up steps (default 100, SB3's)")
    parser.add_argument(
        "--updates", type=int, default=50, help="updates per timing of the update comparison; 0 skips it (default 50)"
    )
    parser.add_argument(
        "--algos",
        default="ddpg_ext,sb3_ddpg",
        help=f"two or more of {sorted(ALGORITHMS)}; the ratio is the first over the second (default ddpg_ext,sb3_ddpg)",
    )


def run_speed(args: argparse.Namespace) -> int:
    """
    Measure and print each algorithm's training steps per second and the ratio of the first two.

    :param args: parsed ``speed`` arguments
    :return: 0
    """
    names = [name.strip() for name in args.algos.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown:
        raise ValueError(f"--algos: unknown {unknown}; allowed: {sorted(ALGORITHMS)}")
    net_arch = [int(size) for size in args.net_arch.split(",")]
    hyperparams = {"learning_starts": args.learning_starts, "policy_kwargs": {"net_arch": net_arch}}
    result = measure_speed(
        args.env,
        {name: name for name in names},
        n_steps=args.steps,
        rounds=args.rounds,
        hyperparams=hyperparams,
        threads=args.threads,
    )
    print(result.format())
    if args.updates > 0 and names[:2] == ["ddpg_ext", "sb3_ddpg"]:
        print(_update_comparison(args.env, net_arch, args.learning_starts, args.updates, args.rounds, args.threads))
    return 0


def _update_comparison(env_id: str, net_arch: list[int], learning_starts: int, updates: int, rounds: int, threads: int) -> str:
    """Time one update of ours, SB3's train(1) and a hand-written PyTorch DDPG update of the same size."""
    import torch as th

    from sb3_ddpg_ext.benchmarking.update_speed import format_update_times, update_times

    th.set_num_threads(threads)
    kwargs: dict[str, Any] = dict(policy_kwargs=dict(net_arch=net_arch), learning_starts=learning_starts, seed=0, device="cpu")
    ours, sb3 = (resolve_algorithm(name)("MlpPolicy", env_id, **kwargs) for name in ("ddpg_ext", "sb3_ddpg"))
    for model in (ours, sb3):
        model.learn(learning_starts + 50)  # data in the buffer, warm-up
    batch_size = int(getattr(ours, "batch_size"))  # noqa: B009
    return format_update_times(update_times(ours, sb3, net_arch, batch_size, updates, rounds))


def main(argv: list[str] | None = None) -> int:
    """``python -m sb3_ddpg_ext.benchmarking.cli_bench bench|speed ...``, until the package CLI wires these in."""
    parser = argparse.ArgumentParser(prog="sb3-ddpg")
    commands = parser.add_subparsers(dest="command", required=True)
    add_bench_arguments(commands.add_parser("bench", help="run a benchmark suite and report it"))
    add_speed_arguments(commands.add_parser("speed", help="compare training throughput"))
    args = parser.parse_args(argv)
    return run_bench(args) if args.command == "bench" else run_speed(args)


if __name__ == "__main__":
    sys.exit(main())
