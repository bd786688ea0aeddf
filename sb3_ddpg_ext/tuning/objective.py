"""
The Optuna objective: each seed of a trial is one run of the experiment layer
(:func:`sb3_ddpg_ext.experiment.run.run_experiment`,
the same converter, environments and evaluation protocol as ``sb3-ddpg train`` and ``sb3-ddpg bench``). A seed's
score is the mean of its last ``score_last_k`` evaluations (:func:`seed_score`).

What is reported for pruning depends on the pruner:

- seeds as instances (``report_seeds=True``, for Optuna's ``WilcoxonPruner``): the seeds run one after another, each
  seed's score is reported at step ``i`` (its index), so the pruner pairs it with the best trial's score on the same
  seed, and a trial it stops has run only the seeds it needed to be found worse;
- within a seed (median, successive halving, Hyperband): every evaluation after step 0 is reported, at distinct steps
  for successive seeds.

A trial's value is the mean of its seeds' scores, and only a trial that ran all its seeds has one: a pruned trial
(``PRUNED``, its seeds' scores in the ``seed_scores`` user attribute) cannot become the best trial on one or two lucky
seeds, so the best trial is always a mean over the same number of seeds as every other complete trial.

A trial whose loss becomes NaN/inf, whose evaluation return stops being finite, or whose training raises, is recorded
as failed (``FAIL``) with the reason in its ``fail_reason`` user attribute, and the study goes on.
"""

import math
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna

from sb3_ddpg_ext.ddpg.nan_guard import NonFiniteLossError
from sb3_ddpg_ext.experiment.config import RunSpec, build_run_spec
from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams
from sb3_ddpg_ext.experiment.run import run_experiment
from sb3_ddpg_ext.tuning.spaces import SAMPLERS, to_hyperparams

# Study algorithm names -> experiment-layer algorithm names ("ddpg" is this package's DDPG)
ALGOS: dict[str, str] = {"ddpg": "ddpg_ext", "td3": "td3", "sac": "sac"}


class TrialDivergedError(RuntimeError):
    """Raised inside a trial when training diverges (a non-finite evaluation return)."""


class Objective:
    """
    Callable objective of a study: sample the algorithm's hyperparameters, train ``seeds`` runs and return the mean
    over seeds of the mean of the last ``score_last_k`` evaluation returns.

    :param env_id: Gymnasium environment id
    :param algo: ``ddpg`` (this package's DDPG), ``td3`` or ``sac`` (SB3's), for fair comparisons
    :param space: The resolved search space (see :func:`~sb3_ddpg_ext.tuning.spaces.resolve_space`)
    :param hyperparams: Fixed hyperparameters of every trial; sampled values are merged over them
        (:func:`~sb3_ddpg_ext.experiment.hyperparams.merge_hyperparams`)
    :param n_timesteps: Training budget of each seed of a trial
    :param eval_freq: Evaluate every ``eval_freq`` environment steps
    :param n_eval_episodes: Episodes per evaluation
    :param seeds: Number of seeds per trial; seed ``i`` is ``base_seed + i``
    :param base_seed: First seed
    :param score_last_k: Number of last evaluations averaged into a seed's score
    :param device: Torch device; None: the hyperparameters' ``device``, else cpu
    :param source: The study file, for error messages
    :param report_seeds: Report each seed's score at its index (seeds as instances, for ``WilcoxonPruner``); False:
        report every evaluation within each seed
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
        device: str | None = None,
        source: str = "<study>",
        report_seeds: bool = False,
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
        self.source = source
        self.report_seeds = report_seeds

    def trial_hyperparams(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """
        Hyperparameters (YAML-ready) of a trial: the fixed ones with the sampled ones merged over them.

        :param params: Values from the sampling function
        :return: Hyperparameters
        """
        return merge_hyperparams(self.hyperparams, to_hyperparams(params))

    def run_spec(self, hyperparams: Mapping[str, Any], seed: int) -> RunSpec:
        """
        The run of one seed of a trial.

        :param hyperparams: The trial's hyperparameters
        :param seed: The seed
        :return: Its specification
        """
        settings: dict[str, Any] = {"seed": seed, "n_timesteps": self.n_timesteps}
        if self.device is not None:
            settings["device"] = self.device
        elif "device" not in hyperparams:
            settings["device"] = "cpu"
        return build_run_spec(self.env_id, merge_hyperparams(hyperparams, settings), ALGOS[self.algo], self.source)

    def __call__(self, trial: optuna.Trial) -> float:
        params = SAMPLERS[self.algo](trial, self.space)
        hyperparams = self.trial_hyperparams(params)
        trial.set_user_attr("hyperparams", hyperparams)
        seed_scores: list[float] = []
        for index in range(self.seeds):
            seed = self.base_seed + index
            try:
                score = self._train_one_seed(trial, hyperparams, index)
                if self.report_seeds:
                    trial.report(score, index)
                    if index + 1 < self.seeds and trial.should_prune():
                        seed_scores.append(score)
                        trial.set_user_attr("pruned_after_seeds", len(seed_scores))
                        raise optuna.TrialPruned(
                            f"seeds {self.base_seed}-{seed} score below the best trial's same seeds (Wilcoxon)"
                        )
            except optuna.TrialPruned:
                trial.set_user_attr("seed_scores", seed_scores)
                raise
            except NonFiniteLossError as error:
                return self._fail(trial, f"non-finite loss (seed {seed}): {error}")
            except TrialDivergedError as error:
                return self._fail(trial, f"diverged (seed {seed}): {error}")
            except Exception as error:  # any training error fails this trial only; the study goes on
                detail = traceback.format_exception_only(type(error), error)[-1].strip()
                return self._fail(trial, f"exception (seed {seed}): {detail}")
            seed_scores.append(score)
        trial.set_user_attr("seed_scores", seed_scores)
        return float(np.mean(seed_scores))

    @staticmethod
    def _fail(trial: optuna.Trial, reason: str) -> float:
        """Record why the trial failed and return NaN, which Optuna records as a failed trial."""
        trial.set_user_attr("fail_reason", reason[:2000])
        return float("nan")

    def _train_one_seed(self, trial: optuna.Trial, hyperparams: Mapping[str, Any], index: int) -> float:
        spec = self.run_spec(hyperparams, self.base_seed + index)
        step_offset = index * self.n_timesteps  # each seed of a trial reports distinct steps
        state: dict[str, Any] = {"failure": None, "pruned_at": None}

        def on_evaluation(step: int, returns: list[float]) -> bool:
            value = float(np.mean(returns))
            if not math.isfinite(value):
                state["failure"] = f"evaluation return became {value} at step {step}"
                return False
            if step == 0 or self.report_seeds:
                return True
            trial.report(value, step_offset + step)
            if trial.should_prune():
                state["pruned_at"] = step_offset + step
                return False
            return True

        result = run_experiment(spec, self.eval_freq, self.n_eval_episodes, on_evaluation=on_evaluation)
        if state["failure"] is not None:
            raise TrialDivergedError(state["failure"])
        if state["pruned_at"] is not None:
            trial.set_user_attr("pruned_at_step", state["pruned_at"])
            raise optuna.TrialPruned(f"pruned at step {state['pruned_at'] - step_offset} of seed {spec.seed}")
        score = seed_score(result.rows, self.score_last_k)
        if score is None:
            raise TrialDivergedError(f"no evaluation in {self.n_timesteps} steps with eval_freq={self.eval_freq}")
        return score


def seed_score(rows: Sequence[Sequence[float]], score_last_k: int) -> float | None:
    """
    The score of one seed: the mean return of its last ``score_last_k`` evaluations after step 0.

    :param rows: Evaluation rows ``(step, mean_return, ...)`` in step order
    :param score_last_k: How many of the last evaluations to average
    :return: The score; None when no evaluation came after step 0
    """
    returns = [float(row[1]) for row in rows if row[0] > 0]
    return float(np.mean(returns[-score_last_k:])) if returns else None
