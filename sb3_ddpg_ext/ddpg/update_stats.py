"""
Statistics of DDPG's updates, from tensors the update already has: the critic's ``Q(s, a)`` on the minibatch, the
targets ``y``, the TD error ``y - Q(s, a)`` and the actor's actions in the actor step. No extra network pass; the
values stay on the device until the end of a ``train()`` call, which moves them to the host with the losses (no
extra synchronization per update). Logged through SB3's logger under ``train/`` (:data:`STAT_KEYS`).
"""

import numpy as np
import torch as th
from stable_baselines3.common.logger import Logger

STAT_KEYS = (
    "q_mean",
    "q_std",
    "target_mean",
    "target_std",
    "td_error_mean",
    "td_error_std",
    "actor_saturation",
)
# An action within 1% of the action range of a bound counts as saturated: |a| >= 0.98 in the actor's [-1, 1] output
SATURATION_LEVEL = 0.98


def update_statistics(q_values: th.Tensor, targets: th.Tensor, actions: th.Tensor) -> th.Tensor:
    """
    :param q_values: The critic's ``Q(s, a)`` on the minibatch
    :param targets: The targets ``y``
    :param actions: The actor's actions on the minibatch's observations, in its ``[-1, 1]`` output range
    :return: One value per :data:`STAT_KEYS` entry, on the update's device
    """
    q_values, targets, actions = q_values.detach().flatten(), targets.detach().flatten(), actions.detach()
    td_errors = targets - q_values
    saturated = (actions.abs() >= SATURATION_LEVEL).float().mean()
    spreads = [values.std(correction=0) for values in (q_values, targets, td_errors)]  # defined for a batch of one
    return th.stack([q_values.mean(), spreads[0], targets.mean(), spreads[1], td_errors.mean(), spreads[2], saturated])


def record_updates(logger: Logger, rows: np.ndarray, n_updates: int) -> None:
    """
    Log the means over a ``train()`` call's updates: the critic and actor losses (as SB3's DDPG does), then the
    statistics when the update computed them.

    :param logger: The model's logger
    :param rows: Critic losses, actor losses, then one row per :data:`STAT_KEYS` entry if any; one column per update
    :param n_updates: Updates so far
    """
    if rows.shape[1] == 0:
        return
    logger.record("train/n_updates", n_updates, exclude="tensorboard")
    logger.record("train/actor_loss", float(rows[1].mean()))
    logger.record("train/critic_loss", float(rows[0].mean()))
    for key, values in zip(STAT_KEYS, rows[2:], strict=False):
        logger.record(f"train/{key}", float(values.mean()))
