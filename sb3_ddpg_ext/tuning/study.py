"""
Optuna studies built from study files (:mod:`sb3_ddpg_ext.tuning.study_file`), with Optuna's own samplers, pruners
and storages. The default storage is a SQLite file beside the study file; any Optuna storage URL (PostgreSQL, MySQL) lets
several workers on several machines share one study (Optuna's distributed mode). Re-running a study resumes it.

The trial budget (``n_trials``) is the study's total over all workers and runs: finished trials (complete, pruned, or
failed with a ``fail_reason``) count, and a worker starts no trial when finished plus running trials reach it. A failed
trial without a ``fail_reason`` (interrupted by Ctrl-C, or whose worker was killed and missed its heartbeats) does not
count, so resuming runs its replacement.
"""

import pathlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.tuning.study_file import StudyConfig

# Heartbeats let Optuna fail the trials of a killed worker (after grace_period seconds) so they can be replaced.
HEARTBEAT_INTERVAL = 20
GRACE_PERIOD = 60


def make_sampler(name: str, seed: int | None = None, kwargs: Mapping[str, Any] | None = None) -> optuna.samplers.BaseSampler:
    """
    Build one of Optuna's samplers.

    :param name: ``tpe``, ``random``, ``cmaes``, ``gp`` or ``qmc``
    :param seed: Its seed
    :param kwargs: Extra arguments of its class
    :return: The sampler
    """
    classes: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
        "tpe": optuna.samplers.TPESampler,
        "random": optuna.samplers.RandomSampler,
        "cmaes": optuna.samplers.CmaEsSampler,
        "gp": optuna.samplers.GPSampler,
        "qmc": optuna.samplers.QMCSampler,
    }
    if name not in classes:
        raise ConfigError(f"unknown sampler {name!r}; allowed: {list(classes)}")
    try:
        return classes[name](seed=seed, **dict(kwargs or {}))
    except TypeError as error:
        raise ConfigError(f"sampler_kwargs for sampler {name!r}: {error}") from error
    except ImportError as error:
        raise ConfigError(f"sampler {name!r} needs a package that is not installed: {error}") from error


# Optuna's default p_threshold (0.1) cannot stop a trial before its 4th seed: the one-sided Wilcoxon signed-rank
# p-value of n paired seeds, all worse than the best trial's, is 1 / 2**n (0.25, 0.125, 0.0625). 0.3 stops a trial
# whose first two seeds both score below the best trial's same two seeds.
WILCOXON_DEFAULTS: dict[str, Any] = {"p_threshold": 0.3, "n_startup_steps": 2}


def make_pruner(name: str, kwargs: Mapping[str, Any] | None = None) -> optuna.pruners.BasePruner:
    """
    Build one of Optuna's pruners.

    :param name: ``wilcoxon`` (seeds as instances: a trial stops when its seeds score significantly below the best
        trial's same seeds; defaults :data:`WILCOXON_DEFAULTS`), ``median``, ``halving`` (successive halving),
        ``hyperband`` (these three compare evaluations within a seed) or ``none``
    :param kwargs: Extra arguments of its class
    :return: The pruner
    """
    if name == "wilcoxon":
        kwargs = {**WILCOXON_DEFAULTS, **dict(kwargs or {})}
    classes: dict[str, Callable[..., optuna.pruners.BasePruner]] = {
        "wilcoxon": optuna.pruners.WilcoxonPruner,
        "median": optuna.pruners.MedianPruner,
        "halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "none": optuna.pruners.NopPruner,
    }
    if name not in classes:
        raise ConfigError(f"unknown pruner {name!r}; allowed: {list(classes)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # WilcoxonPruner is "experimental"
            return classes[name](**dict(kwargs or {}))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"pruner_kwargs for pruner {name!r}: {error}") from error


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _with_installed_postgres_driver(url: str) -> str:
    """SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3; use psycopg2 (this package's extra) when only it is installed."""
    if not url.startswith("postgresql://"):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def open_storage(url: str, must_exist: bool = False) -> optuna.storages.BaseStorage:
    """
    Open an Optuna storage, with heartbeats for relational databases so that a killed worker's trial is failed.

    :param url: Storage URL (``sqlite:///file.db``, ``postgresql://user@host:port/db``, ...)
    :param must_exist: Refuse to create a SQLite file that is not there (for reading a study)
    :return: The storage
    :raises ConfigError: when the URL is malformed or the database cannot be reached
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"storage {url!r} is not a storage URL; expected e.g. sqlite:///study.db or postgresql://...")
    if url.startswith("sqlite:///"):
        path = pathlib.Path(url[len("sqlite:///") :])
        if not path.parent.is_dir():
            raise ConfigError(f"storage {url!r}: folder '{path.parent}' does not exist")
        if must_exist and not path.is_file():
            raise ConfigError(f"storage {url!r}: no such database file; run 'sb3-ddpg tune' first, or give --storage")
    given, url = url, _with_installed_postgres_driver(url)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    elif url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD
            )
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"cannot open storage {_hide_password(given)!r}: {reason}") from error


def counts_toward_budget(trial: FrozenTrial, include_running: bool = True) -> bool:
    """
    Whether a trial uses up the study's trial budget.

    :param trial: The trial
    :param include_running: Whether running trials count (a worker deciding to start one counts them)
    """
    if trial.user_attrs.get("budget_surplus"):
        return False
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    if trial.state == TrialState.FAIL:
        return "fail_reason" in trial.user_attrs
    return include_running and trial.state == TrialState.RUNNING


def n_budgeted(study: optuna.Study, include_running: bool = True) -> int:
    """
    Number of the study's trials that use up its budget (see :func:`counts_toward_budget`).

    :param study: The study
    :param include_running: Whether running trials count
    """
    return sum(counts_toward_budget(trial, include_running) for trial in study.get_trials(deepcopy=False))


class BudgetedObjective:
    """
    Wraps an objective so that a trial started once the budget was reached (two workers deciding at the same moment)
    is pruned at once, marked ``budget_surplus`` and not counted, and the worker stops.

    :param objective: The objective
    :param n_trials: The study's total budget
    """

    def __init__(self, objective: Callable[[optuna.Trial], float], n_trials: int):
        self.objective = objective
        self.n_trials = n_trials

    def __call__(self, trial: optuna.Trial) -> float:
        earlier = [
            other
            for other in trial.study.get_trials(deepcopy=False)
            if other.number < trial.number and counts_toward_budget(other, include_running=True)
        ]
        if len(earlier) >= self.n_trials:
            trial.set_user_attr("budget_surplus", True)
            trial.study.stop()
            raise optuna.TrialPruned(f"the study's budget of {self.n_trials} trials was already reached")
        return self.objective(trial)


class StopAtBudget:
    """
    Optuna callback that stops this worker once finished plus running trials reach the budget, counted over all
    workers (like ``optuna.study.MaxTrialsCallback``, which counts finished trials only).

    :param n_trials: The study's total budget
    """

    def __init__(self, n_trials: int):
        self.n_trials = n_trials

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if n_budgeted(study, include_running=True) >= self.n_trials:
            study.stop()


def create_study(
    config: StudyConfig,
    storage: str | None = None,
    study_name: str | None = None,
    sampler: str | None = None,
    pruner: str | None = None,
    sampler_seed: int | None = None,
) -> optuna.Study:
    """
    Create the study, or load it when it exists (``load_if_exists=True``), so re-running a command resumes it.

    :param config: The study configuration
    :param storage: Storage URL (default: the config's, else a SQLite file beside the study file)
    :param study_name: Study name (default: the config's)
    :param sampler: Sampler name (default: the config's)
    :param pruner: Pruner name (default: the config's)
    :param sampler_seed: Sampler seed (default: the config's); when the study already has trials, their number is
        added so a resumed run does not replay the same draws
    :return: The Optuna study, maximizing the evaluation return
    """
    storage_obj = open_storage(storage or config.storage or config.default_storage())
    name = study_name or config.name
    sampler_name = sampler or config.sampler
    pruner_obj = make_pruner(pruner or config.pruner, config.pruner_kwargs if pruner in (None, config.pruner) else None)
    seed = config.sampler_seed if sampler_seed is None else sampler_seed
    try:
        existing = optuna.load_study(study_name=name, storage=storage_obj)
        seed += len(existing.get_trials(deepcopy=False))
    except KeyError:
        pass
    sampler_kwargs = config.sampler_kwargs if sampler in (None, config.sampler) else None
    sampler_obj = make_sampler(sampler_name, seed, sampler_kwargs)
    study = optuna.create_study(
        storage=storage_obj,
        study_name=name,
        sampler=sampler_obj,
        pruner=pruner_obj,
        direction="maximize",
        load_if_exists=True,
    )
    if "config" not in study.user_attrs:
        study.set_user_attr(
            "config",
            {"env_id": config.env_id, "algo": config.algo, "n_timesteps": config.n_timesteps, "source": config.source},
        )
    return study


def run_study(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    n_jobs: int = 1,
    callbacks: list[Callable[[optuna.Study, FrozenTrial], None]] | None = None,
) -> int:
    """
    Run trials until the study holds ``n_trials`` budgeted trials (over all workers), then return.

    :param study: The study
    :param objective: The objective
    :param n_trials: Total budget of the study
    :param n_jobs: Parallel trials in this process (Optuna's threads; scores then depend on thread timing)
    :param callbacks: More Optuna callbacks (progress display)
    :return: Number of trials this call ran
    """
    before = {trial.number for trial in study.get_trials(deepcopy=False)}
    if n_budgeted(study) >= n_trials:
        return 0
    study.optimize(
        BudgetedObjective(objective, n_trials),
        n_trials=None,
        n_jobs=n_jobs,
        callbacks=[StopAtBudget(n_trials), *(callbacks or [])],
        gc_after_trial=True,
    )
    return len({trial.number for trial in study.get_trials(deepcopy=False)} - before)
