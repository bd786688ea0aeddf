"""
Adaptive parameter-space noise (Plappert et al., 2017, "Parameter Space Noise for Exploration",
https://arxiv.org/abs/1706.01905).

Exploration comes from a copy of the actor whose weights are perturbed with Gaussian noise of
standard deviation ``current_stddev``. Since the effect of a weight perturbation on the actions is
hard to predict, ``current_stddev`` is adapted so that the distance between the actions of the actor
and of a perturbed copy, ``d = sqrt(mean((actor(obs) - perturbed_actor(obs))^2))``, stays near
``desired_stddev`` (in the actor's output units: SB3's actors output actions scaled to [-1, 1]).

:class:`AdaptiveParamNoise` works purely on torch modules. :class:`PerturbedActors` holds the exploration
actors of a (vectorized) rollout, one per environment, and decides when each is re-perturbed; the algorithm
calls :meth:`AdaptiveParamNoise.adapt` every ``adaptation_interval`` environment steps, on a batch of replay
observations, as in the paper, with a scratch copy of the actor just perturbed with the current stddev.
"""

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from sb3_ddpg_ext.common.schedules import check_schedule, make_schedule, schedule_value

__all__ = ["AdaptiveParamNoise", "PerturbedActors", "is_normalization_layer"]

_NORMALIZATION_LAYERS: tuple[type[nn.Module], ...] = (
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.batchnorm._NormBase,  # BatchNorm*, SyncBatchNorm, InstanceNorm*
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)


def is_normalization_layer(module: nn.Module) -> bool:
    """
    Whether the module is a normalization layer, whose parameters are never perturbed
    (LayerNorm, GroupNorm, BatchNorm, InstanceNorm, RMSNorm).

    :param module: the module to test
    """
    return isinstance(module, _NORMALIZATION_LAYERS)


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"AdaptiveParamNoise: {name} must be a positive number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"AdaptiveParamNoise: {name} must be a positive number, got {value!r}") from e
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"AdaptiveParamNoise: {name} must be finite and > 0, got {value!r}")
    return number


def _check_interval(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"AdaptiveParamNoise: {name} must be an integer >= 1, got {value!r}")
    return int(value)


class AdaptiveParamNoise:
    """
    Adaptive parameter-space noise (Plappert et al., 2017).

    :param initial_stddev: Initial standard deviation of the Gaussian noise added to the actor's weights
    :param desired_action_stddev: Target distance between the actions of the actor and of its
        perturbed copy (in the actor's output units, [-1, 1] for SB3), before the schedule's multiplier
    :param adaptation_coefficient: Factor (> 1) by which the weight stddev is divided when the distance is
        above the target, and multiplied otherwise
    :param adaptation_interval: Number of environment steps between two adaptations. DDPG counts its
        ``num_timesteps``, which a vectorized step of ``n_envs`` environments advances by ``n_envs``, and adapts
        after the first vectorized step that is at least ``adaptation_interval`` steps after the last adaptation
        (or after the start of a ``learn()`` that resets the step counter)
    :param perturb_interval: Number of steps of one environment after which that environment's exploration
        actor is perturbed again; None: only at the start of each of its episodes. Each environment acts with its
        own perturbed copy of the actor (see :class:`PerturbedActors`), so with ``n_envs`` environments a
        vectorized step is one step of each
    :param schedule: Multiplier of ``desired_action_stddev`` as a function of ``progress_remaining``
        (anything :func:`~sb3_ddpg_ext.common.schedules.make_schedule` accepts), e.g. to decay exploration;
        None keeps it constant
    """

    def __init__(
        self,
        initial_stddev: float = 0.1,
        desired_action_stddev: float = 0.2,
        adaptation_coefficient: float = 1.01,
        adaptation_interval: int = 50,
        perturb_interval: int | None = None,
        schedule: float | str | dict[str, Any] | Callable[[float], float] | None = None,
    ) -> None:
        self.initial_stddev = _check_positive(initial_stddev, "initial_stddev")
        self.desired_action_stddev = _check_positive(desired_action_stddev, "desired_action_stddev")
        coefficient = _check_positive(adaptation_coefficient, "adaptation_coefficient")
        if coefficient <= 1.0:
            raise ValueError(f"AdaptiveParamNoise: adaptation_coefficient must be > 1, got {adaptation_coefficient!r}")
        self.adaptation_coefficient = coefficient
        self.adaptation_interval = _check_interval(adaptation_interval, "adaptation_interval")
        self.perturb_interval = None if perturb_interval is None else _check_interval(perturb_interval, "perturb_interval")
        self.schedule = None if schedule is None else check_schedule(make_schedule(schedule), "AdaptiveParamNoise schedule")
        self.current_stddev = self.initial_stddev
        self.scale = 1.0 if self.schedule is None else schedule_value(self.schedule, 1.0, "AdaptiveParamNoise schedule")
        self.last_distance: float | None = None

    @property
    def desired_stddev(self) -> float:
        """Current target distance: ``desired_action_stddev * schedule(progress_remaining)``."""
        return self.desired_action_stddev * self.scale

    def update_progress(self, progress_remaining: float) -> None:
        """
        Set the current target distance from the schedule (no effect without schedule).

        :param progress_remaining: 1 at the start of ``learn()``, 0 at its end
        """
        if self.schedule is not None:
            self.scale = schedule_value(self.schedule, progress_remaining, "AdaptiveParamNoise schedule")

    @torch.no_grad()
    def perturb(self, actor: nn.Module, perturbed_actor: nn.Module) -> None:
        """
        Copy the actor's weights (and buffers) into ``perturbed_actor``, then add Gaussian noise
        ``N(0, current_stddev^2)`` to each of its parameters, except those of normalization layers.
        Draws from torch's global generator (one ``randn_like`` per perturbed parameter, in module order).

        :param actor: The actor, left unchanged
        :param perturbed_actor: A module with the same architecture, overwritten
        """
        if perturbed_actor is actor:
            raise ValueError("AdaptiveParamNoise.perturb: perturbed_actor must be a separate copy of the actor")
        perturbed_actor.load_state_dict(actor.state_dict())
        for module in perturbed_actor.modules():
            if is_normalization_layer(module):
                continue
            for param in module.parameters(recurse=False):
                param.add_(torch.randn_like(param) * self.current_stddev)

    def distance(self, actor: nn.Module, perturbed_actor: nn.Module, observations: torch.Tensor) -> float:
        """
        Distance between the actions of the actor and of the perturbed actor on a batch of observations,
        ``sqrt(mean((actor(obs) - perturbed_actor(obs))^2))``, computed without gradients and in eval mode
        (batch-norm statistics are used, not updated); both modules get their training flags back.

        :param actor: The actor
        :param perturbed_actor: Its perturbed copy
        :param observations: A batch of observations, as the actor takes them
        :return: The distance
        """
        modes = [(module, module.training) for module in (*actor.modules(), *perturbed_actor.modules())]
        try:
            actor.eval()
            perturbed_actor.eval()
            with torch.no_grad():
                diff = actor(observations) - perturbed_actor(observations)
                distance = torch.sqrt(torch.mean(diff.float() ** 2)).item()
        finally:
            for module, training in modes:
                module.training = training
        return distance

    def adapt(self, actor: nn.Module, perturbed_actor: nn.Module, observations: torch.Tensor) -> float:
        """
        Measure the distance (see :meth:`distance`) and adapt ``current_stddev``: divide it by
        ``adaptation_coefficient`` when the distance is above ``desired_stddev``, multiply it otherwise.

        :param actor: The actor
        :param perturbed_actor: A copy of the actor perturbed with the current stddev (see :meth:`perturb`)
        :param observations: A batch of observations, as the actor takes them
        :return: The distance
        """
        distance = self.distance(actor, perturbed_actor, observations)
        if not math.isfinite(distance):
            raise RuntimeError(
                f"AdaptiveParamNoise.adapt: the action distance is {distance}; the actor or its perturbed copy "
                "outputs non-finite actions"
            )
        if distance > self.desired_stddev:
            self.current_stddev /= self.adaptation_coefficient
        else:
            self.current_stddev *= self.adaptation_coefficient
        self.last_distance = distance
        return distance

    def __repr__(self) -> str:
        return (
            f"AdaptiveParamNoise(initial_stddev={self.initial_stddev}, desired_action_stddev={self.desired_action_stddev}, "
            f"adaptation_coefficient={self.adaptation_coefficient}, adaptation_interval={self.adaptation_interval}, "
            f"perturb_interval={self.perturb_interval}, schedule={self.schedule!r}, "
            f"current_stddev={self.current_stddev:g}, desired_stddev={self.desired_stddev:g})"
        )


def _row(observations: torch.Tensor | dict[str, torch.Tensor], index: int) -> torch.Tensor | dict[str, torch.Tensor]:
    """The observation of one environment, as a batch of one (Dict observations give a dict of tensors)."""
    if isinstance(observations, dict):
        return {key: value[index : index + 1] for key, value in observations.items()}
    return observations[index : index + 1]


class PerturbedActors:
    """
    The exploration actors of parameter noise in a vectorized rollout: one perturbed copy of the actor per
    environment. Environment ``i`` acts with copy ``i``, which is perturbed again (from the current actor, with
    the current stddev) at the first step of each of that environment's episodes and, when ``perturb_interval`` is
    set, after every ``perturb_interval`` steps of that environment. So one environment's episode end never changes
    the actor another environment is in the middle of an episode with. With one environment this is the paper's
    single perturbed actor, perturbed at the same steps and with the same random draws.

    Copies for further environments are deep copies of the first (no random draws), made when a rollout first
    has that many environments. The copies are rebuilt, not saved, with a model.

    :param actor: The first copy (a module with the actor's architecture; it is put in evaluation mode)
    """

    def __init__(self, actor: nn.Module) -> None:
        actor.train(False)
        self.actors: list[nn.Module] = [actor]
        self.new_episode = np.ones(1, dtype=bool)  # whether the next step of each environment starts an episode
        self.steps = np.zeros(1, dtype=np.int64)  # steps of each environment since its copy was perturbed

    def start_episodes(self, episode_starts: np.ndarray | None = None) -> None:
        """
        Mark the environments whose next step starts an episode, so that their copies are perturbed before it.

        :param episode_starts: One flag per environment (the ``dones`` of the last step); None: all environments
        """
        if episode_starts is None:
            self.new_episode[:] = True
        else:
            self._resize(len(episode_starts))
            self.new_episode[: len(episode_starts)] |= np.asarray(episode_starts, dtype=bool)

    def _resize(self, n_envs: int) -> None:
        while len(self.actors) < n_envs:
            self.actors.append(copy.deepcopy(self.actors[0]))
        if len(self.new_episode) < n_envs:
            grow = n_envs - len(self.new_episode)
            self.new_episode = np.concatenate([self.new_episode, np.ones(grow, dtype=bool)])
            self.steps = np.concatenate([self.steps, np.zeros(grow, dtype=np.int64)])

    @torch.no_grad()
    def act(
        self,
        noise: AdaptiveParamNoise,
        actor: nn.Module,
        observations: torch.Tensor | dict[str, torch.Tensor],
        n_envs: int,
    ) -> torch.Tensor:
        """
        Perturb the copies that are due, then compute each environment's action with its own copy.

        :param noise: The parameter noise (its ``current_stddev`` and ``perturb_interval``)
        :param actor: The actor the copies are perturbed from
        :param observations: One observation per environment, as the actor takes them
        :param n_envs: The number of environments
        :return: The actions of the perturbed copies, one row per environment
        """
        self._resize(n_envs)
        interval = noise.perturb_interval
        for i in range(n_envs):
            if self.new_episode[i] or (interval is not None and self.steps[i] >= interval):
                noise.perturb(actor, self.actors[i])
                self.new_episode[i], self.steps[i] = False, 0
        self.steps[:n_envs] += 1
        if n_envs == 1:
            return self.actors[0](observations)
        return torch.cat([self.actors[i](_row(observations, i)) for i in range(n_envs)])
