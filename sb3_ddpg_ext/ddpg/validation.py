"""Checks of DDPG's constructor arguments, raised before any work with SB3's exception types and a clearer message."""

import numpy as np
from gymnasium import spaces


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
