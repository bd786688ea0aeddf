"""Exploration noise: ``sb3_ddpg_ext.noise`` re-exports the action and parameter noise of ``sb3_ddpg_ext.common``."""

from sb3_ddpg_ext.common.noise import (
    GaussianNoise,
    OrnsteinUhlenbeckNoise,
    ScheduledNoise,
    check_noise_shape,
    make_action_noise,
    update_noise_progress,
)
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise

__all__ = [
    "AdaptiveParamNoise",
    "GaussianNoise",
    "OrnsteinUhlenbeckNoise",
    "ScheduledNoise",
    "check_noise_shape",
    "make_action_noise",
    "update_noise_progress",
]
