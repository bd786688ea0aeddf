"""
Stop and resume training: save the model and its replay buffer, load both, and continue with
``reset_num_timesteps=False``. The step counter, the noise scale and every schedule go on from where they were (the
schedules' clock, SB3's ``progress_remaining``, continues from 1 - done / (done + more); it does not restart at 1).

Run: python examples/resume_training.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

import gymnasium as gym
import numpy as np

from sb3_ddpg_ext import DDPG, GaussianNoise

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 10_000))

noise = GaussianNoise(np.zeros(1), 0.3 * np.ones(1), schedule={"type": "linear", "start": 1.0, "end": 0.1})
model = DDPG("MlpPolicy", "Pendulum-v1", action_noise=noise, gamma=0.98, policy_kwargs=dict(net_arch=[64, 64]), seed=0)
model.learn(steps // 2)
model.save("ddpg_first_half")
model.save_replay_buffer("ddpg_first_half_buffer")
scale_at_stop = model.action_noise.scale

# ... later, maybe in another process:
model = DDPG.load("ddpg_first_half", env=gym.make("Pendulum-v1"))
model.load_replay_buffer("ddpg_first_half_buffer")
assert model.action_noise.scale == scale_at_stop  # the noise scale was saved with the model
model.learn(steps - steps // 2, reset_num_timesteps=False)
size, scale = model.replay_buffer.size(), model.action_noise.scale
print(f"{model.num_timesteps} steps in all, replay buffer {size}, noise scale {scale:.2f}")

# sb3-ddpg bench does this for its runs: a killed run goes on from its last evaluation when the suite runs again
