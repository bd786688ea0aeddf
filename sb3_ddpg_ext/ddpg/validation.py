"""
Checks of DDPG's inputs, raised before any work with SB3's exception types and a clearer message: its constructor
arguments, and the model files ``DDPG.load`` is given (which algorithm saved them).
"""

import copy
import io
import json
import pathlib
import warnings
import zipfile
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)
from stable_baselines3.common.save_util import json_to_data
from stable_baselines3.td3 import policies as td3_policies

from sb3_ddpg_ext.common.noise import ScheduledNoise
from sb3_ddpg_ext.ddpg import policies

# Attributes that SB3's DDPG saves (it is TD3 with policy_delay=1, target_noise_clip=0) and this DDPG does not have
SB3_ONLY_ATTRIBUTES = ("policy_delay", "target_policy_noise", "target_noise_clip")
# SB3's TD3 policies, which SB3's DDPG saves, and this package's policies with the same modules and weights
_SB3_POLICIES = {
    td3_policies.TD3Policy: policies.DDPGPolicy,
    td3_policies.CnnPolicy: policies.CnnPolicy,
    td3_policies.MultiInputPolicy: policies.MultiInputPolicy,
}


def check_action_space(action_space: spaces.Space) -> None:
    """Raise an ``AssertionError`` (SB3's type for unsupported spaces) that names the space and what to use instead."""
    if not isinstance(action_space, spaces.Box):
        raise AssertionError(
            f"DDPG needs a continuous (gymnasium.spaces.Box) action space, got {action_space}. "
            "For Discrete / MultiDiscrete / MultiBinary actions use DQN, PPO or A2C from stable_baselines3, "
            "or wrap the environment so its actions are a bounded Box."
        )
    if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise AssertionError(
            f"DDPG needs a bounded action space, got {action_space} with infinite bounds: its actor outputs tanh "
            "actions rescaled to [low, high]. Give the Box finite low/high, e.g. with gymnasium.wrappers.ClipAction "
            "or RescaleAction."
        )


def check_hyperparameters(
    tau: float, gamma: float, batch_size: int, buffer_size: int, learning_starts: int, critic_weight_decay: float
) -> None:
    """Raise one ``ValueError`` listing every invalid hyperparameter with its allowed range."""
    problems = []
    if not 0 <= tau <= 1:
        problems.append(
            f"tau={tau} must lie in [0, 1] (the Polyak coefficient, 0 freezes the targets; 0.005 is SB3's default)"
        )
    if not 0 <= gamma <= 1:
        problems.append(f"gamma={gamma} must lie in [0, 1] (the discount factor; 0.99 is SB3's default)")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
        problems.append(f"batch_size={batch_size} must be a positive integer (256 is SB3's default)")
    if not (isinstance(buffer_size, (int, np.integer)) and buffer_size > 0):
        problems.append(f"buffer_size={buffer_size} must be a positive integer (1_000_000 is SB3's default)")
    if not learning_starts >= 0:
        problems.append(f"learning_starts={learning_starts} must be >= 0 (100 is SB3's default)")
    if not critic_weight_decay >= 0:
        problems.append(f"critic_weight_decay={critic_weight_decay} must be >= 0 (the paper uses 1e-2)")
    if problems:
        raise ValueError("Invalid DDPG hyperparameters: " + "; ".join(problems) + ".")


def check_decay_scope(scope: Any) -> None:
    """Raise one ``ValueError`` naming the allowed scopes of ``critic_weight_decay``."""
    if scope not in policies.DECAY_SCOPES:
        raise ValueError(
            f"critic_weight_decay_scope={scope!r} is not one of {list(policies.DECAY_SCOPES)} ('hidden': the hidden "
            "layers' weight matrices, as OpenAI Baselines; 'weights': every weight matrix, as rllab; 'all': every "
            "parameter through Adam's weight_decay)"
        )


def _noise_output_shape(action_noise: ActionNoise) -> tuple[int, ...] | None:
    if isinstance(action_noise, ScheduledNoise):
        return _noise_output_shape(action_noise.noise)
    if isinstance(action_noise, (NormalActionNoise, OrnsteinUhlenbeckActionNoise)):
        return tuple(np.broadcast_shapes(np.shape(action_noise._mu), np.shape(action_noise._sigma)))
    # Unknown noise: call a copy (so its own state does not advance) and restore NumPy's global RNG
    try:
        probe = copy.deepcopy(action_noise)
    except Exception as e:
        warnings.warn(f"cannot check the shape of {action_noise!r}: it cannot be deep-copied ({e})")
        return None
    state = np.random.get_state()
    try:
        return tuple(np.shape(probe()))
    finally:
        np.random.set_state(state)


def check_noise_shape(action_noise: ActionNoise | None, action_dim: int) -> None:
    """
    Check that the noise (or each per-env copy of a ``VectorizedActionNoise``) has the action
    space's shape ``(action_dim,)``, without drawing from NumPy's global random generator.

    :param action_noise: The noise (None passes)
    :param action_dim: Dimension of the (Box) action space
    :raises ValueError: if the shapes differ
    """
    if action_noise is None:
        return
    noises = action_noise.noises if isinstance(action_noise, VectorizedActionNoise) else [action_noise]
    for noise in noises:
        shape = _noise_output_shape(noise)
        if shape is not None and shape != (action_dim,):
            raise ValueError(
                f"action_noise has shape {shape} but the action space has dimension {action_dim}; "
                f"build it with mean=np.zeros({action_dim}) and sigma of shape ({action_dim},) or a scalar"
            )


def _saved_data(path: str | pathlib.Path | io.BufferedIOBase, keys: tuple[str, ...], custom_objects: dict[str, Any]) -> dict:
    """The entries ``keys`` of a model file's ``data`` (SB3's JSON), deserialized as SB3's ``load`` does."""
    position = path.tell() if isinstance(path, io.BufferedIOBase) else None
    try:
        with zipfile.ZipFile(path) as archive:  # type: ignore[arg-type]
            saved = json.loads(archive.read("data").decode())
    finally:
        if isinstance(path, io.BufferedIOBase):
            path.seek(position or 0)
    return json_to_data(json.dumps({key: saved[key] for key in keys if key in saved}), custom_objects)


def objects_for_saved_model(
    path: str | pathlib.Path | io.BufferedIOBase, custom_objects: dict[str, Any] | None = None
) -> dict[str, Any]:
    """
    What ``DDPG.load`` must replace in a model file: nothing for a file saved by this package; for a file saved by
    SB3's DDPG (a ``TD3Policy`` with one critic, ``policy_delay=1`` and no target noise) this package's policy with the
    same modules. Any other algorithm's file is refused.

    :param path: The model file (checked by :func:`~sb3_ddpg_ext.common.save.check_model_file`), or a file object
    :param custom_objects: The user's ``custom_objects`` of ``load``; a ``policy_class`` there is used as it is
    :return: ``custom_objects`` entries for SB3's ``load``
    :raises ValueError: when the file holds another algorithm's model (SB3's TD3 or SAC, PPO, ...)
    """
    custom_objects = custom_objects or {}
    if "policy_class" in custom_objects:
        return {}
    keys = ("policy_class", "policy_kwargs", "policy_delay", "target_noise_clip")
    data = _saved_data(path, keys, custom_objects)
    policy_class = data.get("policy_class")
    if isinstance(policy_class, type) and issubclass(policy_class, policies.DDPGPolicy):
        return {}
    name = f"{getattr(policy_class, '__module__', '?')}.{getattr(policy_class, '__qualname__', policy_class)}"
    where = "a file object" if isinstance(path, io.BufferedIOBase) else f"'{path}'"
    if policy_class in _SB3_POLICIES:
        td3 = {
            "n_critics": (data.get("policy_kwargs") or {}).get("n_critics", 2),
            "policy_delay": data.get("policy_delay", 2),
            "target_noise_clip": data.get("target_noise_clip", 0.5),
        }
        if td3 == {"n_critics": 1, "policy_delay": 1, "target_noise_clip": 0.0}:  # SB3's DDPG
            return {"policy_class": _SB3_POLICIES[policy_class]}
        settings = ", ".join(f"{key}={value}" for key, value in td3.items())
        raise ValueError(
            f"Cannot load {where} as DDPG: it holds an SB3 TD3 model ({settings}; DDPG has 1 critic, policy_delay=1, "
            "no target noise). Load it with stable_baselines3.TD3.load()."
        )
    package, algo = [*name.split("."), ""][:2]
    loader = f"{package}.{algo.upper()}.load()" if package in ("stable_baselines3", "sb3_contrib") else "its algorithm"
    raise ValueError(
        f"Cannot load {where} as DDPG: it holds a model of another algorithm (policy {name}). Load it with {loader}."
    )


def settings_of_earlier_files(
    path: str | pathlib.Path | io.BufferedIOBase, custom_objects: dict[str, Any] | None = None
) -> dict[str, Any]:
    """
    Arguments that keep a file saved by an earlier version of this package training as it did: a file with a
    ``critic_weight_decay`` but no ``critic_weight_decay_scope`` decayed every critic parameter (scope ``"all"``), and
    loads with that scope, with a warning saying so.

    :param path: The model file, or a file object
    :param custom_objects: The user's ``custom_objects`` of ``load``
    :return: Keyword arguments for SB3's ``load`` (the user's own override them)
    """
    data = _saved_data(path, ("critic_weight_decay", "critic_weight_decay_scope"), custom_objects or {})
    if "critic_weight_decay_scope" in data or not (data.get("critic_weight_decay") or 0) > 0:
        return {}
    warnings.warn(
        f"This model was saved before critic_weight_decay_scope existed: its critic_weight_decay="
        f"{data['critic_weight_decay']} keeps decaying every critic parameter (scope 'all'). Load it with "
        "critic_weight_decay_scope='hidden' for the reference implementations' L2 (hidden weight matrices only).",
        stacklevel=3,
    )
    return {"critic_weight_decay_scope": "all"}
