"""
What a run's periodic evaluation records about the critic and the actor, and the files it keeps them in.

A run folder's ``diagnostics/`` holds ``value.csv`` (one row per evaluation: :data:`VALUE_COLUMNS`, see
:mod:`sb3_ddpg_ext.diagnostics.value`) and ``probes.npz`` (``states``: the raw probe observations; ``steps``: one
per evaluation; ``actions``: the deterministic actions on the probe states at each evaluation, shape
``(evaluations, states, action_dim)``). Both are replaced atomically after each evaluation. The update statistics
(Q, targets, TD error, saturation) go through SB3's logger; :class:`ProgressCSV` adds its CSV output,
``progress.csv``, beside them.
"""

import csv
import pathlib
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import CSVOutputFormat
from stable_baselines3.common.vec_env import VecEnv

from sb3_ddpg_ext.common.save import atomic_write
from sb3_ddpg_ext.diagnostics.probes import probe_actions
from sb3_ddpg_ext.diagnostics.value import TAIL_WEIGHT, EpisodeRecorder, reward_scale_of, value_bias

VALUE_COLUMNS = ("step", "estimate", "true_value", "bias", "relative_bias", "n_states")
VALUE_FILE = "value.csv"
PROBES_FILE = "probes.npz"
PROGRESS_FILE = "progress.csv"
PROBE_SEED_OFFSET = 20_000
N_PROBE_STATES = 32


class Diagnostics:
    """
    Records, at each evaluation, the critic's estimate against the true return and the policy on probe states.

    :param probe_states: Raw probe observations (see :func:`~sb3_ddpg_ext.diagnostics.probes.draw_probe_states`);
        None: no probe states
    :param out_dir: Folder of ``value.csv`` and ``probes.npz``; None: kept in memory only
    :param tail_weight: See :func:`~sb3_ddpg_ext.diagnostics.value.usable_steps`
    """

    def __init__(
        self, probe_states: np.ndarray | None, out_dir: str | pathlib.Path | None = None, tail_weight: float = TAIL_WEIGHT
    ):
        self.probe_states = probe_states
        self.out_dir = None if out_dir is None else pathlib.Path(out_dir)
        self.tail_weight = tail_weight
        self.value_rows: list[tuple[Any, ...]] = []
        self.probe_steps: list[int] = []
        self.probe_actions: list[np.ndarray] = []
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)

    def restore(self, value_rows: list[tuple[Any, ...]], probe_steps: list[int], probe_actions: list[np.ndarray]) -> None:
        """
        Continue the records of a resumed run (:mod:`sb3_ddpg_ext.experiment.checkpoint`) and rewrite the files.

        :param value_rows: The value rows so far
        :param probe_steps: The probe steps so far
        :param probe_actions: The probe actions so far
        """
        self.value_rows, self.probe_steps, self.probe_actions = list(value_rows), list(probe_steps), list(probe_actions)
        if self.out_dir is not None and self.value_rows:
            self._write()

    def episode_recorder(self, training_env: VecEnv | None) -> EpisodeRecorder:
        """A fresh recorder for one evaluation's episodes (``evaluate_policy``'s callback)."""
        return EpisodeRecorder(reward_scale_of(training_env))

    def record(self, step: int, model: BaseAlgorithm, recorder: EpisodeRecorder, training_env: VecEnv | None) -> None:
        """
        Measure one evaluation and rewrite the files.

        :param step: Environment steps so far
        :param model: The evaluated model
        :param recorder: The recorder that saw the evaluation's episodes
        :param training_env: The training environment (its ``VecNormalize`` statistics normalize the probe states)
        """
        bias = value_bias(model, recorder.episodes, self.tail_weight)
        self.value_rows.append((step, bias.estimate, bias.true_value, bias.bias, bias.relative_bias, bias.n_states))
        if self.probe_states is not None:
            self.probe_steps.append(step)
            self.probe_actions.append(probe_actions(model, self.probe_states, training_env))
        if self.out_dir is not None:
            self._write()

    def _write(self) -> None:
        assert self.out_dir is not None

        def write_values(file: Any) -> None:
            writer = csv.writer(file)
            writer.writerow(VALUE_COLUMNS)
            writer.writerows(self.value_rows)

        atomic_write(self.out_dir / VALUE_FILE, write_values, mode="w")
        if self.probe_states is not None:
            states, steps, actions = self.probe_states, np.asarray(self.probe_steps), np.stack(self.probe_actions)
            atomic_write(self.out_dir / PROBES_FILE, lambda file: np.savez(file, states=states, steps=steps, actions=actions))


def read_value_curve(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """
    Read ``value.csv``.

    :param path: The file, or the run folder's ``diagnostics/`` folder
    :return: Column name -> values
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / VALUE_FILE
    data = np.genfromtxt(path, delimiter=",", skip_header=1, ndmin=2)
    return {name: data[:, index] for index, name in enumerate(VALUE_COLUMNS)}


def read_probes(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """
    Read ``probes.npz``.

    :param path: The file, or the run folder's ``diagnostics/`` folder
    :return: ``states``, ``steps``, ``actions``
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / PROBES_FILE
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


class ProgressCSV(BaseCallback):
    """
    Add a CSV output (SB3's ``CSVOutputFormat``) to the logger that ``learn()`` configured, so that everything SB3
    logs (losses, update statistics, noise scale, episode returns) lands in ``path`` whatever ``verbose`` and
    ``tensorboard_log`` say.

    :param path: The CSV file
    :param head: Rows logged before a resumed run's checkpoint; they are written into the file when training starts,
        before this attempt's rows, so that the file keeps them whatever becomes of this attempt
    """

    def __init__(self, path: str | pathlib.Path, head: list[dict[str, str]] | None = None):
        super().__init__(verbose=0)
        self.path = pathlib.Path(path)
        self.head = [] if head is None else list(head)
        self._output: CSVOutputFormat | None = None
        self._started = False

    def rows(self) -> list[dict[str, str]]:
        """The rows logged so far, a resumed run's earlier rows first."""
        if not self._started:
            return list(self.head)
        with open(self.path, newline="") as file:
            return list(csv.DictReader(file))

    def _on_training_start(self) -> None:
        if self._output is None:
            earlier = self.rows()  # a resumed run's, or those of an earlier learn() with this callback
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._output = CSVOutputFormat(str(self.path))  # opened with "w+"
            if earlier:
                columns = list(dict.fromkeys(key for row in earlier for key in row))
                writer = csv.DictWriter(self._output.file, fieldnames=columns, lineterminator="\n")
                writer.writeheader()
                writer.writerows(earlier)
                self._output.file.flush()
                # SB3's writer appends its rows under these columns, and rewrites the rows above when a new key comes
                self._output.keys = columns
            self._started = True
            self.model.logger.output_formats.append(self._output)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self._output is not None:
            self.model.logger.dump(self.num_timesteps)  # what was recorded since the last dump
            self.model.logger.output_formats.remove(self._output)
            self._output.close()
            self._output = None


def read_progress(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """
    Read SB3's ``progress.csv`` (columns appear as keys are first logged; missing values are NaN).

    :param path: The file, or the run folder's ``diagnostics/`` folder
    :return: Column name -> values
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / PROGRESS_FILE
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    keys = sorted({key for row in rows for key in row})
    return {key: np.array([float(row[key]) if row.get(key) not in (None, "") else np.nan for row in rows]) for key in keys}
