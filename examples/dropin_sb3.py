"""
Drop-in replacement of SB3's DDPG: the example of SB3's DDPG page with one import changed.

Run: python examples/dropin_sb3.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

import gymnasium as gym
import numpy as np
from stable_baselines3.common.noise import NormalActionNoise

# was: from stable_baselines3 import DDPG
from sb3_ddpg_ext import DDPG

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 10_000))

env = gym.make("Pendulum-v1", render_mode="rgb_array")

# The noise objects for DDPG
n_actions = env.action_space.shape[-1]
action_noise = NormalActionNoise(mean=np.zeros(n_actions), sigma=0.1 * np.ones(n_actions))

model = DDPG("MlpPolicy", env, action_noise=action_noise, verbose=1, seed=0)
model.learn(total_timesteps=steps, log_interval=10)
model.save("ddpg_pendulum")
vec_env = model.get_env()

del model  # remove to demonstrate saving and loading

model = DDPG.load("ddpg_pendulum")

obs = vec_env.reset()
for _ in range(200):
    action, _states = model.predict(obs, deterministic=True)
    obs, rewards, dones, info = vec_env.step(action)
print(f"{type(model.policy).__name__} after {model.num_timesteps} steps; last reward {float(rewards[0]):.2f}")
