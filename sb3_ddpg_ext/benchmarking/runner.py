"""Run a benchmark suite: one process per (environment, algorithm, seed), resumable and shardable.

Each run is one run of the experiment layer (:func:`sb3_ddpg_ext.experiment.run.run_experiment`: the same converter,
environments
and evaluation protocol as ``sb3-ddpg train`` and tuning trials). It writes its learning curve to
``<results_dir>/<suite>/<env>/<algo>/seed_<k>.csv`` (the experiment layer's CSV: ``step, mean_return, std_return,
wall_time``), replaced atomically after every evaluation, and when it finishes a marker
``seed_<k>.done.json`` (wall time, versions, the exact configuration). A run is complete when its
marker exists and matches the suite's current configuration; complete runs are skipped. A run that was killed goes on
from its last evaluation: each run keeps a checkpoint in ``seed_<k>.resume/`` until its marker is written
(:mod:`sb3_ddpg_ext.experiment.checkpoint`; one of an earlier configuration is moved to
``seed_<k>.resume.stale-<key>/``), and its marker lists the steps it resumed from.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch as th

from sb3_ddpg_ext.benchmarking.suite import AlgoSpec, EnvSpec, Suite
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.save import atomic_write
from sb3_ddpg_ext.ddpg.fast import cpu_products_round
from sb3_ddpg_ext.experiment.config import ALGORITHMS, RunSpec, build_run_spec
from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams
from sb3_ddpg_ext.experiment.run import RunResult, check_spec, resume_step, run_experiment


@dataclass(frozen=True)
class Run:
    """
    One training run of a suite.

    :param suite: suite name
    :param algo: the algorithm entry
    :param env: the environment entry
    :param seed: the seed of the algorithm and the training env
    """

    suite: str
    algo: AlgoSpec
    env: EnvSpec
    seed: int
    source: str = "<suite>"

    @property
    def label(self) -> str:
        return f"{self.suite}/{self.env.env_id}/{self.algo.name}/seed_{self.seed}"

    @property
    def hyperparams(self) -> dict[str, Any]:
        return merge_hyperparams(self.env.hyperparams, self.algo.hyperparams)

    def spec(self) -> RunSpec:
        """The run as the experiment layer runs it (the converter checks every value)."""
        source = f"{self.source}: envs.{self.env.env_id}.hyperparams + algos.{self.algo.name}.hyperparams"
        settings = {"seed": self.seed, "n_timesteps": self.env.n_timesteps}
        return build_run_spec(self.env.env_id, merge_hyperparams(self.hyperparams, settings), self.algo.algo, source)

    def config(self) -> dict[str, Any]:
        """Everything that determines the run's result, as JSON-friendly data."""
        return {
            "algo": self.algo.algo,
            "algo_path": ALGORITHMS[self.algo.algo],
            "env_id": self.env.env_id,
            "seed": self.seed,
            "n_timesteps": self.env.n_timesteps,
            "eval_freq": self.env.eval_freq,
            "n_eval_episodes": self.env.n_eval_episodes,
            "hyperparams": self.hyperparams,
        }

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.config(), sort_keys=True, default=repr).encode()).hexdigest()[:16]


@dataclass
class RunSummary:
    """
    What :func:`run_suite` did.

    :param ran: labels of runs trained now
    :param skipped: labels of runs already complete
    :param failed: label -> error text for runs that raised
    """

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def env_dirname(env_id: str) -> str:
    """A folder name for an env id (``ALE/Pong-v5`` -> ``ALE__Pong-v5``)."""
    return env_id.replace("/", "__")


def run_paths(results_dir: str | Path, run: Run) -> tuple[Path, Path]:
    """
    :param results_dir: root of all results
    :param run: the run
    :return: the CSV file and the completion marker of ``run``
    """
    folder = Path(results_dir) / run.suite / env_dirname(run.env.env_id) / run.algo.name
    return folder / f"seed_{run.seed}.csv", folder / f"seed_{run.seed}.done.json"


def checkpoint_dir(results_dir: str | Path, run: Run) -> Path:
    """
    :param results_dir: root of all results
    :param run: the run
    :return: the folder of the run's checkpoint while it trains, beside its CSV
    """
    csv_path = run_paths(results_dir, run)[0]
    return csv_path.with_name(f"{csv_path.stem}.resume")


def diagnostics_dir(results_dir: str | Path, run: Run) -> Path:
    """
    :param results_dir: root of all results
    :param run: the run
    :return: the folder of the run's diagnostics (:mod:`sb3_ddpg_ext.diagnostics.recorder`), beside its CSV
    """
    csv_path = run_paths(results_dir, run)[0]
    return csv_path.with_name(f"{csv_path.stem}.diagnostics")


def expand_runs(suite: Suite) -> list[Run]:
    """
    Every run of a suite in a fixed order: environment, then seed, then algorithm,
    so a partly finished suite (or one shard) still holds comparable results.

    :param suite: the suite
    :return: the runs
    """
    return [Run(suite.name, algo, env, seed, suite.path) for env in suite.envs for seed in suite.seeds for algo in suite.algos]


def parse_shard(text: str | None) -> tuple[int, int]:
    """
    Parse ``"i/n"`` (0 <= i < n): this machine runs runs ``i, i + n, i + 2n, ...``.

    :param text: ``"i/n"``, or ``None`` for all runs
    :return: ``(i, n)``
    """
    if text is None:
        return 0, 1
    problem = ConfigError(f"--shard: expected 'i/n' with 0 <= i < n (e.g. 0/2 and 1/2 on two machines), got {text!r}")
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError as error:
        raise problem from error
    if count < 1 or not 0 <= index < count:
        raise problem
    return index, count


def select_shard(runs: Sequence[Run], index: int, count: int) -> list[Run]:
    """
    :param runs: runs in :func:`expand_runs` order
    :param index: this shard, ``0 <= index < count``
    :param count: number of shards
    :return: every ``count``-th run starting at ``index``
    """
    return list(runs[index::count])


def select_runs(
    suite: Suite, algos: Sequence[str] = (), envs: Sequence[str] = (), options: tuple[str, str] = ("--algos", "--envs")
) -> list[Run]:
    """
    The suite's runs, restricted to some of its algorithm entries and environments (to schedule long runs first, or
    to finish one row of a table). Checked before anything runs: an unknown name is one line listing the suite's.

    :param suite: the suite
    :param algos: algorithm entry names of the suite; empty for all
    :param envs: environment ids of the suite; empty for all
    :param options: the command-line options that named ``algos`` and ``envs``, for the error line
    :return: the selected runs, in :func:`expand_runs` order
    """
    for given, known, option in (
        (algos, [algo.name for algo in suite.algos], options[0]),
        (envs, [env.env_id for env in suite.envs], options[1]),
    ):
        unknown = [name for name in given if name not in known]
        if unknown:
            raise ConfigError(f"{option}: {', '.join(unknown)} not in suite {suite.name}; it has {', '.join(known)}")
    return [
        run for run in expand_runs(suite) if (not algos or run.algo.name in algos) and (not envs or run.env.env_id in envs)
    ]


def is_complete(results_dir: str | Path, run: Run) -> bool:
    """
    :param results_dir: root of all results
    :param run: the run
    :return: whether the run finished with the suite's current configuration
    """
    csv_path, done_path = run_paths(results_dir, run)
    if not (csv_path.exists() and done_path.exists()):
        return False
    try:
        marker = json.loads(done_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return marker.get("config_hash") == run.config_hash()


def cpu_name() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), or ``platform.processor()`` elsewhere."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def versions() -> dict[str, str]:
    """Versions of what produced a result."""
    found = {
        "python": platform.python_version(),
        "torch": th.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": cpu_name(),
        # what the fast mode does here: its float32 products round to bfloat16 only where oneDNN takes such kernels
        "cpu_products_round_to_bfloat16": str(cpu_products_round()),
        # SB3's device="auto" (the suites' default) trains on this GPU when there is one
        "cuda_device": th.cuda.get_device_name(0) if th.cuda.is_available() else "none",
    }
    version_file = Path(__file__).resolve().parents[1] / "version.txt"
    if version_file.exists():
        found["sb3_ddpg_ext"] = version_file.read_text().strip()
    return found


def check_runs(runs: Sequence[Run]) -> None:
    """
    Convert every run's hyperparameters and construct each (algorithm, environment) pair's model once, before any run
    starts, so a bad value is one line naming the suite file and the keys, not a failed run.

    :param runs: the runs
    """
    seen: set[tuple[str, str]] = set()
    for entry in runs:
        spec = entry.spec()
        if (entry.algo.name, entry.env.env_id) not in seen:
            seen.add((entry.algo.name, entry.env.env_id))
            check_spec(spec)


def execute_run(entry: Run, results_dir: str | Path) -> float:
    """
    Train one run with the periodic evaluation and write its CSV, its diagnostics and its completion marker.

    :param entry: the run
    :param results_dir: root of all results
    :return: wall time of the run in seconds
    """
    csv_path, done_path = run_paths(results_dir, entry)
    if done_path.exists():
        done_path.unlink()
    folder = diagnostics_dir(results_dir, entry)
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished attempt's files (a resumed run rewrites its records)

    def write_marker(result: RunResult) -> None:  # before the checkpoint is removed
        marker = {
            "run": entry.label,
            "config": entry.config(),
            "config_hash": entry.config_hash(),
            "wall_time_s": round(result.wall_time_s, 3),
            "resumed_from": result.resumed_from,
            "torch_threads": th.get_num_threads(),
            "versions": versions(),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(sys.argv),
        }
        atomic_write(done_path, lambda file: json.dump(marker, file, indent=2, sort_keys=True, default=repr), mode="w")

    result = run_experiment(
        entry.spec(),
        entry.env.eval_freq,
        entry.env.n_eval_episodes,
        csv_path=csv_path,
        diagnostics_dir=folder,
        checkpoint_dir=checkpoint_dir(results_dir, entry),
        on_complete=write_marker,
    )
    return result.wall_time_s


def _init_worker(threads: int) -> None:
    th.set_num_threads(threads)


def _execute_safely(run: Run, results_dir: str) -> tuple[str, str | None]:
    try:
        execute_run(run, results_dir)
    except Exception:
        return run.label, traceback.format_exc()
    return run.label, None


def run_suite(
    suite: Suite,
    results_dir: str | Path,
    jobs: int = 1,
    shard: tuple[int, int] = (0, 1),
    log: Callable[[str], None] | None = print,
    algos: Sequence[str] = (),
    envs: Sequence[str] = (),
) -> RunSummary:
    """
    Run every incomplete run of a suite (of one shard of it), ``jobs`` at a time.

    :param suite: the suite
    :param results_dir: root of all results
    :param jobs: parallel worker processes (each with one torch thread); 1 runs in this process
    :param shard: ``(i, n)``: run only every ``n``-th run starting at ``i``
    :param log: progress messages go here; ``None`` for silence
    :param algos: run only these algorithm entries (empty: all)
    :param envs: run only these environments (empty: all)
    :return: what was run, skipped and what failed
    """
    say = log or (lambda _: None)
    runs = select_shard(select_runs(suite, algos, envs), *shard)
    check_runs(runs)
    summary = RunSummary()
    todo = []
    for run in runs:
        if is_complete(results_dir, run):
            summary.skipped.append(run.label)
        else:
            todo.append(run)
    counts = f"{len(runs)} runs, {len(summary.skipped)} complete, {len(todo)} to run"
    say(f"suite {suite.name}, shard {shard[0]}/{shard[1]}: {counts}")

    def record(label: str, error: str | None) -> None:
        if error is None:
            summary.ran.append(label)
            say(f"done {label}")
        else:
            summary.failed[label] = error
            say(f"FAILED {label}\n{error}")

    if jobs <= 1:
        for run in todo:
            step = resume_step(run.spec(), run.env.eval_freq, run.env.n_eval_episodes, checkpoint_dir(results_dir, run))
            say(f"start {run.label}" + ("" if step is None else f" (resuming from step {step})"))
            record(*_execute_safely(run, str(results_dir)))
    elif todo:
        # spawn, not fork: forking a process that already runs torch's thread pools can hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(1,)) as pool:
            futures = [pool.submit(_execute_safely, run, str(results_dir)) for run in todo]
            for future in as_completed(futures):
                record(*future.result())
    return summary
