"""Checks of DDPG's constructor arguments, raised before any work with SB3's exception types and a clearer message."""

import copy
import warnings

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)

from sb3_ddpg_ext.common.noise import ScheduledNoise


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
    if not 0 < tau <= 1:
        problems.append(f"tau={tau} must lie in (0, 1] (the Polyak coefficient; 0.005 is SB3's default)")
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
