"""Exploration noise: ``sb3_ddpg_ext.noise`` re-exports the action and parameter noise of ``sb3_ddpg_ext.common``
and the check DDPG's constructor runs on a noise's shape."""

from sb3_ddpg_ext.common.noise import (
    GaussianNoise,
    OrnsteinUhlenbeckNoise,
    ScheduledNoise,
    make_action_noise,
    update_noise_progress,
)
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise
from sb3_ddpg_ext.ddpg.validation import check_noise_shape

__all__ = [
    "AdaptiveParamNoise",
    "GaussianNoise",
    "OrnsteinUhlenbeckNoise",
    "ScheduledNoise",
    "check_noise_shape",
    "make_action_noise",
    "update_noise_progress",
]
