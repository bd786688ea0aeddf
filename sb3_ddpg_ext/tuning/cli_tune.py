"""
``sb3-ddpg tune`` (run or resume a study) and ``sb3-ddpg best`` (export its best trial, plots and a CSV).

Several ``sb3-ddpg tune`` workers given the same ``--storage`` URL and study share one study; each stops when the study
holds its total trial budget.
"""

import argparse
import datetime
import pathlib
import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from sb3_ddpg_ext.benchmarking.suite import parse_suite
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.save import atomic_path, atomic_write
from sb3_ddpg_ext.experiment.config import build_run_spec
from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams
from sb3_ddpg_ext.experiment.plots import save_figure
from sb3_ddpg_ext.tuning.objective import ALGOS
from sb3_ddpg_ext.tuning.study import create_study, n_budgeted, open_storage, run_study
from sb3_ddpg_ext.tuning.study_file import StudyConfig, load_study_config


def _trial_line(study: optuna.Study, trial: FrozenTrial, n_trials: int, started: float) -> str:
    if trial.state == TrialState.COMPLETE:
        outcome = f"value {trial.value:.2f}"
    elif trial.state == TrialState.PRUNED:
        outcome = "budget surplus, not run" if trial.user_attrs.get("budget_surplus") else "pruned"
    else:
        outcome = f"failed: {trial.user_attrs.get('fail_reason', 'interrupted')}"[:160]
    try:
        best = f"best {study.best_value:.2f} (trial {study.best_trial.number})"
    except ValueError:
        best = "no completed trial yet"
    elapsed = datetime.timedelta(seconds=round(time.monotonic() - started))
    return f"[{n_budgeted(study, include_running=False)}/{n_trials}] trial {trial.number} {outcome} | {best} | {elapsed}"


def run_tune(args: argparse.Namespace) -> int:
    """
    Run (or resume) a study until it holds its total trial budget; print one line per finished trial.

    :param args: Parsed arguments of :func:`add_tune_arguments`
    :return: Exit status
    """
    import torch as th

    config = load_study_config(args.study)
    for key in ("n_trials", "seeds", "n_timesteps"):
        value = getattr(args, key, None)
        if value is not None:
            if value < 1:
                raise ConfigError(f"--{key.replace('_', '-')} must be >= 1, got {value}")
            setattr(config, key, value)
    if args.n_jobs < 1:
        raise ConfigError(f"--n-jobs must be >= 1, got {args.n_jobs}")
    if args.device is not None:  # checked before any trial, as the trials will use it
        merged = merge_hyperparams(config.hyperparams, {"device": args.device})
        build_run_spec(config.env_id, merged, ALGOS[config.algo], "--device")
    if args.torch_threads > 0:
        th.set_num_threads(args.torch_threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_study(config, args.storage, args.study_name, args.sampler, args.pruner, args.sampler_seed)
    started = time.monotonic()
    done = n_budgeted(study, include_running=False)
    print(
        f"study '{study.study_name}' ({config.env_id}, {config.algo}): {done}/{config.n_trials} trials done, "
        f"{config.seeds} seed(s) x {config.n_timesteps} steps per trial",
        flush=True,
    )
    callbacks = [] if args.quiet else [lambda s, t: print(_trial_line(s, t, config.n_trials, started), flush=True)]
    ran = run_study(study, config.make_objective(args.device), config.n_trials, args.n_jobs, callbacks)
    try:
        summary = f"best value {study.best_value:.2f} (trial {study.best_trial.number})"
    except ValueError:
        summary = "no completed trial"
    print(f"ran {ran} trial(s); study holds {n_budgeted(study, include_running=False)}/{config.n_trials}; {summary}")
    return 0


def best_hyperparams(study: optuna.Study) -> tuple[str, dict[str, Any], FrozenTrial]:
    """
    The best trial of a study as hyperparameters.

    :param study: A study made by ``sb3-ddpg tune``
    :return: Environment id, hyperparameters (``n_timesteps``, ``policy`` and the trial's), and the trial
    """
    try:
        trial = study.best_trial
    except ValueError as error:
        raise ConfigError(f"study '{study.study_name}' has no completed trial yet") from error
    config = study.user_attrs.get("config", {})
    hyperparams = {"n_timesteps": config.get("n_timesteps"), "policy": "MlpPolicy", **trial.user_attrs["hyperparams"]}
    return config.get("env_id", "env"), {key: value for key, value in hyperparams.items() if value is not None}, trial


def recheck_suite(study: optuna.Study, config: StudyConfig, top: int, n_seeds: int) -> dict[str, Any]:
    """
    A benchmark suite that re-runs a study's best trials on new seeds, with the study's budget and evaluation: the
    maximum of many noisy trial scores is biased upwards, and a re-check on seeds no trial used tells which of the
    leading configurations is better (``sb3-ddpg bench --suite`` runs it, resumably, with confidence intervals).

    :param study: A study made by ``sb3-ddpg tune`` from ``config``
    :param config: The study file's settings (budget, evaluation, the seeds its trials used)
    :param top: How many of the best completed trials to re-run (>= 1)
    :param n_seeds: Seeds per trial (>= 1), the ones after every seed a trial used
    :return: The suite as a YAML-ready mapping, checked by the suite parser
    """
    completed = [trial for trial in study.trials if trial.state == TrialState.COMPLETE]
    if not completed:
        raise ConfigError(f"study '{study.study_name}' has no completed trial yet")
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = sorted(completed, key=lambda trial: float(trial.value or 0.0), reverse=maximize)[:top]  # complete: has a value
    # after every seed a trial used (`tune --seeds K` may have overridden the file's count)
    used = max([config.seeds, *(len(trial.user_attrs.get("seed_scores", ())) for trial in study.trials)])
    first_seed = config.base_seed + used
    data = {
        "name": f"{config.name}_recheck",
        "reference": f"trial_{best[0].number}",
        "algos": {
            f"trial_{trial.number}": {"algo": ALGOS[config.algo], "hyperparams": trial.user_attrs["hyperparams"]}
            for trial in best
        },
        "envs": {
            config.env_id: {
                "n_timesteps": config.n_timesteps,
                "eval_freq": config.eval_freq,
                "n_eval_episodes": config.n_eval_episodes,
            }
        },
        "seeds": list(range(first_seed, first_seed + n_seeds)),
    }
    parse_suite(data, "--recheck-suite")
    return data


def _save_plot(plot: Any, path: pathlib.Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    figure = np.asarray(plot).flat[0].figure
    figure.set_size_inches(max(figure.get_size_inches()[0], 8), max(figure.get_size_inches()[1], 5))
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)


def write_plots(study: optuna.Study, folder: str | pathlib.Path) -> list[pathlib.Path]:
    """
    Write Optuna's plots as PNG (optimization history, parameter importances, parallel coordinates, slices).
    A plot Optuna cannot make yet (importances need two completed trials) is skipped with a message.

    :param study: The study
    :param folder: Destination folder
    :return: The files written
    """
    import warnings

    from optuna.visualization import matplotlib as vis

    folder = pathlib.Path(folder)
    written = []
    plots: dict[str, Callable[[optuna.Study], Any]] = {
        "optimization_history": vis.plot_optimization_history,
        "param_importances": vis.plot_param_importances,
        "parallel_coordinate": vis.plot_parallel_coordinate,
        "slice": vis.plot_slice,
    }
    for name, plot in plots.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna marks its matplotlib backend experimental
                _save_plot(plot(study), folder / f"{name}.png")
            written.append(folder / f"{name}.png")
        except (ValueError, RuntimeError, ZeroDivisionError) as error:
            print(f"skipped {name}.png: {error}", file=sys.stderr)
    return written


def run_best(args: argparse.Namespace) -> int:
    """
    Write a study's best trial as a hyperparameter YAML (keyed by env id) that ``sb3-ddpg train --hyperparams``
    reads, and optionally Optuna's plots (PNG) and the trials (CSV).

    :param args: Parsed arguments of :func:`add_best_arguments`
    :return: Exit status
    """
    storage, name = args.storage, args.study_name
    config = None
    if args.study:
        config = load_study_config(args.study)
        storage, name = storage or config.storage or config.default_storage(), name or config.name
    if not storage or not name:
        raise ConfigError("give --storage and --study-name, or --study with a study file")
    if args.recheck_suite and config is None:
        raise ConfigError("--recheck-suite needs --study: the study file gives the budget, evaluation and seeds")
    if args.top < 1 or args.recheck_seeds < 1:
        raise ConfigError(f"--top and --recheck-seeds must be >= 1, got {args.top} and {args.recheck_seeds}")
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(storage, must_exist=True))
    except KeyError as error:
        raise ConfigError(f"no study named '{name}' in storage {storage!r}") from error
    env_id, hyperparams, trial = best_hyperparams(study)
    command = f"#   sb3-ddpg best {shlex.join(sys.argv[2:]) if sys.argv[1:2] == ['best'] else ''}\n"
    header = (
        f"# Best trial {trial.number} of study '{name}' (value {trial.value:.2f}, "
        f"{len(study.trials)} trials), written {datetime.date.today().isoformat()} by:\n{command}"
        f"# Train with: sb3-ddpg train --env {env_id} --hyperparams {args.out}\n"
    )
    text = header + yaml.safe_dump({env_id: hyperparams}, sort_keys=False, default_flow_style=None)
    atomic_write(args.out, lambda file: file.write(text), mode="w")
    print(f"wrote {args.out}: trial {trial.number}, value {trial.value:.2f}")
    csv = args.csv or (str(pathlib.Path(args.plots_dir) / "trials.csv") if args.plots_dir else None)
    if csv:
        frame = study.trials_dataframe()
        with atomic_path(csv) as tmp:
            frame.to_csv(tmp, index=False)
        print(f"wrote {csv}: {len(frame)} trials")
    if args.plots_dir:
        for path in write_plots(study, args.plots_dir):
            print(f"wrote {path}")
    if args.recheck_suite and config is not None:
        suite = recheck_suite(study, config, args.top, args.recheck_seeds)
        text = (
            f"# The {len(suite['algos'])} best trials of study '{name}' on seeds no trial used, with the study's budget"
            f" and evaluation, written {datetime.date.today().isoformat()} by:\n{command}"
            f"# Run: sb3-ddpg bench --suite {args.recheck_suite} --jobs 2\n"
            "# Then validate the winner on yet other seeds: choosing it on these seeds biases these seeds' scores.\n"
        )
        text += yaml.safe_dump(suite, sort_keys=False, default_flow_style=None)
        atomic_write(args.recheck_suite, lambda file: file.write(text), mode="w")
        print(f"wrote {args.recheck_suite}: trials {', '.join(suite['algos'])}, seeds {suite['seeds']}")
    return 0
