"""
A custom features extractor, passed through ``policy_kwargs`` exactly as with SB3: here a small network with
LayerNorm in front of the actor's and the critic's MLPs (each gets its own copy unless
``share_features_extractor=True``).

Run: python examples/custom_features_extractor.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

import gymnasium as gym
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from sb3_ddpg_ext import DDPG

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 5_000))


class NormalizedMlp(BaseFeaturesExtractor):
    """
    :param observation_space: The observation space (a Box)
    :param features_dim: Number of features extracted
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 32):
        super().__init__(observation_space, features_dim)
        self.net = nn.Sequential(nn.Linear(observation_space.shape[0], features_dim), nn.LayerNorm(features_dim), nn.ReLU())

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.net(observations)


policy_kwargs = dict(features_extractor_class=NormalizedMlp, features_extractor_kwargs=dict(features_dim=32), net_arch=[64])
model = DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=policy_kwargs, gamma=0.98, seed=0)
model.learn(steps)
print(model.actor.features_extractor)
print(f"actor and critic share the extractor: {model.actor.features_extractor is model.critic.features_extractor}")
