"""
Search spaces, as RL Zoo's ``hyperparams_opt.py`` writes them: one plain sampling function per algorithm that takes an
Optuna trial and returns a dict in tuner-friendly units (log of ``1 - gamma``, batch size as a power of two, network
size as a label), and :func:`to_hyperparams`, which turns those values into RL Zoo-style hyperparameters; the experiment
layer's one converter (:func:`sb3_ddpg_ext.experiment.config.build_run_spec`) turns those into constructor arguments.

A study file can narrow or fix any parameter: ``{low: 1.0e-4, high: 1.0e-3}``, ``{choices: [gaussian, ou]}``, or a
single value (``net_arch: medium``), which is then not sampled at all.
"""

import copy
from collections.abc import Mapping
from typing import Any

import optuna

from sb3_ddpg_ext.experiment.hyperparams import coerce_numbers

# Network size labels and the hidden layers they stand for (the same for the actor and the critic).
NET_ARCHS: dict[str, list[int]] = {"small": [64, 64], "medium": [256, 256], "big": [400, 300]}
# Tuner noise labels -> the ``noise_type`` written into hyperparameters (RL Zoo's names, and ``parameter``).
NOISE_LABELS: dict[str, str | None] = {
    "gaussian": "normal",
    "ou": "ornstein-uhlenbeck",
    "parameter": "parameter",
    "none": None,
}
NOISE_SCHEDULES = ("constant", "linear", "exponential")

_COMMON: dict[str, Any] = {
    "tau": {"low": 1e-4, "high": 0.1, "log": True},
    "one_minus_gamma": {"low": 1e-4, "high": 0.1, "log": True},
    "log2_batch_size": {"low": 5, "high": 9},  # batch size 32 .. 512
    "net_arch": {"choices": list(NET_ARCHS)},
    "train_freq": {"choices": [1, 4, 16, 64]},
    "gradient_steps": -1,  # fixed by default: as many gradient steps as environment steps (RL Zoo's choice)
    "learning_starts": {"choices": [100, 1000, 10000]},
}

# Default search spaces: a mapping is a range ({low, high[, log][, step]}) or a set ({choices}); a bare value is fixed.
DDPG_SPACE: dict[str, Any] = {
    "actor_learning_rate": {"low": 1e-5, "high": 1e-2, "log": True},
    "critic_learning_rate": {"low": 1e-5, "high": 1e-2, "log": True},
    **_COMMON,
    "noise_type": {"choices": list(NOISE_LABELS)},
    "noise_std": {"low": 0.05, "high": 0.8},
    "noise_schedule": {"choices": list(NOISE_SCHEDULES)},
    "noise_final_fraction": {"low": 0.01, "high": 1.0, "log": True},
}
TD3_SPACE: dict[str, Any] = {
    "learning_rate": {"low": 1e-5, "high": 1e-2, "log": True},
    **_COMMON,
    "noise_type": {"choices": ["gaussian", "ou", "none"]},
    "noise_std": {"low": 0.05, "high": 0.8},
    "target_policy_noise": {"low": 0.05, "high": 0.5},
}
SAC_SPACE: dict[str, Any] = {
    "learning_rate": {"low": 1e-5, "high": 1e-2, "log": True},
    **_COMMON,
    "ent_coef": {"choices": ["auto", 0.1, 0.01, 0.001]},
}
SPACES: dict[str, dict[str, Any]] = {"ddpg": DDPG_SPACE, "td3": TD3_SPACE, "sac": SAC_SPACE}
# Values a categorical parameter may take, where the set is closed (labels the converter must understand).
_CLOSED_CHOICES: dict[str, tuple[Any, ...]] = {
    "net_arch": tuple(NET_ARCHS),
    "noise_type": tuple(NOISE_LABELS),
    "noise_schedule": NOISE_SCHEDULES,
}
_INT_PARAMS = ("log2_batch_size", "train_freq", "gradient_steps", "learning_starts")
_RANGE_KEYS = ("low", "high", "log", "step")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(name: str, value: Any, default: Any, where: str) -> None:
    """Check one fixed value or choice against the parameter's default specification."""
    if name in _CLOSED_CHOICES:
        if value not in _CLOSED_CHOICES[name]:
            raise ValueError(f"{where}: {name}={value!r} is not allowed; allowed: {list(_CLOSED_CHOICES[name])}")
        return
    if name == "ent_coef" and value == "auto":
        return
    if not _is_number(value):
        raise ValueError(f"{where}: {name} must be a number, got {value!r} ({type(value).__name__})")
    if name in _INT_PARAMS and not float(value).is_integer():
        raise ValueError(f"{where}: {name} must be an integer, got {value!r}")
    if name == "gradient_steps":
        if value == 0 or value < -1:
            raise ValueError(f"{where}: gradient_steps must be -1 (as many as environment steps) or >= 1, got {value!r}")
    elif isinstance(default, Mapping) and "low" in default and value <= 0:
        raise ValueError(f"{where}: {name} must be > 0, got {value!r}")
    elif value < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")
    if name in ("tau", "one_minus_gamma", "noise_final_fraction") and value > 1:
        raise ValueError(f"{where}: {name} must lie in (0, 1], got {value!r}")


def _resolve_entry(name: str, spec: Any, default: Any, where: str) -> Any:
    """Check one entry of a study's search space and merge it with the parameter's default specification."""
    spec = coerce_numbers(spec)
    if not isinstance(spec, Mapping):
        _check_value(name, spec, default, where)
        return spec
    keys = set(spec)
    if "choices" in keys:
        if keys != {"choices"}:
            raise ValueError(f"{where}: 'choices' cannot be combined with {sorted(keys - {'choices'})}")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"{where}: choices must be a non-empty list, got {choices!r}")
        for choice in choices:
            _check_value(name, choice, default, where)
        return {"choices": list(choices)}
    if not (isinstance(default, Mapping) and "low" in default):
        raise ValueError(f"{where}: {name} is categorical; narrow it with {{choices: [...]}} or fix it with a value")
    bad_keys = sorted(keys - set(_RANGE_KEYS))
    if bad_keys:
        raise ValueError(f"{where}: unknown key(s) {bad_keys}; allowed: {list(_RANGE_KEYS)} or 'choices'")
    merged = {**default, **spec}
    for bound in ("low", "high"):
        _check_value(name, merged[bound], default, where)
    if not isinstance(merged.get("log", False), bool):
        raise ValueError(f"{where}: log must be true or false, got {merged['log']!r}")
    if merged["low"] > merged["high"]:
        raise ValueError(f"{where}: low={merged['low']!r} must be <= high={merged['high']!r}")
    if merged.get("log") and "step" in merged:
        raise ValueError(f"{where}: 'step' cannot be used with log: true")
    return merged


def resolve_space(algo: str, space: Mapping[str, Any] | None = None, source: str = "search space") -> dict[str, Any]:
    """
    Merge a study's narrowing / fixing of the search space into the algorithm's default space, checking every entry.

    :param algo: ``ddpg``, ``td3`` or ``sac``
    :param space: Parameter name -> a range mapping (``low``/``high``/``log``/``step``), a ``choices`` mapping,
        or a single value that fixes the parameter
    :param source: Where the space comes from (a file name), for error messages
    :return: The full space, parameter name -> specification
    :raises ValueError: naming the source, the key and what is allowed
    """
    if algo not in SPACES:
        raise ValueError(f"{source}: unknown algo {algo!r}; allowed: {list(SPACES)}")
    defaults = SPACES[algo]
    resolved = copy.deepcopy(defaults)
    if space is None:
        return resolved
    if not isinstance(space, Mapping):
        raise ValueError(f"{source}: the search space must be a mapping of parameter names, got {type(space).__name__}")
    unknown = sorted(str(name) for name in space if name not in defaults)
    if unknown:
        raise ValueError(f"{source}: unknown parameter(s) {unknown} for {algo}; known: {list(defaults)}")
    for name, spec in space.items():
        resolved[name] = _resolve_entry(name, spec, defaults[name], f"{source}: search_space.{name}")
    return resolved


def _suggest(trial: optuna.Trial, name: str, space: Mapping[str, Any]) -> Any:
    """Sample one parameter from its specification, or return its fixed value without sampling."""
    spec = space[name]
    if not isinstance(spec, Mapping):
        return spec
    if "choices" in spec:
        return trial.suggest_categorical(name, spec["choices"])
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if name in _INT_PARAMS:
        return trial.suggest_int(name, int(low), int(high), step=int(spec.get("step", 1)), log=log)
    return trial.suggest_float(name, float(low), float(high), step=spec.get("step"), log=log)


def _sample_common(trial: optuna.Trial, space: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _suggest(trial, name, space) for name in _COMMON}


def sample_ddpg_params(trial: optuna.Trial, space: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """
    Sample DDPG hyperparameters in tuner-friendly units.

    :param trial: Optuna trial (``optuna.trial.FixedTrial`` replays given values)
    :param space: Narrowed or fixed parameters (see :func:`resolve_space`); None uses the default space
    :return: Parameter name -> value; noise parameters are only sampled when there is noise
        (and ``noise_final_fraction`` only for a decaying schedule)
    """
    space = resolve_space("ddpg", space)
    params = {
        "actor_learning_rate": _suggest(trial, "actor_learning_rate", space),
        "critic_learning_rate": _suggest(trial, "critic_learning_rate", space),
        **_sample_common(trial, space),
        "noise_type": _suggest(trial, "noise_type", space),
    }
    if params["noise_type"] != "none":
        params["noise_std"] = _suggest(trial, "noise_std", space)
        params["noise_schedule"] = _suggest(trial, "noise_schedule", space)
        if params["noise_schedule"] != "constant":
            params["noise_final_fraction"] = _suggest(trial, "noise_final_fraction", space)
    return params


def sample_td3_params(trial: optuna.Trial, space: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """
    Sample SB3 TD3 hyperparameters in the same units as :func:`sample_ddpg_params` (one learning rate, constant noise).

    :param trial: Optuna trial
    :param space: Narrowed or fixed parameters; None uses the default space
    :return: Parameter name -> value
    """
    space = resolve_space("td3", space)
    params = {"learning_rate": _suggest(trial, "learning_rate", space), **_sample_common(trial, space)}
    params["noise_type"] = _suggest(trial, "noise_type", space)
    if params["noise_type"] != "none":
        params["noise_std"] = _suggest(trial, "noise_std", space)
    params["target_policy_noise"] = _suggest(trial, "target_policy_noise", space)
    return params


def sample_sac_params(trial: optuna.Trial, space: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """
    Sample SB3 SAC hyperparameters in the same units as :func:`sample_ddpg_params`.

    :param trial: Optuna trial
    :param space: Narrowed or fixed parameters; None uses the default space
    :return: Parameter name -> value
    """
    space = resolve_space("sac", space)
    return {
        "learning_rate": _suggest(trial, "learning_rate", space),
        **_sample_common(trial, space),
        "ent_coef": _suggest(trial, "ent_coef", space),
    }


SAMPLERS = {"ddpg": sample_ddpg_params, "td3": sample_td3_params, "sac": sample_sac_params}


def _noise_schedule(params: Mapping[str, Any]) -> dict[str, Any] | None:
    schedule = params.get("noise_schedule", "constant")
    if schedule == "constant":
        return None
    return {"type": schedule, "start": 1.0, "end": float(params["noise_final_fraction"]), "end_fraction": 1.0}


def to_hyperparams(params: Mapping[str, Any]) -> dict[str, Any]:
    """
    Turn sampled values into RL Zoo-style hyperparameters, plain YAML types only (what ``sb3-ddpg train
    --hyperparams`` and :func:`sb3_ddpg_ext.experiment.config.build_run_spec` read).

    :param params: Values from a sampling function (or a trial's ``params``, plus the fixed ones)
    :return: Hyperparameters such as ``gamma``, ``batch_size``, ``noise_type``, ``noise_std``, ``noise_schedule``,
        ``policy_kwargs: {net_arch: [...]}``
    """
    known = set(DDPG_SPACE) | set(TD3_SPACE) | set(SAC_SPACE)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(known)}")
    hyperparams: dict[str, Any] = {}
    for key in ("learning_rate", "actor_learning_rate", "critic_learning_rate", "tau"):
        if key in params:
            hyperparams[key] = float(params[key])
    if "one_minus_gamma" in params:
        hyperparams["gamma"] = 1.0 - float(params["one_minus_gamma"])
    if "log2_batch_size" in params:
        hyperparams["batch_size"] = 2 ** int(params["log2_batch_size"])
    for key in ("train_freq", "gradient_steps", "learning_starts"):
        if key in params:
            hyperparams[key] = int(params[key])
    if "net_arch" in params:
        hyperparams["policy_kwargs"] = {"net_arch": list(NET_ARCHS[params["net_arch"]])}
    if "target_policy_noise" in params:
        hyperparams["target_policy_noise"] = float(params["target_policy_noise"])
    if "ent_coef" in params:
        hyperparams["ent_coef"] = params["ent_coef"] if params["ent_coef"] == "auto" else float(params["ent_coef"])
    noise_type = NOISE_LABELS[params.get("noise_type", "none")]
    if noise_type is not None:
        hyperparams["noise_type"] = noise_type
        hyperparams["noise_std"] = float(params["noise_std"])
        schedule = _noise_schedule(params)
        if schedule is not None:
            hyperparams["noise_schedule"] = schedule
    return hyperparams
