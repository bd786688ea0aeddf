"""
The one run function of ``train``, tuning trials and benchmark runs: environments, wrappers, seeds, the algorithm,
the periodic evaluation (:mod:`sb3_ddpg_ext.experiment.evaluation`) and, when asked, a run folder.

A run folder holds ``config.yml`` (written before training; it works as ``--hyperparams``), ``evaluations.csv``,
``model.zip``, ``best/best_model.zip``, ``monitor/`` CSVs, ``tb/`` (tensorboard, unless the hyperparameters say
otherwise), ``vecnormalize.pkl`` when observations are normalized, ``summary.json`` and, when asked,
``diagnostics/`` (:mod:`sb3_ddpg_ext.diagnostics.recorder`). A run given a checkpoint folder resumes from it
(:mod:`sb3_ddpg_ext.experiment.checkpoint`); a resumed run's monitor CSVs go on after the earlier attempt's episodes.

Ctrl-C or SIGTERM while a run trains (:mod:`sb3_ddpg_ext.experiment.interrupt`) writes what the run has, as if it had
finished there (in a run folder: ``model.zip``, ``vecnormalize.pkl``, ``summary.json`` with ``"interrupted": true``;
the learning curve and the checkpoint are already on disk), then raises
:class:`~sb3_ddpg_ext.experiment.interrupt.RunInterrupted`, whose message says where.
"""

import dataclasses
import functools
import json
import pathlib
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.save import atomic_path, atomic_write
from sb3_ddpg_ext.diagnostics.probes import draw_probe_states
from sb3_ddpg_ext.diagnostics.recorder import N_PROBE_STATES, PROBE_SEED_OFFSET, PROGRESS_FILE, Diagnostics, ProgressCSV
from sb3_ddpg_ext.experiment.checkpoint import ResumeCheckpoint, checkpoint_step, load_checkpoint, restore_model, run_key
from sb3_ddpg_ext.experiment.config import RunSpec, resolve_algorithm, wrap_env
from sb3_ddpg_ext.experiment.evaluation import EVAL_SEED_OFFSET, OnEvaluation, PeriodicEvaluation
from sb3_ddpg_ext.experiment.interrupt import RunInterrupted, sigterm_as_interrupt

DEFAULT_TIMESTEPS = 20_000


@dataclass
class RunResult:
    """
    What a run produced.

    :param spec: The run's specification
    :param model: The trained model
    :param rows: Evaluation rows ``(step, mean_return, std_return, wall_time)``, the last one the final evaluation
    :param wall_time_s: Training time in seconds
    :param stopped: Whether ``on_evaluation`` stopped training early
    :param run_dir: The run folder, if one was written
    :param resumed_from: Steps of the checkpoints the run was resumed from, in order
    :param interrupted: Whether Ctrl-C or SIGTERM stopped training (the model is the one of that moment)
    """

    spec: RunSpec
    model: BaseAlgorithm
    rows: list[tuple[int, float, float, float]] = field(default_factory=list)
    wall_time_s: float = 0.0
    stopped: bool = False
    run_dir: pathlib.Path | None = None
    resumed_from: list[int] = field(default_factory=list)
    interrupted: bool = False

    @property
    def final_return(self) -> tuple[float, float]:
        """Mean and standard deviation of the returns of the last evaluation."""
        return self.rows[-1][1], self.rows[-1][2]


def _make_wrapped(env_id: str, wrappers: list[tuple[type[gym.Wrapper], dict[str, Any]]], source: str) -> gym.Env:
    """``gym.make(env_id)`` inside a run's ``env_wrapper`` (see ``make_env``)."""
    return wrap_env(gym.make(env_id, render_mode="rgb_array"), wrappers, source)


def make_env(
    spec: RunSpec, n_envs: int, seed: int, monitor_dir: pathlib.Path | None = None, append_monitor: bool = False
) -> VecEnv:
    """
    The vectorized environment of a run, with SB3's ``Monitor`` and, when the spec says so, its ``env_wrapper``
    and ``VecNormalize``.

    The wrappers go inside the ``Monitor`` (RL Zoo puts them outside): the monitor CSVs and every evaluation record the
    episodes the agent is trained on, and a wrapper that ends episodes (``TimeLimit``) ends them for the evaluation
    too, where outside the ``Monitor`` SB3's ``evaluate_policy`` would wait for an episode end the ``Monitor`` never
    reports.

    :param spec: The run's specification
    :param n_envs: Number of environments
    :param seed: Seed of the first environment (SB3 seeds the others with ``seed + i``)
    :param monitor_dir: Folder of the monitor CSVs; None: not written
    :param append_monitor: Add the episodes to the monitor CSVs there (a resumed run's) instead of replacing them
    :return: The environment
    """
    env_id: Any = spec.env_id
    if spec.env_wrapper:
        env_id = functools.partial(_make_wrapped, spec.env_id, spec.env_wrapper, spec.source)
    env = make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        monitor_dir=None if monitor_dir is None else str(monitor_dir),
        monitor_kwargs={"override_existing": not append_monitor},
    )
    if spec.normalize:
        env = VecNormalize(env, **(spec.normalize if isinstance(spec.normalize, dict) else {}))
    return env


def make_model(spec: RunSpec, env: VecEnv | str) -> BaseAlgorithm:
    """
    Construct the algorithm of a run; the algorithm's own checks of its arguments become one-line errors.

    :param spec: The run's specification
    :param env: Its training environment (or an env id, to check the arguments)
    :return: The model
    """
    algo_class = resolve_algorithm(spec.algo)
    try:
        return algo_class(
            spec.policy,
            env,
            seed=spec.seed,
            device=spec.device,
            verbose=spec.verbose,
            tensorboard_log=spec.tensorboard_log,
            **spec.algo_kwargs,
        )
    except (ValueError, AssertionError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{spec.source}: {spec.algo} on {spec.env_id}: {message}") from error


def check_spec(spec: RunSpec) -> None:
    """
    Construct the run's model once on the CPU and discard it, so that the algorithm's own checks of its arguments fail
    as one line before any folder is written or any training starts.

    :param spec: The run's specification
    """
    env = make_env(spec, 1, spec.seed)
    try:
        make_model(dataclasses.replace(spec, device="cpu", tensorboard_log=None), env)
    finally:
        env.close()


def write_config(run_dir: pathlib.Path, spec: RunSpec, eval_freq: int, n_eval_episodes: int) -> pathlib.Path:
    """
    Write ``config.yml``: the hyperparameters with the run's settings, keyed by env id (usable as ``--hyperparams``).

    :param run_dir: The run folder
    :param spec: The run's specification
    :param eval_freq: Evaluation period
    :param n_eval_episodes: Episodes per evaluation
    :return: The file
    """
    import sb3_ddpg_ext

    settings = {"seed": spec.seed, "n_timesteps": spec.n_timesteps, "n_envs": spec.n_envs}
    header = (
        f"# {spec.algo} on {spec.env_id}, sb3_ddpg_ext {sb3_ddpg_ext.__version__}; evaluated every {eval_freq} steps over "
        f"{n_eval_episodes} episodes.\n"
        f"# Train again with: sb3-ddpg train --env {spec.env_id} --hyperparams {run_dir}/config.yml\n"
    )
    content = {spec.env_id: {**spec.hyperparams, **settings}}
    path = run_dir / "config.yml"
    atomic_write(path, lambda file: file.write(header + yaml.safe_dump(content, sort_keys=False)), mode="w")
    return path


def resume_step(spec: RunSpec, eval_freq: int, n_eval_episodes: int, checkpoint_dir: str | pathlib.Path | None) -> int | None:
    """
    The step that :func:`run_experiment` with these arguments would resume from.

    :param spec: The run's specification
    :param eval_freq: Evaluation period
    :param n_eval_episodes: Episodes per evaluation
    :param checkpoint_dir: The run's checkpoint folder, if any
    :return: The step of the checkpoint there if it is one of this run, else None
    """
    if checkpoint_dir is None:
        return None
    budget = dataclasses.replace(spec, n_timesteps=DEFAULT_TIMESTEPS if spec.n_timesteps is None else spec.n_timesteps)
    return checkpoint_step(checkpoint_dir, run_key(budget, eval_freq, n_eval_episodes))


def run_experiment(
    spec: RunSpec,
    eval_freq: int,
    n_eval_episodes: int,
    csv_path: str | pathlib.Path | None = None,
    run_dir: str | pathlib.Path | None = None,
    progress_bar: bool = False,
    on_evaluation: OnEvaluation | None = None,
    diagnostics_dir: str | pathlib.Path | None = None,
    checkpoint_dir: str | pathlib.Path | None = None,
    on_complete: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """
    Train ``spec`` for ``spec.n_timesteps`` steps (default 20,000) with the periodic evaluation.

    :param spec: What to run (from :func:`~sb3_ddpg_ext.experiment.config.build_run_spec`)
    :param eval_freq: Evaluate every ``eval_freq`` environment steps
    :param n_eval_episodes: Episodes per evaluation
    :param csv_path: Learning-curve CSV; default ``run_dir/evaluations.csv`` with a run folder, else none
    :param run_dir: Run folder to write (model, best model, monitor CSVs, config, summary); None writes none
    :param progress_bar: Show SB3's progress bar
    :param on_evaluation: Called after each evaluation with the step and returns; False stops training
    :param diagnostics_dir: Record the diagnostics (:mod:`sb3_ddpg_ext.diagnostics`) in this folder: the value estimate
        against the true return and the policy on probe states at each evaluation, SB3's log as ``progress.csv``
        with this DDPG's update statistics; None: not recorded
    :param checkpoint_dir: Write a checkpoint here after each evaluation, resume from the one there if it matches this
        run (one of another configuration is moved aside), and remove the folder when the run completes, after its
        outputs are written (:mod:`sb3_ddpg_ext.experiment.checkpoint`); None: none
    :param on_complete: Called with the result when training ends, after the run folder's outputs are written and
        before the checkpoint is removed (a benchmark run's completion marker); None: nothing
    :return: The result, with the model
    :raises ~sb3_ddpg_ext.experiment.interrupt.RunInterrupted: On Ctrl-C or SIGTERM while training, after the run
        folder's outputs are written
    """
    if spec.n_timesteps is None:
        spec.n_timesteps = DEFAULT_TIMESTEPS
    folder = None if run_dir is None else pathlib.Path(run_dir)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        write_config(folder, spec, eval_freq, n_eval_episodes)
        csv_path = folder / "evaluations.csv" if csv_path is None else csv_path
    key = run_key(spec, eval_freq, n_eval_episodes)
    state = None if checkpoint_dir is None else load_checkpoint(checkpoint_dir, key)
    first_seed = spec.seed if state is None else spec.seed + state.step  # a resumed run's episodes are new ones
    monitor = None if folder is None else folder / "monitor"
    append = state is not None and monitor is not None and any(monitor.glob("*.monitor.csv"))
    env = make_env(spec, spec.n_envs, first_seed, monitor, append_monitor=append)
    eval_env = make_env(spec, 1, spec.seed + EVAL_SEED_OFFSET)
    if isinstance(eval_env, VecNormalize):
        eval_env.training, eval_env.norm_reward = False, False
    try:
        if state is None or checkpoint_dir is None:
            model = make_model(spec, env)
        else:
            model = restore_model(checkpoint_dir, state, spec, env)
        diagnostics = None
        if diagnostics_dir is not None:
            if hasattr(model, "update_stats"):
                model.update_stats = True
            wrap = functools.partial(wrap_env, wrappers=spec.env_wrapper, source=spec.source)
            probes = draw_probe_states(spec.env_id, N_PROBE_STATES, spec.seed + PROBE_SEED_OFFSET, wrap=wrap)
            diagnostics = Diagnostics(probes, diagnostics_dir)
            if state is not None:
                diagnostics.restore(state.value_rows, state.probe_steps, state.probe_actions)
        evaluation = PeriodicEvaluation(
            eval_env,
            spec.seed + EVAL_SEED_OFFSET,
            eval_freq,
            n_eval_episodes,
            csv_path=csv_path,
            best_model_path=None if folder is None else folder / "best" / "best_model.zip",
            on_evaluation=on_evaluation,
            diagnostics=diagnostics,
        )
        callbacks: list[Any] = [evaluation]
        progress = None
        if diagnostics_dir is not None:
            head = None if state is None else state.progress_rows
            progress = ProgressCSV(pathlib.Path(diagnostics_dir) / PROGRESS_FILE, head)
            callbacks.append(progress)
        resumed_from = [] if state is None else [*state.resumed_from, state.step]
        if state is not None:
            evaluation.restore(state.rows)
        if checkpoint_dir is not None:
            callbacks.append(ResumeCheckpoint(checkpoint_dir, key, evaluation, diagnostics, progress, resumed_from))
        earlier = 0.0 if state is None else state.rows[-1][3]
        start = time.perf_counter()
        try:
            with sigterm_as_interrupt():
                model.learn(
                    spec.n_timesteps - model.num_timesteps,
                    callback=callbacks,
                    progress_bar=progress_bar,
                    reset_num_timesteps=state is None,
                )
        except KeyboardInterrupt as error:
            wall_time = earlier + time.perf_counter() - start
            result = RunResult(spec, model, evaluation.rows, wall_time, evaluation.stopped, folder, resumed_from, True)
            raise _interrupted(error, result, env, checkpoint_dir) from error
        wall_time = earlier + time.perf_counter() - start
        result = RunResult(spec, model, evaluation.rows, wall_time, evaluation.stopped, folder, resumed_from)
        if folder is not None:
            _write_outputs(folder, result, env)
        if on_complete is not None:
            on_complete(result)
        if checkpoint_dir is not None and not evaluation.stopped:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
    finally:
        env.close()
        eval_env.close()
    return result


def _interrupted(
    error: KeyboardInterrupt, result: RunResult, env: VecEnv, checkpoint_dir: str | pathlib.Path | None
) -> RunInterrupted:
    """Write what an interrupted run has into its run folder, and say what and where in the exception to raise."""
    signal_number = getattr(error, "signal_number", signal.SIGINT)
    message = f"interrupted by {signal.Signals(signal_number).name} at step {result.model.num_timesteps}"
    if result.run_dir is not None:
        _write_outputs(result.run_dir, result, env)
        message += f"; model saved to {result.run_dir / 'model.zip'} (summary.json and evaluations.csv beside it)"
    step = None if checkpoint_dir is None else checkpoint_step(checkpoint_dir)
    if step is not None:
        message += f"; run it again to resume from its checkpoint of step {step} in {checkpoint_dir}"
    return RunInterrupted(message, signal_number)


def _write_outputs(folder: pathlib.Path, result: RunResult, env: VecEnv) -> None:
    """The model, the normalization statistics and ``summary.json`` of a finished (or interrupted) run."""
    with atomic_path(folder / "model.zip") as tmp:
        result.model.save(tmp)
    if isinstance(env, VecNormalize):
        with atomic_path(folder / "vecnormalize.pkl") as tmp:
            env.save(str(tmp))
    last = result.rows[-1] if result.rows else (None, None, None, None)
    summary: dict[str, Any] = {
        "env": result.spec.env_id,
        "algo": result.spec.algo,
        "seed": result.spec.seed,
        "n_timesteps": int(result.model.num_timesteps),
        "wall_time_s": round(result.wall_time_s, 1),
        "final_mean_return": last[1],
        "final_std_return": last[2],
        "last_evaluation_step": last[0],
        "stopped_early": result.stopped,
        "interrupted": result.interrupted,
        "resumed_from": result.resumed_from,
    }
    if hasattr(result.model, "update_backend"):  # this DDPG: autograd, or the fast mode's update and its products
        summary["update_backend"] = result.model.update_backend
    atomic_write(folder / "summary.json", lambda file: json.dump(summary, file, indent=2), mode="w")
