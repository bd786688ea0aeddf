"""Adaptive parameter-space noise (Plappert et al., 2017, "Parameter Space Noise for Exploration")."""

import math
from typing import Any

import torch as th
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from sb3_ddpg_ext.common.schedules import check_schedule, make_schedule


def _perturbable(module: nn.Module) -> list[th.Tensor]:
    """Parameters that receive noise: all but those of normalisation layers (LayerNorm, BatchNorm)."""
    skip = {id(p) for m in module.modules() if isinstance(m, (nn.LayerNorm, _BatchNorm)) for p in m.parameters()}
    return [p for p in module.parameters() if id(p) not in skip]


class AdaptiveParamNoise:
    """
    Adaptive parameter-space noise: rollouts use a copy of the actor with N(0, stddev^2) added to its weights
    (not to LayerNorm / BatchNorm parameters). Every ``adaptation_interval`` steps the stddev is multiplied or
    divided by ``adaptation_coefficient`` so that the distance between perturbed and clean actions on a replay batch,
    ``sqrt(mean((mu(s) - mu~(s))^2))``, tracks ``desired_action_stddev`` (times ``schedule(progress_remaining)``).

    Pass it to ``DDPG(..., param_noise=AdaptiveParamNoise())``; it combines with ``action_noise`` or replaces it.

    :param initial_stddev: initial stddev of the weight noise
    :param desired_action_stddev: target distance in action space (actions scaled to [-1, 1])
    :param adaptation_coefficient: factor (> 1) by which the stddev changes at each adaptation
    :param adaptation_interval: environment steps between adaptations
    :param perturb_interval: re-perturb every this many steps; ``None`` re-perturbs at episode starts only
    :param schedule: schedule of ``progress_remaining`` multiplying ``desired_action_stddev`` (e.g. a decay)
    """

    def __init__(
        self,
        initial_stddev: float = 0.1,
        desired_action_stddev: float = 0.2,
        adaptation_coefficient: float = 1.01,
        adaptation_interval: int = 50,
        perturb_interval: int | None = None,
        schedule: Any = None,
    ) -> None:
        problems = []
        if not (math.isfinite(initial_stddev) and initial_stddev > 0):
            problems.append(f"initial_stddev={initial_stddev} must be > 0")
        if not (math.isfinite(desired_action_stddev) and desired_action_stddev > 0):
            problems.append(f"desired_action_stddev={desired_action_stddev} must be > 0")
        if not adaptation_coefficient > 1:
            problems.append(f"adaptation_coefficient={adaptation_coefficient} must be > 1")
        if not (isinstance(adaptation_interval, int) and adaptation_interval >= 1):
            problems.append(f"adaptation_interval={adaptation_interval} must be an integer >= 1")
        if perturb_interval is not None and not (isinstance(perturb_interval, int) and perturb_interval >= 1):
            problems.append(f"perturb_interval={perturb_interval} must be None or an integer >= 1")
        if problems:
            raise ValueError("Invalid AdaptiveParamNoise: " + "; ".join(problems) + ".")
        self.initial_stddev = float(initial_stddev)
        self.current_stddev = float(initial_stddev)
        self.desired_action_stddev = float(desired_action_stddev)
        self.adaptation_coefficient = float(adaptation_coefficient)
        self.adaptation_interval = adaptation_interval
        self.perturb_interval = perturb_interval
        self.schedule = None if schedule is None else make_schedule(schedule)
        if self.schedule is not None:
            check_schedule(self.schedule, "param noise schedule")
        self.desired_stddev = self.desired_action_stddev * (1.0 if self.schedule is None else self.schedule(1.0))
        self.last_distance: float | None = None

    def update_progress(self, progress_remaining: float) -> None:
        """
        Set the desired action distance from the schedule.

        :param progress_remaining: 1 at the start of training, 0 at its end
        """
        if self.schedule is not None:
            self.desired_stddev = self.desired_action_stddev * float(self.schedule(progress_remaining))

    def perturb(self, actor: nn.Module, perturbed_actor: nn.Module) -> None:
        """
        Copy ``actor`` into ``perturbed_actor`` and add N(0, current_stddev^2) to its weights (torch's generator).

        :param actor: The clean actor
        :param perturbed_actor: A module of the same architecture, overwritten
        """
        perturbed_actor.load_state_dict(actor.state_dict())
        with th.no_grad():
            for param in _perturbable(perturbed_actor):
                param.add_(th.randn_like(param) * self.current_stddev)

    def adapt(self, actor: nn.Module, probe_actor: nn.Module, observations: Any) -> float:
        """
        Perturb ``probe_actor`` with the current stddev, measure its action distance to ``actor`` on
        ``observations``, and adapt the stddev towards the desired distance.

        :param actor: The clean actor
        :param probe_actor: A module of the same architecture used for the measurement, overwritten
        :param observations: A batch of observations (a replay sample's)
        :return: The measured distance
        """
        self.perturb(actor, probe_actor)
        with th.no_grad():
            distance = th.sqrt(th.mean((actor(observations) - probe_actor(observations)) ** 2)).item()
        if distance > self.desired_stddev:
            self.current_stddev /= self.adaptation_coefficient
        else:
            self.current_stddev *= self.adaptation_coefficient
        self.last_distance = distance
        return distance

    def __repr__(self) -> str:
        return (
            f"AdaptiveParamNoise(current_stddev={self.current_stddev:.4g}, desired_stddev={self.desired_stddev:.4g}, "
            f"adaptation_coefficient={self.adaptation_coefficient}, adaptation_interval={self.adaptation_interval}, "
            f"perturb_interval={self.perturb_interval}, schedule={self.schedule})"
        )
