"""
Hyperparameter files: RL Zoo-style YAML, read with ``yaml.safe_load``, turned into ``DDPG(**kwargs)``.

A file is either flat (``learning_rate: 1e-3``) or keyed by environment id like RL Zoo's
(``Pendulum-v1: {learning_rate: 1e-3, ...}``). Besides DDPG's constructor arguments it accepts RL Zoo's keys
``n_timesteps``, ``policy``, ``n_envs``, ``normalize``, ``noise_type`` (``normal``, ``ornstein-uhlenbeck``, and
this package's ``parameter``) and ``noise_std``, and this package's ``noise_schedule``, ``noise_kwargs`` and
``param_noise`` (a mapping of ``AdaptiveParamNoise`` arguments). Values are structured YAML
(``policy_kwargs: {net_arch: [400, 300]}``); RL Zoo's string form ``"dict(net_arch=[400, 300])"`` is parsed
without ``eval``.
"""

import ast
import inspect
import pathlib
from dataclasses import dataclass, field
from typing import Any

import yaml
from torch import nn

from sb3_ddpg_ext.common.noise import make_action_noise
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise
from sb3_ddpg_ext.common.schedules import make_schedule

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
ZOO_KEYS = ("n_timesteps", "policy", "n_envs", "normalize", "noise_type", "noise_std", "noise_schedule", "noise_kwargs")
SCHEDULE_KEYS = ("learning_rate", "actor_learning_rate", "critic_learning_rate")


class ConfigError(ValueError):
    """A hyperparameter file or value that cannot be used; the message names the file, the key and what is allowed."""


@dataclass
class RunConfig:
    """
    What a hyperparameter file asks for, split into the algorithm's arguments and the run's settings.

    :param algo_kwargs: Keyword arguments for ``DDPG`` (noise and schedules already built)
    :param policy: Policy name
    :param n_timesteps: Training budget, if the file gives one
    :param n_envs: Number of parallel environments
    :param normalize: Whether (or with which ``VecNormalize`` keyword arguments) to normalize observations/rewards
    :param raw: The hyperparameters as read, for writing next to the run
    """

    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    policy: str = "MlpPolicy"
    n_timesteps: int | None = None
    n_envs: int = 1
    normalize: bool | dict[str, Any] = False
    raw: dict[str, Any] = field(default_factory=dict)


def read_hyperparams(path: str | pathlib.Path, env_id: str | None = None) -> dict[str, Any]:
    """
    Read a hyperparameter YAML file, taking the section of ``env_id`` when the file is keyed by env ids.

    :param path: YAML file
    :param env_id: Environment id to select when the file holds several sections
    :return: The hyperparameters as a dict
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"Hyperparameter file '{path}' does not exist.")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"Hyperparameter file '{path}' is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"Hyperparameter file '{path}' must hold a mapping of names to values, got {type(data).__name__}.")
    if env_id is not None and isinstance(data.get(env_id), dict):
        return coerce_numbers(data[env_id])
    sections = [key for key, value in data.items() if isinstance(value, dict) and "-v" in str(key)]
    if sections:
        raise ConfigError(f"Hyperparameter file '{path}' has sections {sections} but none for env '{env_id}'.")
    return coerce_numbers(data)


def coerce_numbers(values: dict[str, Any]) -> dict[str, Any]:
    """
    Read numbers that YAML 1.1 leaves as strings (PyYAML reads ``1e-3`` as the string "1e-3") as floats.

    :param values: Top-level values
    :return: A copy with such strings turned into floats
    """
    result = {}
    for key, value in values.items():
        if isinstance(value, str):
            for number in (int, float):
                try:
                    value = number(value)
                    break
                except ValueError:
                    continue
        result[key] = value
    return result


def parse_policy_kwargs(value: Any, source: str = "policy_kwargs") -> dict[str, Any]:
    """
    Turn ``policy_kwargs`` from a file into a dict: a mapping, or RL Zoo's ``"dict(...)"`` string parsed safely.
    ``activation_fn`` may name an activation (``relu``, ``tanh``, ``nn.ReLU``...).

    :param value: The value from the file
    :param source: Where it comes from, for error messages
    :return: Policy keyword arguments
    """
    if isinstance(value, str):
        value = _parse_dict_call(value, source)
    if not isinstance(value, dict):
        raise ConfigError(f"{source} must be a mapping such as {{net_arch: [400, 300]}}, got {value!r}.")
    kwargs = dict(value)
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        name = activation.split(".")[-1].lower().replace("leakyrelu", "leaky_relu")
        if name not in ACTIVATIONS:
            raise ConfigError(f"{source}: unknown activation_fn '{activation}'; known: {sorted(ACTIVATIONS)}.")
        kwargs["activation_fn"] = ACTIVATIONS[name]
    return kwargs


def _parse_dict_call(text: str, source: str) -> dict[str, Any]:
    """Parse ``dict(a=1, activation_fn=nn.ReLU)`` (RL Zoo's string form) into a dict without evaluating code."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise ConfigError(f"{source}: cannot parse {text!r}: {error}") from error
    value = _literal(node, text, source)
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: expected a mapping or 'dict(key=value, ...)', got {text!r}.")
    return value


def _literal(node: ast.expr, text: str, source: str) -> Any:
    """A literal, a nested ``dict(...)`` call, or a dotted name such as ``nn.ReLU`` (kept as a string)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {str(keyword.arg): _literal(keyword.value, text, source) for keyword in node.keywords}
    if isinstance(node, (ast.Attribute, ast.Name)):
        return ast.unparse(node)
    try:
        return ast.literal_eval(node)
    except ValueError as error:
        raise ConfigError(f"{source}: '{ast.unparse(node)}' in {text!r} is not a literal.") from error


def build_run_config(hyperparams: dict[str, Any], n_actions: int, source: str = "hyperparameters") -> RunConfig:
    """
    Split hyperparameters into DDPG's keyword arguments and the run's settings, building noise and schedules.

    :param hyperparams: Hyperparameters as read from a file (RL Zoo keys accepted)
    :param n_actions: Dimension of the action space (for the noise)
    :param source: Where they come from (a file name), for error messages
    :return: The run configuration
    """
    from sb3_ddpg_ext.ddpg.ddpg import DDPG

    allowed = set(inspect.signature(DDPG.__init__).parameters) - {"self", "policy", "env", "_init_setup_model"}
    unknown = sorted(set(hyperparams) - allowed - set(ZOO_KEYS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {unknown}. Allowed: DDPG's arguments {sorted(allowed)} and {list(ZOO_KEYS)}."
        )
    hp = dict(hyperparams)
    config = RunConfig(raw=dict(hyperparams))
    config.policy = str(hp.pop("policy", "MlpPolicy"))
    if "n_timesteps" in hp:
        config.n_timesteps = _positive_int(hp.pop("n_timesteps"), "n_timesteps", source)
    config.n_envs = _positive_int(hp.pop("n_envs", 1), "n_envs", source)
    normalize = hp.pop("normalize", False)
    if isinstance(normalize, str):
        normalize = (
            _parse_dict_call(normalize, f"{source}: normalize") if normalize.startswith("dict") else normalize == "True"
        )
    if not isinstance(normalize, (bool, dict)):
        raise ConfigError(f"{source}: normalize must be true/false or a mapping of VecNormalize arguments, got {normalize!r}.")
    config.normalize = normalize
    noise_type = hp.pop("noise_type", None)
    noise_std = hp.pop("noise_std", 0.1)
    noise_schedule = hp.pop("noise_schedule", None)
    noise_kwargs = hp.pop("noise_kwargs", None) or {}
    try:
        if str(noise_type).lower() == "parameter":  # parameter-space noise whose target action distance is noise_std
            hp["param_noise"] = AdaptiveParamNoise(
                **{"initial_stddev": noise_std, "desired_action_stddev": noise_std, "schedule": noise_schedule, **noise_kwargs}
            )
        elif noise_type is not None:
            hp["action_noise"] = make_action_noise(noise_type, n_actions, noise_std, schedule=noise_schedule, **noise_kwargs)
        if isinstance(hp.get("param_noise"), dict):
            hp["param_noise"] = AdaptiveParamNoise(**hp["param_noise"])
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{source}: noise_type/noise_std/noise_schedule/noise_kwargs/param_noise: {error}") from error
    if "policy_kwargs" in hp:
        hp["policy_kwargs"] = parse_policy_kwargs(hp["policy_kwargs"], f"{source}: policy_kwargs")
    for key in SCHEDULE_KEYS:
        if key in hp and hp[key] is not None and not isinstance(hp[key], (int, float)):
            try:
                hp[key] = make_schedule(hp[key])
            except ValueError as error:
                raise ConfigError(f"{source}: {key}: {error}") from error
    if isinstance(hp.get("train_freq"), list):
        hp["train_freq"] = tuple(hp["train_freq"])
    config.algo_kwargs = hp
    return config


def _positive_int(value: Any, key: str, source: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{source}: {key} must be a positive integer, got {value!r}.")
    return value


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """
    Parse ``key=value`` command-line overrides; each value is read as YAML (``net_arch=[64, 64]`` is a list).

    :param pairs: Strings ``key=value``
    :return: The overrides
    """
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"Override '{pair}' must look like key=value, e.g. learning_rate=3e-4.")
        result[key.strip()] = yaml.safe_load(value)
    return coerce_numbers(result)
