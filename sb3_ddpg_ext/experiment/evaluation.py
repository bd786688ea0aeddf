"""
The one evaluation protocol of train runs, tuning trials and benchmark runs.

The deterministic policy is evaluated on a separate environment at step 0, every ``eval_freq`` environment steps
(summed over the training environments) and at the end of training, after the last gradient steps, so the final
evaluation is the model that ``learn()`` returns. Before every evaluation the evaluation
environment is re-seeded with the same seed (the run's seed + :data:`EVAL_SEED_OFFSET`), so every evaluation of every
algorithm starts from the same initial states (common random numbers). The learning curve is one CSV file, columns
:data:`CSV_COLUMNS`, replaced atomically after each evaluation. A run's final return is its last row.
"""

import csv
import pathlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, sync_envs_normalization

from sb3_ddpg_ext.common.save import atomic_path, atomic_write
from sb3_ddpg_ext.diagnostics.recorder import Diagnostics

EVAL_SEED_OFFSET = 10_000
CSV_COLUMNS = ("step", "mean_return", "std_return", "wall_time")
# Called after each evaluation with (step, episode returns); returning False stops training (a pruned trial)
OnEvaluation = Callable[[int, list[float]], bool]


def evaluate_returns(
    model: BaseAlgorithm, env: VecEnv, n_episodes: int, seed: int, callback: Callable[..., None] | None = None
) -> list[float]:
    """
    Returns of ``n_episodes`` deterministic episodes, the environment re-seeded with ``seed`` first.

    :param model: The model
    :param env: The evaluation environment
    :param n_episodes: Number of episodes
    :param seed: Seed applied to ``env`` before the first episode
    :param callback: ``evaluate_policy``'s per-step callback (a diagnostics episode recorder), if any
    :return: One return per episode
    """
    env.seed(seed)
    returns, _ = evaluate_policy(
        model, env, n_eval_episodes=n_episodes, deterministic=True, return_episode_rewards=True, callback=callback
    )
    assert isinstance(returns, list)  # return_episode_rewards=True: one return per episode
    return [float(value) for value in returns]


def write_curve(path: str | pathlib.Path, rows: list[tuple[int, float, float, float]]) -> None:
    """
    Write evaluation rows (:data:`CSV_COLUMNS`) atomically.

    :param path: CSV file
    :param rows: ``(step, mean_return, std_return, wall_time)`` tuples
    """

    def write(file: Any) -> None:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)

    atomic_write(path, write, mode="w")


def read_curve(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """
    Read a learning curve written by :func:`write_curve`.

    :param path: CSV file
    :return: Column name -> values
    """
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {name: data[:, index] for index, name in enumerate(CSV_COLUMNS)}


class PeriodicEvaluation(BaseCallback):
    """
    Evaluate the deterministic policy at step 0, every ``eval_freq`` environment steps and at the end of training.

    :param eval_env: The evaluation environment, separate from the training one (its ``VecNormalize`` statistics,
        if any, are synchronized from the training environment before each evaluation)
    :param eval_seed: Seed applied to ``eval_env`` before each evaluation
    :param eval_freq: Evaluate every ``eval_freq`` environment steps, summed over the training environments
    :param n_eval_episodes: Episodes per evaluation
    :param csv_path: Learning-curve CSV, rewritten after each evaluation; None: kept in memory only
    :param best_model_path: Where to save the model whenever its evaluation return is the best so far; None: not saved
    :param on_evaluation: Called after each evaluation with the step and the returns; False stops training
    :param diagnostics: Records the critic's estimate against the true return and the policy on probe states at each
        evaluation; None: not recorded
    """

    def __init__(
        self,
        eval_env: VecEnv,
        eval_seed: int,
        eval_freq: int,
        n_eval_episodes: int,
        csv_path: str | pathlib.Path | None = None,
        best_model_path: str | pathlib.Path | None = None,
        on_evaluation: OnEvaluation | None = None,
        diagnostics: Diagnostics | None = None,
    ):
        super().__init__(verbose=0)
        self.diagnostics = diagnostics
        self.eval_env = eval_env
        self.eval_seed = eval_seed
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.csv_path = csv_path
        self.best_model_path = best_model_path
        self.on_evaluation = on_evaluation
        self.rows: list[tuple[int, float, float, float]] = []
        self.start_time = 0.0
        self.next_eval = 0
        self.stopped = False
        self.best = -np.inf
        self._restored = False

    def evaluate(self) -> bool:
        """Run one evaluation, record and write it; return False when ``on_evaluation`` asks to stop."""
        sync_envs_normalization(self.training_env, self.eval_env)
        recorder = None if self.diagnostics is None else self.diagnostics.episode_recorder(self.training_env)
        returns = evaluate_returns(self.model, self.eval_env, self.n_eval_episodes, self.eval_seed, recorder)
        if self.diagnostics is not None and recorder is not None:
            self.diagnostics.record(self.num_timesteps, self.model, recorder, self.training_env)
        mean = float(np.mean(returns))
        elapsed = round(time.perf_counter() - self.start_time, 3)
        self.rows.append((self.num_timesteps, mean, float(np.std(returns)), elapsed))
        self.next_eval = (self.num_timesteps // self.eval_freq + 1) * self.eval_freq
        if self.csv_path is not None:
            write_curve(self.csv_path, self.rows)
        if mean > self.best:
            self.best = mean
            if self.best_model_path is not None:
                with atomic_path(self.best_model_path) as tmp:
                    self.model.save(tmp)
        if self.on_evaluation is not None and not self.on_evaluation(self.num_timesteps, returns):
            self.stopped = True
        return not self.stopped

    def restore(self, rows: list[tuple[int, float, float, float]]) -> None:
        """
        Continue the records of a resumed run (:mod:`sb3_ddpg_ext.experiment.checkpoint`): its wall times go on from
        the last row's, its best return is the best of the rows.

        :param rows: The evaluation rows so far
        """
        self.rows, self.best = list(rows), max(row[1] for row in rows)
        self.next_eval = (rows[-1][0] // self.eval_freq + 1) * self.eval_freq
        self._restored = True

    def _on_training_start(self) -> None:
        self.start_time = time.perf_counter() - (self.rows[-1][3] if self.rows else 0.0)
        if not self._restored and (not self.rows or self.rows[-1][0] != self.num_timesteps):
            self.evaluate()
        self._restored = False

    def _on_step(self) -> bool:
        if self.stopped:
            return False
        # The evaluation at the end of the budget waits for the last gradient steps (_on_training_end), so the final
        # row is the returned and saved model's
        if self.next_eval <= self.num_timesteps < self.model._total_timesteps:
            return self.evaluate()
        return True

    def _on_training_end(self) -> None:
        if not self.stopped and self.rows[-1][0] != self.num_timesteps:
            self.evaluate()
