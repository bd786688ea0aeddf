"""
The policy on probe states: a fixed set of states, drawn once from the environment's start distribution (resets with
a fixed seed), on which the deterministic actor's actions are recorded at every evaluation.

The states are raw observations (before any ``VecNormalize``), so the same states mean the same situations all
through training; they are normalized with the statistics of the moment before the actor sees them.
"""

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize


def draw_probe_states(
    env_id: str,
    n_states: int,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    wrap: Callable[[gym.Env], gym.Env] | None = None,
) -> np.ndarray:
    """
    ``n_states`` initial observations of ``env_id``, from resets seeded ``seed, seed + 1, ...``.

    :param env_id: A Gymnasium environment id with a Box observation space
    :param n_states: Number of states
    :param seed: Seed of the first reset
    :param env_kwargs: Keyword arguments of ``gym.make``
    :param wrap: Applies the run's environment wrappers (their observations are what the policy sees); None: none
    :return: Array of shape ``(n_states, *observation_shape)``
    """
    env = gym.make(env_id, **(env_kwargs or {}))
    if wrap is not None:
        env = wrap(env)
    try:
        return np.stack([np.asarray(env.reset(seed=seed + k)[0], dtype=np.float32) for k in range(n_states)])
    finally:
        env.close()


def probe_actions(model: BaseAlgorithm, states: np.ndarray, env: VecEnv | None = None) -> np.ndarray:
    """
    The deterministic policy's actions on probe states, in the environment's action units.

    :param model: The model
    :param states: Raw probe observations, shape ``(n, *observation_shape)``
    :param env: The training environment; its ``VecNormalize`` statistics, if any, normalize the states first
    :return: Actions, shape ``(n, action_dim)``
    """
    observations: Any = states
    while env is not None:
        if isinstance(env, VecNormalize):
            observations = env.normalize_obs(states)
            break
        env = getattr(env, "venv", None)
    actions, _ = model.predict(observations, deterministic=True)
    return np.asarray(actions, dtype=np.float64).reshape(len(states), -1)
