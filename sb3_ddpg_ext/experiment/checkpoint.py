"""
Resume a killed run from its last evaluation.

After each evaluation but the last, at the end of its rollout, :class:`ResumeCheckpoint` writes into the run's
checkpoint folder what training needs to go on: the model (SB3's ``save``: weights, optimizers, action noise, step
counters), its replay buffer, the ``VecNormalize`` statistics, the random number generators' states and the run's
records (the learning curve, from which the best return is derived, the diagnostics, SB3's log). The model and
buffer files carry the step in their names and ``latest.json``, replaced atomically after them, names the complete
set, so a kill at any moment leaves the previous checkpoint usable. The folder is removed once the run completes and
its outputs are written. A checkpoint of another configuration is never resumed nor deleted: it is moved aside, to
``<folder>.stale-<its key>`` (:func:`load_checkpoint`), with a warning.

A resumed run trains the same configuration with the same code, but it is not bit for bit the run that was killed:
its training environments start a fresh episode (seeded with the run's seed plus the resumed step), the gradient
steps due at the checkpoint's rollout are not taken, and SB3's episode statistics restart.
"""

import hashlib
import json
import logging
import pathlib
import pickle
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sb3_ddpg_ext.common.save import atomic_write
from sb3_ddpg_ext.diagnostics.recorder import Diagnostics, ProgressCSV
from sb3_ddpg_ext.experiment.config import RunSpec, resolve_algorithm
from sb3_ddpg_ext.experiment.evaluation import PeriodicEvaluation

LATEST_FILE = "latest.json"
logger = logging.getLogger(__name__)


def run_key(spec: RunSpec, eval_freq: int, n_eval_episodes: int) -> str:
    """
    What a checkpoint must match to be resumed: the algorithm, environment, hyperparameters, seed, budget and
    evaluation protocol.

    :param spec: The run's specification
    :param eval_freq: Evaluation period
    :param n_eval_episodes: Episodes per evaluation
    :return: A short hash
    """
    content = [spec.algo, spec.env_id, spec.hyperparams, spec.seed, spec.n_timesteps, eval_freq, n_eval_episodes]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=repr).encode()).hexdigest()[:16]


@dataclass
class RunState:
    """
    The records of a run at a checkpoint.

    :param step: Environment steps done
    :param rows: The evaluation rows so far
    :param value_rows: The diagnostics' value rows
    :param probe_steps: The diagnostics' probe steps
    :param probe_actions: The diagnostics' probe actions
    :param progress_rows: SB3's log rows (``progress.csv``) so far
    :param resumed_from: Steps this run was resumed from before
    :param rng: Python's, NumPy's and torch's random states
    :param normalization: The ``VecNormalize`` running statistics, if the run normalizes
    """

    step: int
    rows: list[tuple[int, float, float, float]]
    value_rows: list[tuple[Any, ...]] = field(default_factory=list)
    probe_steps: list[int] = field(default_factory=list)
    probe_actions: list[np.ndarray] = field(default_factory=list)
    progress_rows: list[dict[str, str]] = field(default_factory=list)
    resumed_from: list[int] = field(default_factory=list)
    rng: dict[str, Any] = field(default_factory=dict)
    normalization: dict[str, Any] | None = None


def _files(folder: pathlib.Path, step: int) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    return folder / f"model_{step}.zip", folder / f"replay_buffer_{step}.pkl", folder / f"state_{step}.pkl"


def checkpoint_step(folder: str | pathlib.Path, key: str | None = None) -> int | None:
    """
    :param folder: A checkpoint folder
    :param key: :func:`run_key` of a run; None: any run's
    :return: The step of its last complete checkpoint (of the run of ``key``, when given), or None when there is none
    """
    try:
        latest = json.loads((pathlib.Path(folder) / LATEST_FILE).read_text())
        step = int(latest["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return step if key is None or latest.get("key") == key else None


def load_checkpoint(folder: str | pathlib.Path, key: str) -> RunState | None:
    """
    The state of the last complete checkpoint in ``folder``. A checkpoint of another configuration (its key differs)
    is not resumed and not deleted: the folder is moved to ``<folder>.stale-<its key>`` (``-2``, ``-3``... appended
    if that exists) and a one-line warning names both.

    :param folder: The checkpoint folder
    :param key: :func:`run_key` of the run
    :return: The state, or None when there is nothing to resume
    """
    folder = pathlib.Path(folder)
    try:
        latest = json.loads((folder / LATEST_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if latest.get("key") != key:
        aside = folder.with_name(f"{folder.name}.stale-{latest.get('key')}")
        count = 1
        while aside.exists():
            count += 1
            aside = folder.with_name(f"{folder.name}.stale-{latest.get('key')}-{count}")
        folder.rename(aside)
        logger.warning(
            f"{folder}: the checkpoint of step {latest.get('step')} is of another configuration (the hyperparameters, "
            f"seed, budget or evaluation changed), so this run starts afresh; it was moved to {aside} (delete it if "
            "you do not need it)"
        )
        return None
    with open(_files(folder, int(latest["step"]))[2], "rb") as file:
        state: RunState = pickle.load(file)
    return state


def restore_model(folder: str | pathlib.Path, state: RunState, spec: RunSpec, env: VecEnv) -> BaseAlgorithm:
    """
    Load a checkpoint's model and replay buffer onto ``env`` and put back the random states and the normalization
    statistics.

    :param folder: The checkpoint folder
    :param state: Its state (:func:`load_checkpoint`)
    :param spec: The run's specification
    :param env: The run's new training environment
    :return: The model, ready for ``learn(..., reset_num_timesteps=False)``
    """
    model_path, buffer_path, _ = _files(pathlib.Path(folder), state.step)
    model = resolve_algorithm(spec.algo).load(model_path, env=env, device=spec.device)
    assert isinstance(model, OffPolicyAlgorithm)
    model.load_replay_buffer(buffer_path)
    if isinstance(env, VecNormalize) and state.normalization is not None:
        env.obs_rms, env.ret_rms = state.normalization["obs_rms"], state.normalization["ret_rms"]
    random.setstate(state.rng["python"])
    np.random.set_state(state.rng["numpy"])
    th.set_rng_state(state.rng["torch"])
    return model


class ResumeCheckpoint(BaseCallback):
    """
    Write a checkpoint at the end of each rollout that held an evaluation, unless training is over (put it after the
    evaluation callback). A run that its evaluation stopped keeps the checkpoint before that evaluation.

    :param folder: The checkpoint folder
    :param key: :func:`run_key` of the run
    :param evaluation: The run's periodic evaluation
    :param diagnostics: The run's diagnostics, if recorded
    :param progress: The callback that writes SB3's log, if any
    :param resumed_from: Steps of the checkpoints the run was resumed from, in order (the last is the current one)
    """

    def __init__(
        self,
        folder: str | pathlib.Path,
        key: str,
        evaluation: PeriodicEvaluation,
        diagnostics: Diagnostics | None = None,
        progress: ProgressCSV | None = None,
        resumed_from: list[int] | None = None,
    ):
        super().__init__(verbose=0)
        self.folder = pathlib.Path(folder)
        self.key = key
        self.evaluation = evaluation
        self.diagnostics = diagnostics
        self.progress = progress
        self.resumed_from = [] if resumed_from is None else list(resumed_from)
        self._saved_step = self.resumed_from[-1] if self.resumed_from else 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        # At the end of the rollout that held an evaluation, its transitions are in the replay buffer
        rows = self.evaluation.rows
        if rows and self._saved_step < rows[-1][0] <= self.num_timesteps < self.model._total_timesteps:
            self.save()

    def save(self) -> None:
        """Write the checkpoint of the current step and remove the previous one."""
        assert isinstance(self.model, OffPolicyAlgorithm)
        step = self.num_timesteps
        diagnostics = self.diagnostics
        env = self.model.get_env()
        state = RunState(
            step=step,
            rows=list(self.evaluation.rows),
            value_rows=[] if diagnostics is None else list(diagnostics.value_rows),
            probe_steps=[] if diagnostics is None else list(diagnostics.probe_steps),
            probe_actions=[] if diagnostics is None else list(diagnostics.probe_actions),
            progress_rows=[] if self.progress is None else self.progress.rows(),
            resumed_from=self.resumed_from,
            rng={"python": random.getstate(), "numpy": np.random.get_state(), "torch": th.get_rng_state()},
            normalization={"obs_rms": env.obs_rms, "ret_rms": env.ret_rms} if isinstance(env, VecNormalize) else None,
        )
        model_path, buffer_path, state_path = _files(self.folder, step)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.model.save(model_path)
        self.model.save_replay_buffer(buffer_path)
        atomic_write(state_path, lambda file: pickle.dump(state, file))
        atomic_write(self.folder / LATEST_FILE, lambda file: json.dump({"step": step, "key": self.key}, file), mode="w")
        for path in self.folder.iterdir():
            if path.name != LATEST_FILE and path not in (model_path, buffer_path, state_path):
                path.unlink()
        self._saved_step = step
