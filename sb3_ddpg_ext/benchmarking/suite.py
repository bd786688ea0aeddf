"""Benchmark suites: a YAML file naming algorithms, environments, a budget and seeds.

A suite is read with ``yaml.safe_load`` and checked completely before any run starts: a malformed file raises
:class:`~sb3_ddpg_ext.common.errors.ConfigError` naming the file, the key and what is allowed. Hyperparameters are
RL Zoo-style, as everywhere in this package: an environment's shared values, with an algorithm entry's merged over
them (:func:`~sb3_ddpg_ext.experiment.hyperparams.merge_hyperparams`), converted by the experiment layer's one converter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.experiment.config import ALGORITHMS, check_env_id, check_int

_TOP_LEVEL_KEYS = {"name": "a string", "algos": "a mapping", "envs": "a mapping", "seeds": "a list of integers"}
_OPTIONAL_TOP_LEVEL_KEYS = {"description": "a string", "reference": "an algorithm name of this suite"}
_ENV_KEYS = ("n_timesteps", "eval_freq", "n_eval_episodes", "hyperparams", "success_threshold")
_ALGO_KEYS = ("algo", "hyperparams")
# Run settings that a suite sets itself: the budget per environment entry, the seeds at the top
SUITE_OWNED = ("n_timesteps", "seed")


@dataclass(frozen=True)
class AlgoSpec:
    """
    One algorithm entry of a suite.

    :param name: the label used in the suite, result paths and tables (``ddpg_ext_tuned``)
    :param algo: the registry name of the class to train (``ddpg_ext``), a key of :data:`ALGORITHMS`
    :param hyperparams: overrides applied on top of the per-environment hyperparameters
    """

    name: str
    algo: str
    hyperparams: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvSpec:
    """
    One environment entry of a suite: the budget and evaluation protocol shared by every algorithm.

    :param env_id: a registered Gymnasium id
    :param n_timesteps: training budget in environment steps
    :param eval_freq: evaluate every ``eval_freq`` environment steps
    :param n_eval_episodes: episodes per evaluation (deterministic actions)
    :param hyperparams: RL Zoo style hyperparameters shared by every algorithm on this environment
    :param success_threshold: A final return above it counts as solving the task (MountainCarContinuous: 90); the
        report then shows each algorithm's success rate; None: no such column
    """

    env_id: str
    n_timesteps: int
    eval_freq: int
    n_eval_episodes: int
    hyperparams: dict[str, Any] = field(default_factory=dict)
    success_threshold: float | None = None


@dataclass(frozen=True)
class Suite:
    """
    A parsed and checked benchmark suite.

    :param name: suite name, the folder of its results
    :param algos: algorithm entries, in file order
    :param envs: environment entries, in file order
    :param seeds: seeds run for every (algorithm, environment) pair
    :param path: the file it was read from
    :param reference: the algorithm compared against every other one in reports
    """

    name: str
    algos: tuple[AlgoSpec, ...]
    envs: tuple[EnvSpec, ...]
    seeds: tuple[int, ...]
    path: str = "<memory>"
    reference: str | None = None


def _check_hyperparams(path: str, key: str, value: Any) -> dict[str, Any]:
    """Structure only; the values are checked by the converter for every run before any run starts."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError.at(path, key, f"expected a mapping of hyperparameters, got {type(value).__name__}")
    for owned in SUITE_OWNED:
        if owned in value:
            raise ConfigError.at(
                path, f"{key}.{owned}", "is set by the suite: n_timesteps per environment entry, seeds at the top"
            )
    return value


def _parse_algo(path: str, name: Any, entry: Any) -> AlgoSpec:
    key = f"algos.{name}"
    if not isinstance(name, str):
        raise ConfigError.at(path, key, "algorithm labels must be strings")
    entry = {} if entry is None else entry
    if not isinstance(entry, dict):
        raise ConfigError.at(path, key, f"expected a mapping with optional keys {list(_ALGO_KEYS)}, got {entry!r}")
    extra = sorted(set(entry) - set(_ALGO_KEYS))
    if extra:
        raise ConfigError.at(path, f"{key}.{extra[0]}", f"unknown key; allowed: {list(_ALGO_KEYS)}")
    algo = entry.get("algo", name)
    if algo not in ALGORITHMS:
        where = f"{key}.algo" if "algo" in entry else key
        raise ConfigError.at(path, where, f"unknown algorithm {algo!r}; allowed: {sorted(ALGORITHMS)}")
    hyperparams = _check_hyperparams(path, f"{key}.hyperparams", entry.get("hyperparams"))
    return AlgoSpec(name=name, algo=algo, hyperparams=hyperparams)


def _parse_env(path: str, env_id: Any, entry: Any) -> EnvSpec:
    key = f"envs.{env_id}"
    if not isinstance(env_id, str):
        raise ConfigError.at(path, key, "environment ids must be strings")
    check_env_id(env_id, f"{path}: {key}")
    if not isinstance(entry, dict):
        raise ConfigError.at(path, key, f"expected a mapping with keys {list(_ENV_KEYS)}, got {entry!r}")
    extra = sorted(set(entry) - set(_ENV_KEYS))
    if extra:
        raise ConfigError.at(path, f"{key}.{extra[0]}", f"unknown key; allowed: {list(_ENV_KEYS)}")
    for required in _ENV_KEYS[:3]:
        if required not in entry:
            raise ConfigError.at(path, f"{key}.{required}", "missing; a positive integer is required")
    return EnvSpec(
        env_id=env_id,
        n_timesteps=check_int(entry["n_timesteps"], f"{key}.n_timesteps", path),
        eval_freq=check_int(entry["eval_freq"], f"{key}.eval_freq", path),
        n_eval_episodes=check_int(entry["n_eval_episodes"], f"{key}.n_eval_episodes", path),
        hyperparams=_check_hyperparams(path, f"{key}.hyperparams", entry.get("hyperparams")),
        success_threshold=_check_threshold(path, f"{key}.success_threshold", entry.get("success_threshold")),
    )


def _check_threshold(path: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError.at(path, key, f"expected a number (a final return that counts as success), got {value!r}")
    return float(value)


def parse_suite(data: Any, path: str = "<memory>") -> Suite:
    """
    Check a suite already read from YAML and build a :class:`Suite`.

    :param data: the loaded YAML document
    :param path: the file name used in error messages
    :return: the suite
    """
    if not isinstance(data, dict):
        raise ConfigError.at(
            path, "<root>", f"expected a mapping with keys {sorted(_TOP_LEVEL_KEYS)}, got {type(data).__name__}"
        )
    for key, allowed in _TOP_LEVEL_KEYS.items():
        if key not in data:
            raise ConfigError.at(path, key, f"missing; expected {allowed}")
    extra = sorted(set(data) - set(_TOP_LEVEL_KEYS) - set(_OPTIONAL_TOP_LEVEL_KEYS))
    if extra:
        raise ConfigError.at(path, extra[0], f"unknown key; allowed: {[*_TOP_LEVEL_KEYS, *_OPTIONAL_TOP_LEVEL_KEYS]}")
    name = data["name"]
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError.at(path, "name", f"expected a non-empty string without '/', got {name!r}")
    for key in ("algos", "envs"):
        if not isinstance(data[key], dict) or not data[key]:
            raise ConfigError.at(path, key, f"expected a non-empty mapping, got {data[key]!r}")
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError.at(path, "seeds", f"expected a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError.at(path, "seeds", f"seeds must be distinct, got {seeds!r}")
    algos = tuple(_parse_algo(path, label, entry) for label, entry in data["algos"].items())
    envs = tuple(_parse_env(path, env_id, entry) for env_id, entry in data["envs"].items())
    reference = data.get("reference")
    if reference is not None and reference not in data["algos"]:
        raise ConfigError.at(path, "reference", f"got {reference!r}; allowed: {list(data['algos'])}")
    return Suite(name=name, algos=algos, envs=envs, seeds=tuple(seeds), path=path, reference=reference)


def load_suite(path: str | Path) -> Suite:
    """
    Read and check a suite file.

    :param path: a YAML file
    :return: the suite
    """
    path = str(path)
    if not Path(path).is_file():
        raise ConfigError(f"suite file '{path}' does not exist; the shipped suites are in benchmarks/suites/")
    try:
        with open(path) as file:
            data = yaml.safe_load(file)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from error
    return parse_suite(data, path)


def reference_algo(suite: Suite) -> str:
    """
    The algorithm every other one is compared against: the suite's ``reference``, else ``ddpg_ext``, else the first.

    :param suite: the suite
    :return: an algorithm label of the suite
    """
    labels = [algo.name for algo in suite.algos]
    if suite.reference is not None:
        return suite.reference
    return "ddpg_ext" if "ddpg_ext" in labels else labels[0]
