"""
Study files (``tuning/studies/*.yml``): what a study asks for, checked completely before any trial (a malformed file,
a bad search space or fixed hyperparameters that the converter rejects are one :class:`ConfigError`).
"""

import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.experiment.config import build_run_spec, check_env_id, check_int
from sb3_ddpg_ext.experiment.run import check_spec
from sb3_ddpg_ext.tuning.arguments import PRUNERS, SAMPLERS
from sb3_ddpg_ext.tuning.objective import ALGOS, Objective
from sb3_ddpg_ext.tuning.spaces import SPACES, resolve_space

# Run settings that a study sets itself (per trial seed, study budget): not allowed among its fixed hyperparams
STUDY_OWNED = ("seed", "n_timesteps")


@dataclass
class StudyConfig:
    """
    What a study file asks for.

    :param name: Study name in the storage (default: the file's stem)
    :param env_id: Gymnasium environment id
    :param algo: ``ddpg`` (this package's), ``td3`` or ``sac`` (SB3's)
    :param n_trials: Total trial budget of the study, over all workers and runs
    :param n_timesteps: Training steps per seed of a trial
    :param eval_freq: Evaluate every ``eval_freq`` environment steps
    :param n_eval_episodes: Episodes per evaluation
    :param seeds: Seeds per trial (``base_seed``, ``base_seed + 1``, ...), run one after another
    :param base_seed: First seed
    :param score_last_k: Number of last evaluations averaged into a seed's score
    :param sampler: ``tpe``, ``random``, ``cmaes``, ``gp`` or ``qmc``
    :param sampler_kwargs: Extra arguments of the Optuna sampler class
    :param sampler_seed: Seed of the sampler
    :param pruner: ``wilcoxon`` (seeds as instances: a trial stops once its seeds score significantly below the best
        trial's same seeds), ``median``, ``halving``, ``hyperband`` (evaluations within a seed) or ``none``
    :param pruner_kwargs: Extra arguments of the Optuna pruner class (``wilcoxon``: over
        :data:`~sb3_ddpg_ext.tuning.study.WILCOXON_DEFAULTS`)
    :param storage: Optuna storage URL; None: ``sqlite:///<folder of the file>/<name>.db``
    :param search_space: Narrowed or fixed parameters (see :func:`~sb3_ddpg_ext.tuning.spaces.resolve_space`)
    :param hyperparams: Fixed hyperparameters of every trial (``buffer_size``, ``policy``, ...)
    :param source: The file it was read from
    """

    env_id: str
    name: str = "study"
    algo: str = "ddpg"
    n_trials: int = 20
    n_timesteps: int = 10_000
    eval_freq: int = 1_000
    n_eval_episodes: int = 5
    seeds: int = 5
    base_seed: int = 0
    score_last_k: int = 3
    sampler: str = "tpe"
    sampler_kwargs: dict[str, Any] = field(default_factory=dict)
    sampler_seed: int = 0
    pruner: str = "wilcoxon"
    pruner_kwargs: dict[str, Any] = field(default_factory=dict)
    storage: str | None = None
    search_space: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    source: str = "<study>"

    def default_storage(self) -> str:
        """SQLite file beside the study file, named after the study."""
        folder = pathlib.Path(self.source).resolve().parent if self.source != "<study>" else pathlib.Path.cwd()
        return f"sqlite:///{folder / (self.name + '.db')}"

    def make_objective(self, device: str | None = None) -> Objective:
        """
        The study's objective.

        :param device: Torch device of the trials; None: the hyperparameters' ``device``, else cpu
        :return: The objective
        """
        return Objective(
            self.env_id,
            algo=self.algo,
            space=resolve_space(self.algo, self.search_space, self.source),
            hyperparams=self.hyperparams,
            n_timesteps=self.n_timesteps,
            eval_freq=self.eval_freq,
            n_eval_episodes=self.n_eval_episodes,
            seeds=self.seeds,
            base_seed=self.base_seed,
            score_last_k=self.score_last_k,
            device=device,
            source=self.source,
            report_seeds=self.pruner == "wilcoxon",
        )


def _int_at_least(minimum: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        try:
            return not isinstance(value, float) and check_int(value, "", "", minimum) == value
        except ConfigError:
            return False

    return check


_positive_int, _nonnegative_int = _int_at_least(1), _int_at_least(0)


# key -> (check, what is allowed)
_SCHEMA: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "env_id": (lambda v: isinstance(v, str) and v.strip() != "", "a Gymnasium environment id such as Pendulum-v1"),
    "algo": (lambda v: v in SPACES, f"one of {list(SPACES)}"),
    "n_trials": (_positive_int, "an integer >= 1"),
    "n_timesteps": (_positive_int, "an integer >= 1"),
    "eval_freq": (_positive_int, "an integer >= 1"),
    "n_eval_episodes": (_positive_int, "an integer >= 1"),
    "seeds": (_positive_int, "an integer >= 1"),
    "base_seed": (_nonnegative_int, "an integer >= 0"),
    "score_last_k": (_positive_int, "an integer >= 1"),
    "sampler": (lambda v: v in SAMPLERS, f"one of {list(SAMPLERS)}"),
    "sampler_kwargs": (lambda v: isinstance(v, dict), "a mapping of Optuna sampler arguments"),
    "sampler_seed": (_nonnegative_int, "an integer >= 0"),
    "pruner": (lambda v: v in PRUNERS, f"one of {list(PRUNERS)}"),
    "pruner_kwargs": (lambda v: isinstance(v, dict), "a mapping of Optuna pruner arguments"),
    "storage": (lambda v: v is None or (isinstance(v, str) and "://" in v), "an Optuna storage URL such as sqlite:///x.db"),
    "search_space": (lambda v: isinstance(v, dict), "a mapping of parameter names to ranges, choices or fixed values"),
    "hyperparams": (lambda v: isinstance(v, dict), "a mapping of fixed hyperparameters"),
}


def study_config_from_dict(data: Mapping[str, Any], source: str = "<study>") -> StudyConfig:
    """
    Check a study description and build its :class:`StudyConfig`.

    :param data: The description (a study file's content)
    :param source: Where it comes from, for error messages
    :return: The configuration
    :raises ConfigError: (a ``ValueError``) naming the source, the key and what is allowed
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a study file must hold a mapping of keys to values, got {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in _SCHEMA)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; allowed: {list(_SCHEMA)}")
    if "env_id" not in data:
        raise ConfigError(f"{source}: missing key 'env_id' ({_SCHEMA['env_id'][1]})")
    values = {key: value for key, value in data.items() if value is not None or key == "storage"}
    for key, value in values.items():
        check, allowed = _SCHEMA[key]
        if not check(value):
            raise ConfigError(f"{source}: {key}={value!r} ({type(value).__name__}) is not allowed; expected {allowed}")
    values.setdefault("name", pathlib.Path(source).stem if source != "<study>" else "study")
    config = StudyConfig(**values, source=source)
    if config.eval_freq > config.n_timesteps:
        raise ConfigError(f"{source}: eval_freq={config.eval_freq} exceeds n_timesteps={config.n_timesteps}: no evaluation")
    if config.score_last_k > config.n_timesteps // config.eval_freq:
        raise ConfigError(
            f"{source}: score_last_k={config.score_last_k} exceeds the {config.n_timesteps // config.eval_freq} "
            "evaluations of a seed (n_timesteps // eval_freq)"
        )
    if config.pruner == "wilcoxon" and config.seeds < 3:
        raise ConfigError(
            f"{source}: pruner 'wilcoxon' compares a trial's seeds with the best trial's and cannot stop a trial before "
            f"its second seed, so seeds={config.seeds} leaves nothing to prune; give seeds >= 3 (5 is a good start) "
            "or another pruner"
        )
    check_env_id(config.env_id, f"{source}: env_id")
    try:
        resolve_space(config.algo, config.search_space, source)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    owned = sorted(key for key in STUDY_OWNED if key in config.hyperparams)
    if owned:
        raise ConfigError.at(source, f"hyperparams.{owned[0]}", "is set by the study itself (base_seed / seeds, n_timesteps)")
    check_spec(build_run_spec(config.env_id, config.hyperparams, ALGOS[config.algo], f"{source}: hyperparams"))
    return config


def load_study_config(path: str | pathlib.Path) -> StudyConfig:
    """
    Read and check a study file.

    :param path: YAML file (read with ``yaml.safe_load``)
    :return: The configuration
    :raises ConfigError: naming the file, the key and what is allowed
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"study file '{path}' does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"study file '{path}' is not valid YAML: {error}") from error
    return study_config_from_dict(data or {}, str(path))
