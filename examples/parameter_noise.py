"""
Adaptive parameter-space noise (Plappert et al., 2017): rollouts use a copy of the actor with Gaussian noise on its
weights, whose standard deviation adapts so that the perturbed actions differ from the clean ones by about
``desired_action_stddev``. ``predict()`` and evaluation use the clean actor.

Run: python examples/parameter_noise.py   (SB3_DDPG_EXAMPLE_STEPS=500 for a quick check)
"""

import os

from sb3_ddpg_ext import DDPG, AdaptiveParamNoise

steps = int(os.environ.get("SB3_DDPG_EXAMPLE_STEPS", 30_000))

param_noise = AdaptiveParamNoise(initial_stddev=0.2, desired_action_stddev=0.3, adaptation_interval=50)
model = DDPG("MlpPolicy", "MountainCarContinuous-v0", param_noise=param_noise, policy_kwargs=dict(net_arch=[64, 64]), seed=0)
model.learn(steps)

# The adapted weight-noise level (logged as rollout/param_noise_stddev, saved with the model)
print(f"parameter noise stddev after {model.num_timesteps} steps: {model.param_noise.current_stddev:.3f}")
