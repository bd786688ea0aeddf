"""
The Optuna objective: train with periodic deterministic evaluations, report each one for pruning, and score a trial
by the mean of its last evaluations averaged over several seeds.

A trial whose loss becomes NaN/inf, whose evaluation return or weights stop being finite, or whose training raises,
is recorded as failed (``FAIL``) with the reason in its ``fail_reason`` user attribute, and the study goes on.
"""

import math
import traceback
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import optuna
import torch as th
from stable_baselines3 import SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_ddpg_ext.ddpg.ddpg import DDPG, NonFiniteLossError
from sb3_ddpg_ext.tuning.spaces import SAMPLERS, hyperparams_to_kwargs, to_hyperparams

ALGOS: dict[str, type[BaseAlgorithm]] = {"ddpg": DDPG, "td3": TD3, "sac": SAC}
# Seeds of the evaluation environments are offset from the training seeds so the two never share episodes
EVAL_SEED_OFFSET = 10_000


class TrialDivergedError(RuntimeError):
    """Raised inside a trial when training diverges (non-finite evaluation return or weights)."""


class TrialEvalCallback(EvalCallback):
    """
    ``EvalCallback`` that reports each deterministic evaluation to an Optuna trial and stops training when the
    pruner says so, or when the return or the weights stop being finite.

    :param eval_env: The environment used for evaluation
    :param trial: The Optuna trial to report to
    :param n_eval_episodes: Episodes per evaluation
    :param eval_freq: Evaluate every ``eval_freq`` calls (environment steps with one env)
    :param step_offset: Added to ``num_timesteps`` in reports, so that each seed of a trial reports distinct steps
    """

    def __init__(
        self,
        eval_env: DummyVecEnv,
        trial: optuna.Trial,
        n_eval_episodes: int = 5,
        eval_freq: int = 1000,
        step_offset: int = 0,
    ):
        super().__init__(eval_env, n_eval_episodes=n_eval_episodes, eval_freq=eval_freq, deterministic=True, verbose=0)
        self.trial = trial
        self.step_offset = step_offset
        self.scores: list[float] = []
        self.is_pruned = False
        self.failure: str | None = None

    def _on_step(self) -> bool:
        if not (self.eval_freq > 0 and self.n_calls % self.eval_freq == 0):
            return True
        super()._on_step()
        value = self.last_mean_reward
        if not math.isfinite(value):
            self.failure = f"evaluation return became {value} at step {self.num_timesteps}"
            return False
        if not all(th.isfinite(param).all() for param in self.model.policy.parameters()):
            self.failure = f"policy weights became non-finite at step {self.num_timesteps}"
            return False
        self.scores.append(value)
        self.trial.report(value, self.step_offset + self.num_timesteps)
        if self.trial.should_prune():
            self.is_pruned = True
            return False
        return True


class Objective:
    """
    Callable objective of a study: sample the algorithm's hyperparameters, train ``len(seeds)`` models and return the
    mean over seeds of the mean of the last ``score_last_k`` evaluation returns.

    :param env_id: Gymnasium environment id
    :param algo: ``ddpg`` (this package's DDPG), ``td3`` or ``sac`` (SB3's), for fair comparisons
    :param space: The resolved search space (see :func:`~sb3_ddpg_ext.tuning.spaces.resolve_space`)
    :param hyperparams: Fixed hyperparameters added to every trial (``buffer_size``, ``policy``, ...);
        sampled values take precedence over them only for sampled keys
    :param n_timesteps: Training budget of each seed of a trial
    :param eval_freq: Evaluate every ``eval_freq`` environment steps
    :param n_eval_episodes: Episodes per evaluation
    :param seeds: Number of seeds per trial; seed ``i`` is ``base_seed + i``
    :param base_seed: First seed
    :param score_last_k: Number of last evaluations averaged into a seed's score
    :param device: Torch device
    """

    def __init__(
        self,
        env_id: str,
        algo: str = "ddpg",
        space: Mapping[str, Any] | None = None,
        hyperparams: Mapping[str, Any] | None = None,
        n_timesteps: int = 10_000,
        eval_freq: int = 1_000,
        n_eval_episodes: int = 5,
        seeds: int = 1,
        base_seed: int = 0,
        score_last_k: int = 3,
        device: str = "cpu",
    ):
        self.env_id = env_id
        self.algo = algo
        self.space = dict(space or {})
        self.hyperparams = dict(hyperparams or {})
        self.n_timesteps = n_timesteps
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.seeds = seeds
        self.base_seed = base_seed
        self.score_last_k = score_last_k
        self.device = device

    def trial_hyperparams(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """
        Hyperparameters (YAML-ready) of a trial: the fixed ones, then the sampled ones in RL Zoo's form.

        :param params: Values from the sampling function
        :return: Hyperparameters
        """
        hyperparams = dict(self.hyperparams)
        hyperparams.update(to_hyperparams(params))
        return hyperparams

    def __call__(self, trial: optuna.Trial) -> float:
        params = SAMPLERS[self.algo](trial, self.space)
        hyperparams = self.trial_hyperparams(params)
        trial.set_user_attr("hyperparams", hyperparams)
        seed_scores: list[float] = []
        for index in range(self.seeds):
            try:
                score = self._train_one_seed(trial, hyperparams, index)
            except optuna.TrialPruned:
                trial.set_user_attr("seed_scores", seed_scores)
                raise
            except NonFiniteLossError as error:
                return self._fail(trial, f"non-finite loss (seed {self.base_seed + index}): {error}")
            except TrialDivergedError as error:
                return self._fail(trial, f"diverged (seed {self.base_seed + index}): {error}")
            except Exception as error:  # any training error fails this trial only; the study goes on
                detail = traceback.format_exception_only(type(error), error)[-1].strip()
                return self._fail(trial, f"exception (seed {self.base_seed + index}): {detail}")
            seed_scores.append(score)
        trial.set_user_attr("seed_scores", seed_scores)
        return float(np.mean(seed_scores))

    @staticmethod
    def _fail(trial: optuna.Trial, reason: str) -> float:
        """Record why the trial failed and return NaN, which Optuna records as a failed trial."""
        trial.set_user_attr("fail_reason", reason[:2000])
        return float("nan")

    def _train_one_seed(self, trial: optuna.Trial, hyperparams: Mapping[str, Any], index: int) -> float:
        seed = self.base_seed + index
        hyperparams = dict(hyperparams)
        policy = hyperparams.pop("policy", "MlpPolicy")
        for key in ("n_timesteps", "n_envs", "normalize"):
            hyperparams.pop(key, None)
        eval_env = DummyVecEnv([lambda: Monitor(gym.make(self.env_id))])
        eval_env.seed(seed + EVAL_SEED_OFFSET)
        try:
            n_actions = int(np.prod(eval_env.action_space.shape or ()))
            kwargs = hyperparams_to_kwargs(hyperparams, n_actions, algo=self.algo)
            model = ALGOS[self.algo](policy, self.env_id, seed=seed, device=self.device, verbose=0, **kwargs)
            callback = TrialEvalCallback(
                eval_env,
                trial,
                n_eval_episodes=self.n_eval_episodes,
                eval_freq=self.eval_freq,
                step_offset=index * self.n_timesteps,
            )
            model.learn(self.n_timesteps, callback=callback)
            if model.env is not None:
                model.env.close()
        finally:
            eval_env.close()
        if callback.failure is not None:
            raise TrialDivergedError(callback.failure)
        if callback.is_pruned:
            trial.set_user_attr("pruned_at_step", callback.step_offset + callback.num_timesteps)
            raise optuna.TrialPruned(f"pruned at step {callback.num_timesteps} of seed {seed}")
        if not callback.scores:
            raise TrialDivergedError(f"no evaluation in {self.n_timesteps} steps with eval_freq={self.eval_freq}")
        return float(np.mean(callback.scores[-self.score_last_k :]))
