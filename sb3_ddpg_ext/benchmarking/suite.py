"""Benchmark suites: a YAML file naming algorithms, environments, a budget and seeds.

A suite is read with ``yaml.safe_load`` and checked completely before any run starts: a malformed
file raises :class:`SuiteError` (a ``ValueError``) naming the file, the key and what is allowed.
Hyperparameters use RL Zoo's key names (``noise_type``, ``noise_std``, ``policy_kwargs``) and are
turned into constructor keyword arguments by :func:`hyperparams_to_kwargs`.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise, OrnsteinUhlenbeckActionNoise

from sb3_ddpg_ext.common.noise import ACTION_NOISE_TYPES

# Algorithm name -> "module:attribute", imported only when a run needs it, so a suite can name an
# algorithm whose package is not installed on the machine that merely reports results.
ALGORITHMS: dict[str, str] = {
    "ddpg_ext": "sb3_ddpg_ext:DDPG",
    "sb3_ddpg": "stable_baselines3:DDPG",
    "td3": "stable_baselines3:TD3",
    "sac": "stable_baselines3:SAC",
}

NOISE_TYPES: dict[str, type[NormalActionNoise] | type[OrnsteinUhlenbeckActionNoise]] = {
    "normal": NormalActionNoise,
    "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise,
}

# RL Zoo keys that are not constructor arguments.
_NOISE_KEYS = ("noise_type", "noise_std")
# This package's exploration keys (sb3_ddpg_ext.config): allowed in the hyperparameters of ``ddpg_ext`` entries only,
# e.g. a tuned configuration from ``sb3-ddpg best`` with a noise schedule or parameter-space noise.
_EXTENDED_NOISE_KEYS = ("noise_schedule", "noise_kwargs")
_EXTENDED_NOISE_TYPES = (*(name for name in ACTION_NOISE_TYPES if name not in NOISE_TYPES), "parameter")
_TOP_LEVEL_KEYS = {"name": "a string", "algos": "a mapping", "envs": "a mapping", "seeds": "a list of integers"}
_OPTIONAL_TOP_LEVEL_KEYS = {"description": "a string", "reference": "an algorithm name of this suite"}
_ENV_KEYS = ("n_timesteps", "eval_freq", "n_eval_episodes", "hyperparams")
_ALGO_KEYS = ("algo", "hyperparams")


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file, the key and what is allowed."""


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
    """

    env_id: str
    n_timesteps: int
    eval_freq: int
    n_eval_episodes: int
    hyperparams: dict[str, Any] = field(default_factory=dict)


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


def resolve_algorithm(name: str) -> type[BaseAlgorithm]:
    """
    Import the algorithm class registered under ``name``.

    :param name: a key of :data:`ALGORITHMS`, or a ``"module:attribute"`` import path
    :return: the algorithm class
    """
    target = ALGORITHMS.get(name, name)
    if ":" not in target:
        raise ValueError(f"Unknown algorithm {name!r}; allowed: {sorted(ALGORITHMS)} or 'module:Class'")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError as error:
        raise ImportError(f"Algorithm {name!r}: module {module_name!r} has no attribute {attribute!r}") from error


def uses_action_noise(algo_class: type[BaseAlgorithm]) -> bool:
    """
    Whether an algorithm explores with additive action noise.

    Entropy-regularised algorithms (SAC, TQC, CrossQ: those with an ``ent_coef`` argument) explore by
    sampling their stochastic policy, so the suite's noise keys are not applied to them.

    :param algo_class: the algorithm class
    :return: ``False`` for entropy-regularised algorithms
    """
    return "ent_coef" not in inspect.signature(algo_class).parameters


def make_action_noise(noise_type: str | None, noise_std: float | list[float], n_actions: int) -> ActionNoise | None:
    """
    Build an SB3 action noise from RL Zoo's ``noise_type`` / ``noise_std``.

    :param noise_type: ``"normal"``, ``"ornstein-uhlenbeck"`` or ``None``
    :param noise_std: standard deviation, one value or one per action dimension
    :param n_actions: action dimension
    :return: the noise object, or ``None`` when ``noise_type`` is ``None``
    """
    if noise_type is None:
        return None
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"Unknown noise_type {noise_type!r}; allowed: {sorted(NOISE_TYPES)}")
    sigma = np.broadcast_to(np.asarray(noise_std, dtype=np.float64), (n_actions,)).copy()
    return NOISE_TYPES[noise_type](mean=np.zeros(n_actions), sigma=sigma)


def merge_hyperparams(env_hyperparams: Mapping[str, Any], algo_hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """
    Per-environment hyperparameters overridden by an algorithm entry's; ``policy_kwargs`` merge key by key.

    :param env_hyperparams: shared by every algorithm on the environment
    :param algo_hyperparams: the algorithm entry's overrides
    :return: a new dictionary
    """
    merged = copy.deepcopy(dict(env_hyperparams))
    for key, value in algo_hyperparams.items():
        if key == "policy_kwargs" and isinstance(merged.get(key), dict) and isinstance(value, Mapping):
            merged[key] = {**merged[key], **copy.deepcopy(dict(value))}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def hyperparams_to_kwargs(
    algo_class: type[BaseAlgorithm], hyperparams: Mapping[str, Any], action_space: gym.spaces.Space
) -> dict[str, Any]:
    """
    Convert RL Zoo style hyperparameters into keyword arguments of ``algo_class``.

    ``noise_type`` / ``noise_std`` become ``action_noise`` (dropped for entropy-regularised algorithms),
    ``policy`` defaults to ``"MlpPolicy"``, a ``train_freq`` list such as ``[1, "episode"]`` becomes a tuple.

    :param algo_class: the algorithm class the arguments are for
    :param hyperparams: RL Zoo style hyperparameters (``n_timesteps`` excluded: it is the suite's budget)
    :param action_space: the environment's action space, to size the noise
    :return: keyword arguments, ``policy`` included, ``env`` and ``seed`` excluded
    """
    if _needs_package_config(algo_class, hyperparams):
        return _package_kwargs(hyperparams, action_space)
    kwargs = copy.deepcopy(dict(hyperparams))
    noise_type = kwargs.pop("noise_type", None)
    noise_std = kwargs.pop("noise_std", 0.1)
    kwargs.setdefault("policy", "MlpPolicy")
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    if noise_type is not None and uses_action_noise(algo_class):
        n_actions = int(np.prod(action_space.shape)) if action_space.shape else 1
        kwargs["action_noise"] = make_action_noise(noise_type, noise_std, n_actions)
    accepted = inspect.signature(algo_class).parameters
    unknown = sorted(key for key in kwargs if key not in accepted)
    if unknown:
        allowed = sorted(name for name in accepted if name not in ("env", "seed", "_init_setup_model"))
        raise ValueError(f"{algo_class.__name__} does not accept {unknown}; allowed: {[*_NOISE_KEYS, *allowed]}")
    return kwargs


def _needs_package_config(algo_class: type[BaseAlgorithm], hyperparams: Mapping[str, Any]) -> bool:
    """Whether ``hyperparams`` use this package's exploration keys, which only its own DDPG understands."""
    from sb3_ddpg_ext.ddpg.ddpg import DDPG

    extended_type = hyperparams.get("noise_type") in _EXTENDED_NOISE_TYPES
    return (extended_type or any(key in hyperparams for key in _EXTENDED_NOISE_KEYS)) and issubclass(algo_class, DDPG)


def _package_kwargs(hyperparams: Mapping[str, Any], action_space: gym.spaces.Space) -> dict[str, Any]:
    """Keyword arguments of this package's DDPG through its own converter (scheduled and parameter-space noise)."""
    from sb3_ddpg_ext.config import build_run_config

    n_actions = int(np.prod(action_space.shape)) if action_space.shape else 1
    config = build_run_config(copy.deepcopy(dict(hyperparams)), n_actions, source="suite hyperparameters")
    return {"policy": config.policy, **config.algo_kwargs}


def _fail(path: str, key: str, message: str) -> SuiteError:
    return SuiteError(f"{path}: key '{key}': {message}")


def _positive_int(path: str, key: str, value: Any) -> int:
    # YAML reads 3e5 as a string and 3.0e+5 as a float; accept integral floats, as RL Zoo does.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(path, key, f"expected a positive integer (e.g. 20000 or !!float 2e4), got {value!r}")
    return value


def _check_hyperparams(path: str, key: str, value: Any, extended: bool = False) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, key, f"expected a mapping of hyperparameters, got {type(value).__name__}")
    if "n_timesteps" in value:
        raise _fail(path, f"{key}.n_timesteps", "the budget belongs to the environment entry, next to eval_freq")
    allowed_types = [*NOISE_TYPES, *_EXTENDED_NOISE_TYPES] if extended else list(NOISE_TYPES)
    noise_type = value.get("noise_type")
    if noise_type is not None and noise_type not in allowed_types:
        raise _fail(path, f"{key}.noise_type", f"got {noise_type!r}; allowed: {allowed_types} or null")
    for extended_key in _EXTENDED_NOISE_KEYS:
        if extended_key in value and not extended:
            raise _fail(path, f"{key}.{extended_key}", "only allowed in the hyperparameters of a ddpg_ext algorithm entry")
    noise_std = value.get("noise_std", 0.1)
    if isinstance(noise_std, bool) or not isinstance(noise_std, int | float | list):
        raise _fail(path, f"{key}.noise_std", f"expected a number or a list of numbers, got {noise_std!r}")
    policy_kwargs = value.get("policy_kwargs")
    if policy_kwargs is not None and not isinstance(policy_kwargs, dict):
        raise _fail(
            path, f"{key}.policy_kwargs", f"expected a mapping such as {{net_arch: [400, 300]}}, got {policy_kwargs!r}"
        )
    return value


def _parse_algo(path: str, name: Any, entry: Any) -> AlgoSpec:
    key = f"algos.{name}"
    if not isinstance(name, str):
        raise _fail(path, key, "algorithm labels must be strings")
    entry = {} if entry is None else entry
    if not isinstance(entry, dict):
        raise _fail(path, key, f"expected a mapping with optional keys {list(_ALGO_KEYS)}, got {entry!r}")
    extra = sorted(set(entry) - set(_ALGO_KEYS))
    if extra:
        raise _fail(path, f"{key}.{extra[0]}", f"unknown key; allowed: {list(_ALGO_KEYS)}")
    algo = entry.get("algo", name)
    if algo not in ALGORITHMS:
        where = f"{key}.algo" if "algo" in entry else key
        raise _fail(path, where, f"unknown algorithm {algo!r}; allowed: {sorted(ALGORITHMS)}")
    hyperparams = _check_hyperparams(path, f"{key}.hyperparams", entry.get("hyperparams"), extended=algo == "ddpg_ext")
    return AlgoSpec(name=name, algo=algo, hyperparams=hyperparams)


def _parse_env(path: str, env_id: Any, entry: Any) -> EnvSpec:
    key = f"envs.{env_id}"
    if not isinstance(env_id, str):
        raise _fail(path, key, "environment ids must be strings")
    try:
        gym.spec(env_id)
    except gym.error.Error as error:
        raise _fail(path, key, f"not a registered Gymnasium environment id ({error})") from error
    if not isinstance(entry, dict):
        raise _fail(path, key, f"expected a mapping with keys {list(_ENV_KEYS)}, got {entry!r}")
    extra = sorted(set(entry) - set(_ENV_KEYS))
    if extra:
        raise _fail(path, f"{key}.{extra[0]}", f"unknown key; allowed: {list(_ENV_KEYS)}")
    for required in _ENV_KEYS[:3]:
        if required not in entry:
            raise _fail(path, f"{key}.{required}", "missing; a positive integer is required")
    return EnvSpec(
        env_id=env_id,
        n_timesteps=_positive_int(path, f"{key}.n_timesteps", entry["n_timesteps"]),
        eval_freq=_positive_int(path, f"{key}.eval_freq", entry["eval_freq"]),
        n_eval_episodes=_positive_int(path, f"{key}.n_eval_episodes", entry["n_eval_episodes"]),
        hyperparams=_check_hyperparams(path, f"{key}.hyperparams", entry.get("hyperparams")),
    )


def parse_suite(data: Any, path: str = "<memory>") -> Suite:
    """
    Check a suite already read from YAML and build a :class:`Suite`.

    :param data: the loaded YAML document
    :param path: the file name used in error messages
    :return: the suite
    """
    if not isinstance(data, dict):
        raise _fail(path, "<root>", f"expected a mapping with keys {sorted(_TOP_LEVEL_KEYS)}, got {type(data).__name__}")
    for key, allowed in _TOP_LEVEL_KEYS.items():
        if key not in data:
            raise _fail(path, key, f"missing; expected {allowed}")
    extra = sorted(set(data) - set(_TOP_LEVEL_KEYS) - set(_OPTIONAL_TOP_LEVEL_KEYS))
    if extra:
        raise _fail(path, extra[0], f"unknown key; allowed: {[*_TOP_LEVEL_KEYS, *_OPTIONAL_TOP_LEVEL_KEYS]}")
    name = data["name"]
    if not isinstance(name, str) or not name or "/" in name:
        raise _fail(path, "name", f"expected a non-empty string without '/', got {name!r}")
    for key in ("algos", "envs"):
        if not isinstance(data[key], dict) or not data[key]:
            raise _fail(path, key, f"expected a non-empty mapping, got {data[key]!r}")
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise _fail(path, "seeds", f"expected a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise _fail(path, "seeds", f"seeds must be distinct, got {seeds!r}")
    algos = tuple(_parse_algo(path, label, entry) for label, entry in data["algos"].items())
    envs = tuple(_parse_env(path, env_id, entry) for env_id, entry in data["envs"].items())
    reference = data.get("reference")
    if reference is not None and reference not in data["algos"]:
        raise _fail(path, "reference", f"got {reference!r}; allowed: {list(data['algos'])}")
    return Suite(name=name, algos=algos, envs=envs, seeds=tuple(seeds), path=path, reference=reference)


def load_suite(path: str | Path) -> Suite:
    """
    Read and check a suite file.

    :param path: a YAML file
    :return: the suite
    """
    path = str(path)
    try:
        with open(path) as file:
            data = yaml.safe_load(file)
    except yaml.YAMLError as error:
        raise SuiteError(f"{path}: not valid YAML: {error}") from error
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
