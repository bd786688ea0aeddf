"""Regression tests for algorithm defects."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from sb3_ddpg_ext import DDPG

TINY = dict(policy_kwargs=dict(net_arch=[16]), buffer_size=1_000, batch_size=16, device="cpu")


def _state(model) -> list[th.Tensor]:
    """Every tensor an update changes: networks, targets and both optimizers' states."""
    tensors = [p.detach().clone() for p in model.policy.parameters()]
    for optimizer in (model.actor.optimizer, model.critic.optimizer):
        for state in optimizer.state_dict()["state"].values():
            tensors += [value.clone() for value in state.values()]
    return tensors


def _assert_same(a: list[th.Tensor], b: list[th.Tensor]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert th.equal(x, y)


# 1. Frozen actor parameters train as in SB3's DDPG


class FrozenLinearExtractor(BaseFeaturesExtractor):
    """A features extractor with a frozen (e.g. pretrained) linear layer."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 8):
        super().__init__(observation_space, features_dim)
        self.linear = th.nn.Linear(observation_space.shape[0], features_dim)
        self.linear.requires_grad_(False)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return th.relu(self.linear(observations))


@pytest.mark.parametrize("frozen", ["first_layer_after_construction", "features_extractor"])
def test_frozen_actor_parameters_train_like_sb3(frozen):
    results = []
    for cls in (DDPG, SB3DDPG):
        policy_kwargs: dict = dict(net_arch=[32, 32])
        if frozen == "features_extractor":
            policy_kwargs["features_extractor_class"] = FrozenLinearExtractor
        model = cls(
            "MlpPolicy",
            "Pendulum-v1",
            seed=4,
            learning_starts=50,
            buffer_size=1_000,
            batch_size=32,
            policy_kwargs=policy_kwargs,
            action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
            device="cpu",
        )
        layer = model.actor.mu[0] if frozen == "first_layer_after_construction" else model.actor.features_extractor
        layer.requires_grad_(False)
        before = [p.detach().clone() for p in layer.parameters()]
        trained_before = [p.detach().clone() for p in model.actor.mu[-2].parameters()]
        model.learn(200)
        _assert_same([p.detach() for p in layer.parameters()], before)
        assert not th.equal(model.actor.mu[-2].weight, trained_before[0])  # the rest of the actor trained
        results.append(_state(model))
    _assert_same(*results)


# 2. load(critic_weight_decay=...) wins over the saved optimizer's value


def test_load_kwargs_set_critic_weight_decay(tmp_path):
    model = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, learning_starts=20, **TINY)
    model.learn(40)
    model.save(tmp_path / "m")
    for kwargs, expected in (({"critic_weight_decay": 0.05}, 0.05), ({"critic_weight_decay": 0.0}, 0.0), ({}, 0.01)):
        loaded = DDPG.load(tmp_path / "m", env=model.get_env(), **kwargs)
        assert loaded.critic_weight_decay == expected
        assert [group["weight_decay"] for group in loaded.critic.optimizer.param_groups] == [expected]
        assert [group["weight_decay"] for group in loaded.actor.optimizer.param_groups] == [0.0]
        assert loaded.critic.optimizer.state_dict()["state"]  # the saved Adam moments came back
    # set_parameters from a file with another weight decay keeps the model's own
    other = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.2, **TINY)
    other.set_parameters(str(tmp_path / "m.zip"))
    assert [group["weight_decay"] for group in other.critic.optimizer.param_groups] == [0.2]
