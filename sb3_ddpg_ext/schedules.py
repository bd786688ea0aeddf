"""Schedules of ``progress_remaining``: ``sb3_ddpg_ext.schedules`` re-exports ``sb3_ddpg_ext.common.schedules``."""

from sb3_ddpg_ext.common.schedules import (
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    LinearSchedule,
    PiecewiseSchedule,
    check_schedule,
    make_schedule,
)

__all__ = [
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "LinearSchedule",
    "PiecewiseSchedule",
    "check_schedule",
    "make_schedule",
]
