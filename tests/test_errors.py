"""Bad input gets a clear error, raised before any work starts."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.noise import NormalActionNoise

from sb3_ddpg_ext import DDPG, NonFiniteLossError


class _SpaceEnv(gym.Env):
    def __init__(self, action_space: spaces.Space):
        self.observation_space = spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = action_space

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, False, False, {}


@pytest.mark.parametrize(
    ("space", "words"),
    [
        (spaces.Discrete(3), "Discrete"),
        (spaces.MultiDiscrete([2, 3]), "MultiDiscrete"),
        (spaces.MultiBinary(4), "MultiBinary"),
        (spaces.Box(-np.inf, np.inf, (2,), np.float32), "bounded"),
    ],
)
def test_unsupported_action_spaces(space, words):
    with pytest.raises(AssertionError, match=words) as info:
        DDPG("MlpPolicy", _SpaceEnv(space))
    assert "DDPG" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        (dict(tau=-0.1), "tau"),
        (dict(tau=1.5), "tau"),
        (dict(gamma=-0.1), "gamma"),
        (dict(gamma=1.01), "gamma"),
        (dict(batch_size=0), "batch_size"),
        (dict(buffer_size=-5), "buffer_size"),
        (dict(learning_starts=-1), "learning_starts"),
        (dict(critic_weight_decay=-1.0), "critic_weight_decay"),
    ],
)
def test_bad_hyperparameters(kwargs, key):
    with pytest.raises(ValueError, match=key):
        DDPG("MlpPolicy", "Pendulum-v1", **kwargs)


def test_tau_one_and_gamma_bounds_are_allowed():
    DDPG("MlpPolicy", "Pendulum-v1", tau=1.0, gamma=0.0, learning_starts=0, buffer_size=10)


def test_noise_shape_mismatch():
    noise = NormalActionNoise(np.zeros(3), 0.1 * np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(3,\).*dimension 1"):
        DDPG("MlpPolicy", "Pendulum-v1", action_noise=noise)
    model = DDPG("MlpPolicy", "Pendulum-v1", buffer_size=100)
    model.action_noise = noise  # set after construction: caught when learn() starts
    with pytest.raises(ValueError, match="action_noise"):
        model.learn(10)
    assert model.num_timesteps == 0


def test_n_critics_rejected():
    with pytest.raises(ValueError, match="TD3"):
        DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(n_critics=2))


def test_critic_action_layer_out_of_range():
    with pytest.raises(ValueError, match="critic_action_layer"):
        DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 32], critic_action_layer=2))


class _NaNRewardEnv(gym.Wrapper):
    def step(self, action):
        obs, _reward, terminated, truncated, info = self.env.step(action)
        return obs, float("nan"), terminated, truncated, info


def test_nan_loss_stops_training_with_named_step():
    model = DDPG(
        "MlpPolicy",
        _NaNRewardEnv(gym.make("Pendulum-v1")),
        learning_starts=20,
        batch_size=8,
        buffer_size=200,
        policy_kwargs=dict(net_arch=[8]),
    )
    with pytest.raises(NonFiniteLossError, match=r"critic loss became nan at gradient update 1 \(environment step 21\)"):
        model.learn(100)
