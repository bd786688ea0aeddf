"""
Load a model saved by SB3's own DDPG: ``sb3_ddpg_ext.DDPG.load`` gives this package's DDPGPolicy with the same weights,
which then trains on with this package (exploration schedules, diagnostics, the fast mode). A file saved by SB3's TD3
or SAC is refused with a message naming the class to load it with.

Run: python examples/load_sb3_file.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

import gymnasium as gym
import stable_baselines3
import torch as th

import sb3_ddpg_ext

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 2_000))

sb3_model = stable_baselines3.DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[64, 64]), seed=0)
sb3_model.learn(steps)
sb3_model.save("sb3_ddpg_pendulum")

model = sb3_ddpg_ext.DDPG.load("sb3_ddpg_pendulum", env=gym.make("Pendulum-v1"))
print(type(model.policy).__module__, type(model.policy).__name__)
for name, weight in sb3_model.policy.state_dict().items():  # same module names, same weights
    assert th.equal(weight, model.policy.state_dict()[name]), name
print(f"{len(sb3_model.policy.state_dict())} tensors equal")
model.learn(steps, reset_num_timesteps=False)  # and it trains on
