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

from sb3_ddpg_ext.benchmarking.runner import parse_shard
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.save import atomic_path, atomic_write
from sb3_ddpg_ext.experiment.config import build_run_spec
from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams
from sb3_ddpg_ext.experiment.plots import save_figure
from sb3_ddpg_ext.tuning.objective import ALGOS
from sb3_ddpg_ext.tuning.study import create_study, n_budgeted, open_storage, run_study
from sb3_ddpg_ext.tuning.study_file import load_study_config
from sb3_ddpg_ext.tuning.validation import validate, validation_page, validation_table


def _trial_line(study: optuna.Study, trial: FrozenTrial, n_trials: int, started: float) -> str:
    if trial.state == TrialState.COMPLETE:
        outcome = f"value {trial.value:.2f}"
    elif trial.user_attrs.get("budget_surplus"):
        outcome = "budget surplus, not run"
    elif trial.state == TrialState.PRUNED and trial.user_attrs.get("pruned_after_seeds"):
        scores = trial.user_attrs.get("seed_scores", [])
        outcome = f"pruned after {len(scores)} seed(s), scores {', '.join(f'{score:.2f}' for score in scores)}"
    elif trial.state == TrialState.PRUNED:
        outcome = "pruned"
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
    if args.pruner is not None and args.pruner != config.pruner:
        config.pruner, config.pruner_kwargs = args.pruner, {}
        if config.pruner == "wilcoxon" and config.seeds < 3:
            raise ConfigError(f"--pruner wilcoxon needs >= 3 seeds per trial; the study runs {config.seeds} (give --seeds)")
    if args.n_jobs < 1:
        raise ConfigError(f"--n-jobs must be >= 1, got {args.n_jobs}")
    if args.device is not None:  # checked before any trial, as the trials will use it
        merged = merge_hyperparams(config.hyperparams, {"device": args.device})
        build_run_spec(config.env_id, merged, ALGOS[config.algo], "--device")
    if args.torch_threads > 0:
        th.set_num_threads(args.torch_threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_study(config, args.storage, args.study_name, args.sampler, None, args.sampler_seed)
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
    storage = f" --storage {args.storage}" if args.storage else ""
    print(f"next: sb3-ddpg best --study {args.study}{storage} --out best.yml --validate 5  (the 5 best on fresh seeds)")
    return 0


def best_hyperparams(study: optuna.Study, trial: FrozenTrial | None = None) -> tuple[str, dict[str, Any], FrozenTrial]:
    """
    The best trial of a study (or another of its trials) as hyperparameters.

    :param study: A study made by ``sb3-ddpg tune``
    :param trial: One of its trials; None: the best
    :return: Environment id, hyperparameters (``n_timesteps``, ``policy`` and the trial's), and the trial
    """
    if trial is None:
        try:
            trial = study.best_trial
        except ValueError as error:
            raise ConfigError(f"study '{study.study_name}' has no completed trial yet") from error
    config = study.user_attrs.get("config", {})
    hyperparams = {"n_timesteps": config.get("n_timesteps"), "policy": "MlpPolicy", **trial.user_attrs["hyperparams"]}
    return config.get("env_id", "env"), {key: value for key, value in hyperparams.items() if value is not None}, trial


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
    reads, and optionally Optuna's plots (PNG) and the trials (CSV). With ``--validate K``, first re-run the K best
    trials on seeds no trial used (:mod:`sb3_ddpg_ext.tuning.validation`) and write the one with the best validation
    score, with both scores in its header and in ``VALIDATION.md``.

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
    if args.validate is not None and config is None:
        raise ConfigError("--validate needs --study: the study file gives the budget, evaluation, score and seeds")
    if (args.validate is not None and args.validate < 1) or args.validation_seeds < 1 or args.jobs < 1:
        raise ConfigError(
            f"--validate, --validation-seeds and --jobs must be >= 1, got {args.validate}, {args.validation_seeds} "
            f"and {args.jobs}"
        )
    shard = parse_shard(args.shard)
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(storage, must_exist=True))
    except KeyError as error:
        raise ConfigError(f"no study named '{name}' in storage {storage!r}") from error
    env_id, hyperparams, trial = best_hyperparams(study)
    command = f"sb3-ddpg best {shlex.join(sys.argv[2:]) if sys.argv[1:2] == ['best'] else ''}".strip()
    chosen = f"Best trial {trial.number} of study '{name}' (value {trial.value:.2f}, {len(study.trials)} trials)"
    if args.validate is not None and config is not None:
        results = args.results or str(pathlib.Path(args.out).parent)
        validation = validate(study, config, args.validate, args.validation_seeds, results, args.jobs, shard)
        print(validation_table(validation))
        winner = validation.winner
        if winner is None or winner.estimate is None:
            runs = sum(len(entry.scores) for entry in validation.trials)
            total = len(validation.trials) * len(validation.suite.seeds)
            print(f"validation: {runs}/{total} runs complete; run the other shards (or this command again) to finish")
            return 0
        page = pathlib.Path(results) / validation.suite.name / "VALIDATION.md"
        atomic_write(page, lambda file: file.write(validation_page(validation, config, command)), mode="w")
        print(f"wrote {page}")
        env_id, hyperparams, trial = best_hyperparams(study, winner.trial)
        chosen = (
            f"Trial {trial.number} of study '{name}' ({len(study.trials)} trials), chosen among its {len(validation.trials)} "
            f"best by validation: mean {winner.estimate} over seeds {list(validation.suite.seeds)}, which no trial used;"
            f"\n# its tuning score {trial.value:.2f} over seeds {validation.tuning_seeds[: len(winner.tuning_scores)]}"
        )
    header = (
        f"# {chosen}.\n# Written {datetime.date.today().isoformat()} by:\n#   {command}\n"
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
    return 0
