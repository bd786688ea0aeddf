"""Run a benchmark suite: one process per (environment, algorithm, seed), resumable and shardable.

Each run writes ``<results_dir>/<suite>/<env>/<algo>/seed_<k>.csv`` (columns ``step, mean_return,
std_return, wall_time``), replaced atomically after every evaluation, and when it finishes a marker
``seed_<k>.done.json`` (wall time, versions, the exact configuration). A run is complete when its
marker exists and matches the suite's current configuration; complete runs are skipped, others redone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import platform
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
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv

from sb3_ddpg_ext.benchmarking.suite import (
    ALGORITHMS,
    AlgoSpec,
    EnvSpec,
    Suite,
    SuiteError,
    hyperparams_to_kwargs,
    merge_hyperparams,
    resolve_algorithm,
)
from sb3_ddpg_ext.common.save import atomic_write

CSV_COLUMNS = ("step", "mean_return", "std_return", "wall_time")
# The evaluation env is seeded apart from the training env, identically for every algorithm.
EVAL_SEED_OFFSET = 10_000


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

    @property
    def label(self) -> str:
        return f"{self.suite}/{self.env.env_id}/{self.algo.name}/seed_{self.seed}"

    @property
    def hyperparams(self) -> dict[str, Any]:
        return merge_hyperparams(self.env.hyperparams, self.algo.hyperparams)

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


def expand_runs(suite: Suite) -> list[Run]:
    """
    Every run of a suite in a fixed order: environment, then seed, then algorithm,
    so a partly finished suite (or one shard) still holds comparable results.

    :param suite: the suite
    :return: the runs
    """
    return [Run(suite.name, algo, env, seed) for env in suite.envs for seed in suite.seeds for algo in suite.algos]


def parse_shard(text: str | None) -> tuple[int, int]:
    """
    Parse ``"i/n"`` (0 <= i < n): this machine runs runs ``i, i + n, i + 2n, ...``.

    :param text: ``"i/n"``, or ``None`` for all runs
    :return: ``(i, n)``
    """
    if text is None:
        return 0, 1
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError as error:
        raise ValueError(f"--shard expects 'i/n' with 0 <= i < n, got {text!r}") from error
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard expects 'i/n' with 0 <= i < n, got {text!r}")
    return index, count


def select_shard(runs: Sequence[Run], index: int, count: int) -> list[Run]:
    """
    :param runs: runs in :func:`expand_runs` order
    :param index: this shard, ``0 <= index < count``
    :param count: number of shards
    :return: every ``count``-th run starting at ``index``
    """
    return list(runs[index::count])


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


def write_csv(path: Path, rows: Sequence[Sequence[float]]) -> None:
    """Write evaluation rows (``step, mean_return, std_return, wall_time``) atomically."""

    def write(file: Any) -> None:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)

    atomic_write(path, write, mode="w")


def versions() -> dict[str, str]:
    """Versions of what produced a result."""
    found = {
        "python": platform.python_version(),
        "torch": th.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    version_file = Path(__file__).resolve().parents[1] / "version.txt"
    if version_file.exists():
        found["sb3_ddpg_ext"] = version_file.read_text().strip()
    return found


class PeriodicEvalCallback(BaseCallback):
    """
    Evaluate the deterministic policy every ``eval_freq`` environment steps (and at steps 0 and the end),
    writing the learning curve to a CSV after each evaluation.

    The evaluation env is re-seeded with the same seed before every evaluation, so every evaluation of
    every algorithm starts from the same episodes' initial states (common random numbers).

    :param eval_env: the evaluation env, separate from the training env
    :param eval_seed: seed applied to ``eval_env`` before each evaluation
    :param eval_freq: evaluate every ``eval_freq`` environment steps
    :param n_eval_episodes: episodes per evaluation
    :param csv_path: where the curve is written
    """

    def __init__(self, eval_env: VecEnv, eval_seed: int, eval_freq: int, n_eval_episodes: int, csv_path: Path):
        super().__init__(verbose=0)
        self.eval_env = eval_env
        self.eval_seed = eval_seed
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.csv_path = csv_path
        self.rows: list[tuple[int, float, float, float]] = []
        self.start_time = 0.0
        self._last_eval_step = -1

    def evaluate(self) -> None:
        self.eval_env.seed(self.eval_seed)
        returns, _ = evaluate_policy(
            self.model, self.eval_env, n_eval_episodes=self.n_eval_episodes, deterministic=True, return_episode_rewards=True
        )
        elapsed = time.perf_counter() - self.start_time
        self.rows.append((self.num_timesteps, float(np.mean(returns)), float(np.std(returns)), round(elapsed, 3)))
        self._last_eval_step = self.num_timesteps
        write_csv(self.csv_path, self.rows)

    def _on_training_start(self) -> None:
        self.start_time = time.perf_counter()
        self.evaluate()

    def _on_step(self) -> bool:
        # One env: num_timesteps crosses each multiple of eval_freq exactly once.
        if self.num_timesteps % self.eval_freq == 0:
            self.evaluate()
        return True

    def _on_training_end(self) -> None:
        if self._last_eval_step != self.num_timesteps:
            self.evaluate()


def build_kwargs(run: Run) -> dict[str, Any]:
    """
    Constructor keyword arguments of a run (``policy`` included, ``env`` and ``seed`` excluded).

    :param run: the run
    :return: keyword arguments
    """
    algo_class = resolve_algorithm(run.algo.algo)
    env = gym.make(run.env.env_id)
    try:
        return hyperparams_to_kwargs(algo_class, run.hyperparams, env.action_space)
    finally:
        env.close()


def check_runs(runs: Sequence[Run], suite_path: str) -> None:
    """
    Import every algorithm and build every constructor's arguments before any run starts.

    :param runs: the runs
    :param suite_path: file named in errors
    """
    seen: set[tuple[str, str]] = set()
    for run in runs:
        key = (run.algo.name, run.env.env_id)
        if key in seen:
            continue
        seen.add(key)
        try:
            build_kwargs(run)
        except ImportError as error:
            target = ALGORITHMS[run.algo.algo]
            raise SuiteError(f"{suite_path}: key 'algos.{run.algo.name}': cannot import {target!r} ({error})") from error
        except ValueError as error:
            raise SuiteError(
                f"{suite_path}: key 'envs.{run.env.env_id}.hyperparams' / 'algos.{run.algo.name}.hyperparams': {error}"
            ) from error


def execute_run(run: Run, results_dir: str | Path) -> float:
    """
    Train one run with periodic evaluation and write its CSV and completion marker.

    :param run: the run
    :param results_dir: root of all results
    :return: wall time of the run in seconds
    """
    csv_path, done_path = run_paths(results_dir, run)
    if done_path.exists():
        done_path.unlink()
    algo_class = resolve_algorithm(run.algo.algo)
    kwargs = build_kwargs(run)
    start = time.perf_counter()
    env = make_vec_env(run.env.env_id, n_envs=1, seed=run.seed)
    eval_seed = run.seed + EVAL_SEED_OFFSET
    eval_env = make_vec_env(run.env.env_id, n_envs=1, seed=eval_seed)
    try:
        model = algo_class(env=env, seed=run.seed, verbose=0, **kwargs)
        callback = PeriodicEvalCallback(eval_env, eval_seed, run.env.eval_freq, run.env.n_eval_episodes, csv_path)
        model.learn(total_timesteps=run.env.n_timesteps, callback=callback)
    finally:
        env.close()
        eval_env.close()
    wall_time = time.perf_counter() - start
    marker = {
        "run": run.label,
        "config": run.config(),
        "config_hash": run.config_hash(),
        "wall_time_s": round(wall_time, 3),
        "torch_threads": th.get_num_threads(),
        "versions": versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(sys.argv),
    }
    atomic_write(done_path, lambda file: json.dump(marker, file, indent=2, sort_keys=True, default=repr), mode="w")
    return wall_time


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
) -> RunSummary:
    """
    Run every incomplete run of a suite (of one shard of it), ``jobs`` at a time.

    :param suite: the suite
    :param results_dir: root of all results
    :param jobs: parallel worker processes (each with one torch thread); 1 runs in this process
    :param shard: ``(i, n)``: run only every ``n``-th run starting at ``i``
    :param log: progress messages go here; ``None`` for silence
    :return: what was run, skipped and what failed
    """
    say = log or (lambda _: None)
    runs = select_shard(expand_runs(suite), *shard)
    check_runs(runs, suite.path)
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
            say(f"start {run.label}")
            record(*_execute_safely(run, str(results_dir)))
    elif todo:
        # spawn, not fork: forking a process that already runs torch's thread pools can hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(1,)) as pool:
            futures = [pool.submit(_execute_safely, run, str(results_dir)) for run in todo]
            for future in as_completed(futures):
                record(*future.result())
    return summary
