"""
The one converter from RL Zoo-style hyperparameters to an algorithm's constructor arguments and a run's settings,
for this package's DDPG, SB3's DDPG, TD3 and SAC, and sb3-contrib's TQC and CrossQ: ``train``, every tuning trial and
every benchmark run go through :func:`build_run_spec`. Where hyperparameters come from and how their sources merge is
:mod:`sb3_ddpg_ext.experiment.hyperparams`'s.

Run settings (``seed``, ``device``, ``verbose``, ``tensorboard_log``, ``n_timesteps``, ``n_envs``, ``normalize``,
``env_wrapper``) are accepted as hyperparameters like any other key, taken out here, and passed to the algorithm or
the environments once by the run.
Conflicting keys (``noise_type: parameter`` beside a ``param_noise`` mapping, a noise schedule without a noise) are
errors, not silent overrides.
"""

import functools
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.experiment.hyperparams import coerce_numbers, dict_string

# Algorithm name -> "module:attribute", imported only when a run needs it.
ALGORITHMS: dict[str, str] = {
    "ddpg_ext": "sb3_ddpg_ext:DDPG",
    "sb3_ddpg": "stable_baselines3:DDPG",
    "td3": "stable_baselines3:TD3",
    "sac": "stable_baselines3:SAC",
    # sb3-contrib's off-policy algorithms for continuous actions: pip install 'sb3_ddpg_ext[benchmarks]'
    "tqc": "sb3_contrib:TQC",
    "crossq": "sb3_contrib:CrossQ",
    # SBX's DDPG (JAX, the whole update compiled by XLA), for speed comparisons: pip install 'sb3_ddpg_ext[sbx]'
    "sbx_ddpg": "sbx:DDPG",
}
# What to install for an algorithm whose package is missing
_INSTALL = {
    "sbx": "pip install 'sb3_ddpg_ext[sbx]' (SBX, the JAX port: sbx-rl)",
    "sb3_contrib": "pip install 'sb3_ddpg_ext[benchmarks]' (sb3-contrib)",
}
RUN_SETTINGS = ("seed", "device", "verbose", "tensorboard_log", "n_timesteps", "n_envs", "normalize", "env_wrapper")
NOISE_KEYS = ("noise_type", "noise_std", "noise_schedule", "noise_kwargs")
# Keys only this package's DDPG understands, beyond the constructor arguments SB3's algorithms lack
EXTENDED_KEYS = ("noise_schedule", "param_noise")
SCHEDULE_KEYS = ("learning_rate", "actor_learning_rate", "critic_learning_rate")
ACTIVATIONS = ("ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU")


@dataclass
class RunSpec:
    """
    One run, as the converter built it: which algorithm, its constructor arguments, and the run's settings.

    :param env_id: Gymnasium environment id
    :param algo: Algorithm name, a key of :data:`ALGORITHMS`
    :param policy: Policy name
    :param algo_kwargs: Constructor keyword arguments, noise and schedules built (no run settings among them)
    :param hyperparams: The hyperparameters as given (numbers coerced), for ``config.yml`` and result markers
    :param seed: Seed of the algorithm and the training environments
    :param device: Torch device
    :param verbose: Verbosity of the algorithm
    :param tensorboard_log: Tensorboard folder, or None
    :param n_timesteps: Training budget, if given
    :param n_envs: Number of training environments
    :param normalize: False, True or ``VecNormalize`` keyword arguments
    :param env_wrapper: Gymnasium wrappers applied to each environment, innermost first, with their keyword
        arguments (RL Zoo's ``env_wrapper``; see ``parse_env_wrapper``)
    :param source: Where the hyperparameters came from, for error messages
    """

    env_id: str
    algo: str = "ddpg_ext"
    policy: str = "MlpPolicy"
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "auto"
    verbose: int = 0
    tensorboard_log: str | None = None
    n_timesteps: int | None = None
    n_envs: int = 1
    normalize: bool | dict[str, Any] = False
    env_wrapper: list[tuple[type[gym.Wrapper], dict[str, Any]]] = field(default_factory=list)
    source: str = "hyperparameters"


def resolve_algorithm(name: str) -> type[BaseAlgorithm]:
    """
    Import the algorithm class registered under ``name``.

    :param name: A key of :data:`ALGORITHMS`
    :return: The algorithm class
    """
    if name not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {name!r}; allowed: {sorted(ALGORITHMS)}")
    module_name, _, attribute = ALGORITHMS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"algorithm {name!r} needs {_INSTALL.get(module_name, module_name)}: {error}") from error
    return getattr(module, attribute)


def parse_policy_kwargs(value: Any, source: str = "hyperparameters") -> dict[str, Any]:
    """
    ``policy_kwargs`` as a dict: a mapping or RL Zoo's ``"dict(...)"`` string; ``activation_fn`` may name a torch
    activation (``relu``, ``tanh``, ``nn.ReLU``) and ``optimizer_class`` a ``torch.optim`` class (``AdamW``).

    :param value: The value given
    :param source: Where it comes from, for error messages
    :return: Policy keyword arguments
    """
    import torch as th

    if isinstance(value, str):
        value = coerce_numbers(dict_string(value, source, "policy_kwargs"))
    if not isinstance(value, Mapping):
        raise ConfigError.at(source, "policy_kwargs", f"expected a mapping such as {{net_arch: [400, 300]}}, got {value!r}")
    kwargs = dict(value)
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        names = {name.lower(): name for name in ACTIVATIONS} | {"leaky_relu": "LeakyReLU"}
        name = activation.split(".")[-1].lower()
        if name not in names:
            raise ConfigError.at(source, "policy_kwargs.activation_fn", f"unknown {activation!r}; known: {sorted(names)}")
        kwargs["activation_fn"] = getattr(th.nn, names[name])
    optimizer = kwargs.get("optimizer_class")
    if isinstance(optimizer, str):
        name = optimizer.split(".")[-1]
        if not isinstance(getattr(th.optim, name, None), type):
            raise ConfigError.at(source, "policy_kwargs.optimizer_class", f"{optimizer!r} is not a torch.optim class (Adam)")
        kwargs["optimizer_class"] = getattr(th.optim, name)
    return kwargs


@functools.cache
def action_dim(env_id: str) -> int:
    """
    Dimension of an environment's action space, read once per environment id.

    :param env_id: A registered Gymnasium id
    :return: The number of action components (1 for a scalar space)
    """
    env = gym.make(env_id)
    try:
        return int(np.prod(env.action_space.shape or (1,)))
    finally:
        env.close()


def check_env_id(env_id: Any, source: str = "--env") -> str:
    """
    Raise a one-line error for an environment id Gymnasium does not know, before any work starts.

    :param env_id: Gymnasium environment id
    :param source: Where it comes from, for the message
    :return: The id
    """
    if not isinstance(env_id, str) or env_id not in gym.registry:
        raise ConfigError(f"{source}: {env_id!r} is not a registered Gymnasium environment; e.g. Pendulum-v1, HalfCheetah-v5")
    return env_id


def check_int(value: Any, key: str, source: str, minimum: int = 1) -> int:
    """
    An integer setting, checked: integral floats (YAML reads 3e5 as a float or a string) are accepted.

    :param value: The value given
    :param key: Its name
    :param source: Where it comes from
    :param minimum: Smallest allowed value
    :return: The integer
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError.at(source, key, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _device(value: Any, source: str) -> str:
    import torch as th

    try:
        device = th.device(str(value)) if value != "auto" else None
    except RuntimeError as error:
        raise ConfigError.at(source, "device", f"{value!r} is not a torch device ({error}); use auto, cpu or cuda") from error
    if device is not None and device.type == "cuda" and not th.cuda.is_available():
        raise ConfigError.at(source, "device", f"{value!r}: CUDA is not available on this machine; use cpu or auto")
    return str(value)


def _normalize(value: Any, source: str) -> bool | dict[str, Any]:
    if isinstance(value, str):
        value = coerce_numbers(dict_string(value, source, "normalize")) if value.strip()[:1] in "d{" else value == "True"
    if not isinstance(value, (bool, Mapping)):
        raise ConfigError.at(source, "normalize", f"expected true/false or a mapping of VecNormalize arguments, got {value!r}")
    return dict(value) if isinstance(value, Mapping) else value


def parse_env_wrapper(value: Any, source: str = "hyperparameters") -> list[tuple[type[gym.Wrapper], dict[str, Any]]]:
    """
    RL Zoo's ``env_wrapper``: a dotted class name, a one-key mapping of a name to its keyword arguments, or a list of
    these (applied in order, the first innermost), e.g. ``sb3_contrib.common.wrappers.TimeFeatureWrapper`` or
    ``[{gymnasium.wrappers.TimeLimit: {max_episode_steps: 100}}]``. Each name is imported (never evaluated) and must
    be a ``gymnasium.Wrapper`` subclass.

    :param value: The value given (None: no wrapper)
    :param source: Where it comes from, for error messages
    :return: ``(wrapper class, keyword arguments)`` pairs
    """
    items = [] if value is None else value if isinstance(value, list) else [value]
    wrappers: list[tuple[type[gym.Wrapper], dict[str, Any]]] = []
    example = "a dotted class name such as sb3_contrib.common.wrappers.TimeFeatureWrapper, or {name: {keyword: value}}"
    for item in items:
        kwargs: Any = {}
        if isinstance(item, Mapping):
            if len(item) != 1:
                raise ConfigError.at(source, "env_wrapper", f"each mapping names one wrapper, got {dict(item)!r}")
            item, kwargs = next(iter(item.items()))
            kwargs = {} if kwargs is None else kwargs
        if not isinstance(item, str) or "." not in item or not isinstance(kwargs, Mapping):
            raise ConfigError.at(source, "env_wrapper", f"expected {example}; got {item!r}")
        module_name, _, class_name = item.rpartition(".")
        try:
            wrapper = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as error:
            raise ConfigError.at(source, "env_wrapper", f"cannot import {item!r} ({error}); {example}") from error
        if not (isinstance(wrapper, type) and issubclass(wrapper, gym.Wrapper)):
            raise ConfigError.at(source, "env_wrapper", f"{item!r} is not a gymnasium.Wrapper subclass")
        wrappers.append((wrapper, dict(kwargs)))
    return wrappers


def wrap_env(
    env: gym.Env, wrappers: list[tuple[type[gym.Wrapper], dict[str, Any]]], source: str = "hyperparameters"
) -> gym.Env:
    """
    Apply a run's ``env_wrapper`` (see ``parse_env_wrapper``) to an environment, the first innermost.

    :param env: The environment
    :param wrappers: ``(wrapper class, keyword arguments)`` pairs
    :param source: Where they come from, for error messages (a wrapper that refuses its arguments)
    :return: The wrapped environment
    """
    for wrapper, kwargs in wrappers:
        try:
            env = wrapper(env, **kwargs)
        except (TypeError, ValueError, AssertionError) as error:
            raise ConfigError.at(source, "env_wrapper", f"{wrapper.__name__}({kwargs}): {error}") from error
    return env


def _split_settings(hp: dict[str, Any], spec: RunSpec, source: str) -> None:
    """Take the run settings out of ``hp`` into ``spec``, checking each."""
    if "seed" in hp:
        spec.seed = check_int(hp.pop("seed"), "seed", source, 0)
    if "device" in hp:
        spec.device = _device(hp.pop("device"), source)
    if "verbose" in hp:
        spec.verbose = check_int(hp.pop("verbose"), "verbose", source, 0)
    if "tensorboard_log" in hp:
        log = hp.pop("tensorboard_log")
        if log is not None and not isinstance(log, str):
            raise ConfigError.at(source, "tensorboard_log", f"expected a folder name or null, got {log!r}")
        spec.tensorboard_log = log
    if "n_timesteps" in hp:
        spec.n_timesteps = check_int(hp.pop("n_timesteps"), "n_timesteps", source, 1)
    if "n_envs" in hp:
        spec.n_envs = check_int(hp.pop("n_envs"), "n_envs", source, 1)
    if "normalize" in hp:
        spec.normalize = _normalize(hp.pop("normalize"), source)
    if "env_wrapper" in hp:
        spec.env_wrapper = parse_env_wrapper(hp.pop("env_wrapper"), source)


def _build_noise(hp: dict[str, Any], algo_class: type, algo: str, env_id: str, source: str) -> None:
    """Replace the RL Zoo noise keys of ``hp`` by ``action_noise`` / ``param_noise`` objects."""
    from sb3_ddpg_ext.common.noise import make_action_noise
    from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise

    if "action_noise" in hp:
        raise ConfigError.at(source, "action_noise", "give the noise as noise_type / noise_std (RL Zoo's keys)")
    noise_type = hp.pop("noise_type", None)
    noise_std = hp.pop("noise_std", 0.1)
    schedule = hp.pop("noise_schedule", None)
    noise_kwargs = hp.pop("noise_kwargs", None) or {}
    if noise_type is None and (schedule is not None or noise_kwargs):
        key = "noise_schedule" if schedule is not None else "noise_kwargs"
        raise ConfigError.at(source, key, "has no effect without noise_type; add noise_type: normal or ornstein-uhlenbeck")
    if "ent_coef" in inspect.signature(algo_class).parameters:
        return  # SAC explores by sampling its stochastic policy: a shared setting's noise keys do not apply
    if algo != "ddpg_ext":
        used = [key for key in EXTENDED_KEYS if key in hp or (key == "noise_schedule" and schedule is not None)]
        if used or noise_type == "parameter":
            raise ConfigError.at(
                source, (used or ["noise_type"])[0], f"only this package's DDPG (ddpg_ext) has it, not {algo}"
            )
    try:
        if noise_type == "parameter":
            if "param_noise" in hp:
                raise ConfigError.at(
                    source,
                    "param_noise",
                    "conflicts with noise_type: parameter; give one of them (param_noise has more options)",
                )
            hp["param_noise"] = AdaptiveParamNoise(
                **{"initial_stddev": noise_std, "desired_action_stddev": noise_std, "schedule": schedule, **noise_kwargs}
            )
        elif noise_type is not None:
            hp["action_noise"] = make_action_noise(
                noise_type, action_dim(env_id), noise_std, schedule=schedule, **noise_kwargs
            )
        if isinstance(hp.get("param_noise"), Mapping):
            hp["param_noise"] = AdaptiveParamNoise(**hp["param_noise"])
    except (ValueError, TypeError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError.at(source, "noise_type/noise_std/noise_schedule/noise_kwargs/param_noise", str(error)) from error


def build_run_spec(
    env_id: str, hyperparams: Mapping[str, Any], algo: str = "ddpg_ext", source: str = "hyperparameters"
) -> RunSpec:
    """
    Turn RL Zoo-style hyperparameters into a :class:`RunSpec`: constructor arguments of ``algo`` (noise objects,
    schedules, policy keyword arguments built) and the run's settings. Every problem is a :class:`ConfigError`
    naming the source and the key, raised before any training.

    :param env_id: Gymnasium environment id
    :param hyperparams: Hyperparameters (RL Zoo's keys, the algorithm's arguments and the run settings)
    :param algo: A key of :data:`ALGORITHMS`
    :param source: Where the hyperparameters come from (a file name), for error messages
    :return: The run specification
    """
    from sb3_ddpg_ext.common.schedules import make_schedule

    check_env_id(env_id, source)
    algo_class = resolve_algorithm(algo)
    if not isinstance(hyperparams, Mapping):
        raise ConfigError(f"{source}: hyperparameters must be a mapping of names to values, got {hyperparams!r}")
    given = coerce_numbers(dict(hyperparams))
    hp = dict(given)
    spec = RunSpec(env_id=env_id, algo=algo, hyperparams=given, source=source)
    _split_settings(hp, spec, source)
    policy = hp.pop("policy", "MlpPolicy")
    if not isinstance(policy, str):
        raise ConfigError.at(source, "policy", f"expected a policy name such as MlpPolicy, got {policy!r}")
    spec.policy = policy
    _build_noise(hp, algo_class, algo, env_id, source)
    if "policy_kwargs" in hp:
        hp["policy_kwargs"] = parse_policy_kwargs(hp["policy_kwargs"], source)
    for key in SCHEDULE_KEYS:
        if key in hp and hp[key] is not None and not isinstance(hp[key], (int, float)):
            try:
                hp[key] = make_schedule(hp[key])
            except ValueError as error:
                raise ConfigError.at(source, key, str(error)) from error
    if isinstance(hp.get("train_freq"), list):
        hp["train_freq"] = tuple(hp["train_freq"])
    accepted = set(inspect.signature(algo_class).parameters) - {"self", "policy", "env", "_init_setup_model", *RUN_SETTINGS}
    unknown = sorted(set(hp) - accepted)
    if unknown:
        allowed = [*sorted(accepted - {"action_noise"}), *RUN_SETTINGS, "policy", *NOISE_KEYS]
        raise ConfigError.at(source, ", ".join(unknown), f"not a hyperparameter of {algo}; allowed: {allowed}")
    spec.algo_kwargs = hp
    return spec
