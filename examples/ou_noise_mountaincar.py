"""
Scheduled Ornstein-Uhlenbeck noise on MountainCarContinuous-v0, where exploration decides success: sigma starts at 0.5
and decays linearly to 0.05 over the first 80 % of training (the exploration suite's "OU decaying" entry).

Run: python examples/ou_noise_mountaincar.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_ddpg_ext import DDPG, OrnsteinUhlenbeckNoise

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 30_000))

noise = OrnsteinUhlenbeckNoise(
    mean=np.zeros(1),
    sigma=0.5 * np.ones(1),
    schedule={"type": "linear", "start": 1.0, "end": 0.1, "end_fraction": 0.8},  # multiplier of sigma
)
model = DDPG("MlpPolicy", "MountainCarContinuous-v0", action_noise=noise, policy_kwargs=dict(net_arch=[64, 64]), seed=0)
model.learn(steps)

# The multiplier reached the schedule's end (logged as rollout/noise_scale, saved with the model): sigma 0.5 * 0.1
print(f"noise scale at the end: {model.action_noise.scale:.2f}, sigma {model.action_noise.sigma[0]:.2f}")
mean, std = evaluate_policy(model, model.get_env(), n_eval_episodes=5)
print(f"mean return {mean:.1f} +/- {std:.1f} (solved: 90)")
