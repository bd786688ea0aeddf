"""
Hindsight Experience Replay with SB3's HerReplayBuffer on a goal-conditioned env: SB3's BitFlippingEnv with continuous
actions (flip bit i when action i > 0), observations a dict of observation, achieved goal and desired goal.

Run: python examples/her_bit_flipping.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_ddpg_ext import DDPG

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 5_000))
N_BITS = 8

env = BitFlippingEnv(n_bits=N_BITS, continuous=True, max_steps=N_BITS)
model = DDPG(
    "MultiInputPolicy",
    env,
    replay_buffer_class=HerReplayBuffer,
    # relabel 4 sampled transitions per real one with goals achieved later in the same episode
    replay_buffer_kwargs=dict(n_sampled_goal=4, goal_selection_strategy="future"),
    learning_starts=2 * N_BITS,
    seed=0,
)
model.learn(steps)
model.save("ddpg_her_bit_flipping")

# Loading a HER model needs the env (the buffer computes rewards with it)
model = DDPG.load("ddpg_her_bit_flipping", env=env)
successes, _ = evaluate_policy(model, env, n_eval_episodes=20)  # reward 0 when the goal is reached, else -1
print(f"mean episode return {successes:.2f} (0 would be every goal reached at once, -{N_BITS} none)")
