"""Command-line front ends of the benchmarks: ``sb3-ddpg bench`` and ``sb3-ddpg speed``.

Their arguments are declared in :mod:`sb3_ddpg_ext.benchmarking.arguments`; ``run_*`` take the parsed namespace and
return an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from sb3_ddpg_ext.benchmarking.report import make_report
from sb3_ddpg_ext.benchmarking.runner import parse_shard, run_suite, select_runs
from sb3_ddpg_ext.benchmarking.suite import load_suite
from sb3_ddpg_ext.benchmarking.throughput import measure_speed
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.experiment.config import ALGORITHMS, check_int, resolve_algorithm


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def run_bench(args: argparse.Namespace) -> int:
    """
    Run a suite's incomplete runs (unless ``--report-only``), then write its report.

    :param args: parsed ``bench`` arguments
    :return: 0 on success, 1 if some run failed (the report is written anyway)
    """
    suite = load_suite(args.suite)
    shard = parse_shard(args.shard)
    algos, envs = _names(args.algos), _names(args.envs)
    select_runs(suite, algos, envs)  # unknown names fail here, before any run
    check_int(args.jobs, "--jobs", "command line")
    check_int(args.reps, "--reps", "command line")
    failed = 0
    if not args.report_only:
        summary = run_suite(suite, args.results, jobs=args.jobs, shard=shard, algos=algos, envs=envs)
        failed = len(summary.failed)
        print(f"{len(summary.ran)} runs done, {len(summary.skipped)} already complete, {failed} failed")
    table = make_report(suite, args.results, reps=args.reps)
    print(f"report: {table}")
    return 1 if failed else 0


def speed_entries() -> dict[str, tuple[str, dict[str, Any]]]:
    """Labels ``sb3-ddpg speed`` measures: ``exact`` and ``fast`` (this DDPG's two modes) and every registry name."""
    return {"exact": ("ddpg_ext", {}), "fast": ("ddpg_ext", {"fast": True}), **{name: (name, {}) for name in ALGORITHMS}}


def suite_speed_entries(
    suite_path: str, env_id: str | None, algos: list[str], learning_starts: int
) -> tuple[str, dict[str, tuple[str, dict[str, Any]]]]:
    """
    What ``sb3-ddpg speed --suite`` times: the suite's entries on one of its environments, each with the
    hyperparameters its runs train with (the environment's shared ones under the entry's own), ``learning_starts``
    replaced so that every timing starts after the same short warm-up.

    :param suite_path: the suite's YAML file
    :param env_id: one of its environments; None for its first
    :param algos: entry names, in the order to time them (the last is the ratios' reference); empty for all, in
        the suite's order
    :param learning_starts: untimed warm-up steps of every entry
    :return: the environment id and label -> (algorithm name, hyperparameters)
    """
    suite = load_suite(suite_path)
    env_id = env_id or suite.envs[0].env_id
    selected = select_runs(suite, algos, [env_id], options=("--algos", "--env"))
    first = {run.algo.name: run for run in selected if run.seed == suite.seeds[0]}
    return env_id, {
        name: (first[name].algo.algo, {**first[name].hyperparams, "learning_starts": learning_starts})
        for name in algos or first
    }


def run_speed(args: argparse.Namespace) -> int:
    """
    Measure and print each algorithm's training steps per second and its ratio to the last one's (the reference).

    :param args: parsed ``speed`` arguments
    :return: 0
    """
    for key in ("steps", "rounds"):
        check_int(getattr(args, key), f"--{key}", "command line")
    check_int(args.threads, "--threads", "command line", minimum=0)
    check_int(args.warmup, "--warmup", "command line", minimum=0)
    check_int(args.learning_starts, "--learning-starts", "command line", minimum=0)
    net_arch: list[int] = [400, 300]
    if args.suite is not None:
        if args.net_arch is not None:
            raise ConfigError("--net-arch: a suite's entries train with their own networks; drop --net-arch or --suite")
        env_id, chosen = suite_speed_entries(args.suite, args.env, _names(args.algos or ""), args.learning_starts)
        names, hyperparams = list(chosen), {}
    else:
        env_id, entries = args.env or "Pendulum-v1", speed_entries()
        names = _names(args.algos or "fast,exact,sb3_ddpg")
        unknown = [name for name in names if name not in entries]
        if unknown or not names:
            raise ConfigError(f"--algos: unknown {unknown or args.algos!r}; give a comma-separated list of {list(entries)}")
        if args.net_arch is not None:
            try:
                net_arch = [check_int(int(size), "--net-arch", "command line") for size in args.net_arch.split(",")]
            except ValueError as error:
                raise ConfigError(f"--net-arch: expected sizes such as 400,300, got {args.net_arch!r}") from error
        chosen = {name: entries[name] for name in names}
        hyperparams = {"learning_starts": args.learning_starts, "policy_kwargs": {"net_arch": net_arch}}
    if "sbx_ddpg" in names and args.threads == 1 and "jax" not in sys.modules:
        # XLA takes its threads when JAX starts, not from torch: one thread for it too
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    result = measure_speed(
        env_id,
        chosen,
        n_steps=args.steps,
        rounds=args.rounds,
        hyperparams=hyperparams,
        threads=args.threads,
        warmup=args.warmup,
    )
    print(result.format())
    if args.suite is None and args.updates > 0 and {"exact", "sb3_ddpg"} <= set(names):
        print(_update_comparison(env_id, net_arch, args.learning_starts, args.updates, args.rounds, result.threads))
    return 0


def _update_comparison(env_id: str, net_arch: list[int], learning_starts: int, updates: int, rounds: int, threads: int) -> str:
    """Time train(1) of this DDPG's fast and exact modes, SB3's DDPG and a hand-written PyTorch DDPG update."""
    import numpy as np
    import torch as th

    from sb3_ddpg_ext.benchmarking.update_speed import format_update_times, update_flops, update_times

    th.set_num_threads(threads)
    kwargs: dict[str, Any] = dict(policy_kwargs=dict(net_arch=net_arch), learning_starts=learning_starts, seed=0, device="cpu")
    ours, sb3 = resolve_algorithm("ddpg_ext"), resolve_algorithm("sb3_ddpg")
    models: dict[str, Any] = {
        "fast": ours("MlpPolicy", env_id, **kwargs, fast=True),  # type: ignore[call-arg]
        "exact": ours("MlpPolicy", env_id, **kwargs),
        "sb3": sb3("MlpPolicy", env_id, **kwargs),
    }
    for model in models.values():
        model.learn(learning_starts + 50)  # data in the buffer, warm-up
    first = models["exact"]
    batch_size = int(first.batch_size)
    obs_dim, act_dim = (int(np.prod(space.shape or (1,))) for space in (first.observation_space, first.action_space))
    flops = update_flops(obs_dim, act_dim, net_arch, batch_size)
    return format_update_times(update_times(models, net_arch, batch_size, updates, rounds), flops)
