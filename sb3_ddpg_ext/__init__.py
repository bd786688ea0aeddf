"""sb3_ddpg_ext: DDPG as a first-class Stable-Baselines3 algorithm."""

import pathlib

from sb3_ddpg_ext.ddpg import DDPG, CnnPolicy, DDPGPolicy, MlpPolicy, MultiInputPolicy, NonFiniteLossError
from sb3_ddpg_ext.noise import AdaptiveParamNoise, GaussianNoise, OrnsteinUhlenbeckNoise, ScheduledNoise, make_action_noise
from sb3_ddpg_ext.schedules import (
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    LinearSchedule,
    PiecewiseSchedule,
    make_schedule,
)

__version__ = (pathlib.Path(__file__).parent / "version.txt").read_text().strip()

__all__ = [
    "DDPG",
    "AdaptiveParamNoise",
    "CnnPolicy",
    "ConstantSchedule",
    "CosineSchedule",
    "DDPGPolicy",
    "ExponentialSchedule",
    "GaussianNoise",
    "LinearSchedule",
    "MlpPolicy",
    "MultiInputPolicy",
    "NonFiniteLossError",
    "OrnsteinUhlenbeckNoise",
    "PiecewiseSchedule",
    "ScheduledNoise",
    "__version__",
    "make_action_noise",
    "make_schedule",
]
