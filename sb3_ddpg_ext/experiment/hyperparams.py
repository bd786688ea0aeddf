"""
Reading RL Zoo-style hyperparameters and merging their sources: files (:func:`read_hyperparams`), command-line
overrides (:func:`parse_overrides`) and the one merge rule (:func:`merge_hyperparams`). Numbers are numbers at every
depth, and RL Zoo's ``"dict(...)"`` strings are read as mappings without ``eval``. The conversion into algorithm
arguments is :mod:`sb3_ddpg_ext.experiment.config`'s.

The merge rule: hyperparameters come from a file, then overrides (``--params``, a suite's algorithm entry over its
environment's, a trial's sampled values over a study's fixed ones), then dedicated command-line flags (``--seed``,
``--device``, ...). Each later source overrides the earlier one key by key, and mappings (``policy_kwargs``,
``param_noise``, ``noise_kwargs``, a ``normalize`` mapping) merge recursively: ``policy_kwargs: {net_arch: [64]}``
over ``policy_kwargs: {net_arch: [400, 300], activation_fn: tanh}`` keeps the activation. Lists and scalars replace.
"""

import ast
import pathlib
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import yaml

from sb3_ddpg_ext.common.errors import ConfigError

# Values that are mappings, which RL Zoo files may write as "dict(...)" strings; read as mappings so that they merge
MAPPING_KEYS = ("policy_kwargs", "normalize", "noise_kwargs", "param_noise", "replay_buffer_kwargs")
# The section of a file keyed by env ids that every environment's section overrides
SECTION_DEFAULT = "default"


def coerce_numbers(value: Any) -> Any:
    """
    Read numbers that YAML 1.1 leaves as strings (``1e-3``) as numbers, at every depth of mappings and lists.

    :param value: A value read from YAML
    :return: A copy with numeric strings turned into ints or floats
    """
    if isinstance(value, Mapping):
        return {key: coerce_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(coerce_numbers(item) for item in value)
    if isinstance(value, str):
        for number in (int, float):
            try:
                return number(value)
            except ValueError:
                continue
    return value


def merge_hyperparams(base: Mapping[str, Any], *overrides: Mapping[str, Any]) -> dict[str, Any]:
    """
    Merge hyperparameter sources, later ones winning key by key; mappings merge recursively, other values replace.

    :param base: The first source (a file's)
    :param overrides: Later sources
    :return: A new dict
    """
    merged: dict[str, Any] = {key: _copy(value) for key, value in base.items()}
    for override in overrides:
        for key, value in override.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = merge_hyperparams(merged[key], value)
            else:
                merged[key] = _copy(value)
    return merged


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _is_section(key: Any, env_id: str | None) -> bool:
    return isinstance(key, str) and (key in (SECTION_DEFAULT, env_id) or key in gym.registry)


def read_hyperparams(path: str | pathlib.Path, env_id: str | None = None) -> dict[str, Any]:
    """
    Read an RL Zoo-style hyperparameter file: flat, or keyed by environment id (any registered id) with an optional
    ``default`` section that the environment's section overrides (merged as :func:`merge_hyperparams` does).

    :param path: YAML file, read with ``yaml.safe_load``
    :param env_id: Environment whose section to take
    :return: The hyperparameters, numbers coerced
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"hyperparameter file '{path}' does not exist; check the path given to --hyperparams")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        problem = str(error).replace("\n", " ")
        raise ConfigError(f"hyperparameter file '{path}' is not valid YAML: {problem}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"hyperparameter file '{path}' must hold a mapping of names to values, got {type(data).__name__}")
    sections = [key for key, value in data.items() if isinstance(value, dict) and _is_section(key, env_id)]
    if not sections:
        return _mappings(coerce_numbers(data), str(path))
    plain = sorted(str(key) for key in data if key not in sections)
    if plain:
        raise ConfigError(
            f"hyperparameter file '{path}' mixes environment sections {sections} with top-level keys {plain}; "
            "put every hyperparameter inside a section (or a 'default' section)"
        )
    if env_id not in data and SECTION_DEFAULT not in data:
        raise ConfigError(
            f"hyperparameter file '{path}' has sections {sections} but none for '{env_id}' and no 'default' section; "
            f"add a '{env_id}:' section or pick one of {sections} with --env"
        )
    default, section = (_mappings(coerce_numbers(data.get(key) or {}), f"{path}: {key}") for key in (SECTION_DEFAULT, env_id))
    return merge_hyperparams(default, section)


def _mappings(hyperparams: dict[str, Any], source: str) -> dict[str, Any]:
    """Read RL Zoo's ``"dict(...)"`` strings of :data:`MAPPING_KEYS` as mappings."""
    for key in MAPPING_KEYS:
        value = hyperparams.get(key)
        if isinstance(value, str) and value.strip().startswith(("dict(", "{")):
            hyperparams[key] = coerce_numbers(dict_string(value, source, key))
    return hyperparams


def parse_overrides(pairs: list[str], source: str = "--params") -> dict[str, Any]:
    """
    Parse ``key=value`` command-line overrides; each value is read as YAML (``net_arch=[64, 64]`` is a list).

    :param pairs: Strings ``key=value``
    :param source: Where they come from, for error messages
    :return: The overrides, numbers coerced
    """
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source}: '{pair}' must look like key=value, e.g. learning_rate=3e-4")
        try:
            result[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise ConfigError.at(
                source, key.strip(), f"value {value!r} is not valid YAML ({error.__class__.__name__})"
            ) from error
    return coerce_numbers(result)


def dict_string(text: str, source: str, key: str) -> dict[str, Any]:
    """Parse RL Zoo's ``"dict(a=1, activation_fn=nn.ReLU)"`` string form (or a ``{...}`` literal) without ``eval``."""
    try:
        value = _literal(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, ValueError) as error:
        problem = f"cannot read {text!r} ({error}); write a YAML mapping such as {{net_arch: [64]}}"
        raise ConfigError.at(source, key, problem) from error
    if not isinstance(value, dict):
        raise ConfigError.at(source, key, f"expected a mapping or 'dict(key=value, ...)', got {text!r}")
    return value


def _literal(node: ast.expr) -> Any:
    """A literal, a nested ``dict(...)`` call, or a dotted name such as ``nn.ReLU`` (kept as a string)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {str(keyword.arg): _literal(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True) if k is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    if isinstance(node, (ast.Attribute, ast.Name)) and ast.unparse(node) not in ("True", "False", "None"):
        return ast.unparse(node)
    return ast.literal_eval(node)
