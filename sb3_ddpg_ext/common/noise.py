"""
Action noise with a schedule of SB3's ``progress_remaining``.

All noises draw from NumPy's global generator (``np.random.normal``), once per call and nothing
more, exactly like SB3's, so ``model.seed`` / ``set_random_seed`` makes runs repeatable; without a
schedule the output equals SB3's ``NormalActionNoise`` / ``OrnsteinUhlenbeckActionNoise`` bit for bit.

The algorithm calls :func:`update_noise_progress` after every environment step (``_on_step``);
it sets the current scale of the noise, and of every per-env copy when SB3 wrapped it in a
``VectorizedActionNoise``, from the schedule's value at the current ``progress_remaining``.
The scale is a plain attribute, so it is pickled with the model and a resumed run continues
where it was.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)

from sb3_ddpg_ext.common.schedules import check_schedule, make_schedule, schedule_value

__all__ = [
    "ACTION_NOISE_TYPES",
    "GaussianNoise",
    "OrnsteinUhlenbeckNoise",
    "ScheduledNoise",
    "make_action_noise",
    "update_noise_progress",
]

ScheduleLike = float | str | dict[str, Any] | Callable[[float], float]


def _build_schedule(schedule: ScheduleLike | None, owner: str) -> Callable[[float], float] | None:
    if schedule is None:
        return None
    built = make_schedule(schedule)
    check_schedule(built, f"{owner} schedule")
    return built


class _ScheduledScale:
    """
    The schedule part the noises share: ``schedule`` (None: constant), the current multiplier ``scale``, and
    ``update_progress`` to set it. Error messages name the concrete class.
    """

    schedule: Callable[[float], float] | None
    _scale: float

    def _init_schedule(self, schedule: ScheduleLike | None) -> None:
        self.schedule = _build_schedule(schedule, type(self).__name__)
        self._scale = 1.0 if self.schedule is None else schedule_value(self.schedule, 1.0, f"{type(self).__name__} schedule")

    @property
    def scale(self) -> float:
        """Current multiplier (1.0 without schedule)."""
        return self._scale

    def update_progress(self, progress_remaining: float) -> None:
        """
        Set the current scale from the schedule.

        :param progress_remaining: 1 at the start of ``learn()``, 0 at its end
        """
        if self.schedule is not None:
            self._scale = schedule_value(self.schedule, progress_remaining, f"{type(self).__name__} schedule")


def _check_mean_sigma(mean: ArrayLike, sigma: ArrayLike, owner: str) -> tuple[np.ndarray, np.ndarray]:
    # np.asarray keeps the caller's dtype (float32 arrays stay float32), so results match SB3's bit for bit
    mean_array = np.asarray(mean)
    sigma_array = np.asarray(sigma)
    if not np.issubdtype(mean_array.dtype, np.number) or not np.issubdtype(sigma_array.dtype, np.number):
        raise ValueError(f"{owner}: mean and sigma must be numeric arrays, got mean={mean!r}, sigma={sigma!r}")
    if not np.all(np.isfinite(mean_array)):
        raise ValueError(f"{owner}: mean must be finite, got {mean_array}")
    if not np.all(np.isfinite(sigma_array)) or np.any(sigma_array < 0):
        raise ValueError(f"{owner}: sigma must be finite and >= 0, got {sigma_array}")
    try:
        shape = np.broadcast_shapes(mean_array.shape, sigma_array.shape)
    except ValueError:
        shape = None
    if shape != mean_array.shape:
        raise ValueError(
            f"{owner}: sigma has shape {sigma_array.shape}, which does not broadcast to mean's shape {mean_array.shape}; "
            "build both with the action dimension, e.g. mean=np.zeros(n_actions), sigma=0.1 * np.ones(n_actions)"
        )
    return mean_array, sigma_array


class GaussianNoise(_ScheduledScale, NormalActionNoise):
    """
    A Gaussian action noise whose standard deviation follows a schedule:
    ``N(mean, (sigma * schedule(progress_remaining))^2)``.

    :param mean: Mean value of the noise
    :param sigma: Scale of the noise (std here), before the schedule's multiplier
    :param schedule: Multiplier of ``sigma`` as a function of ``progress_remaining``
        (anything :func:`~sb3_ddpg_ext.common.schedules.make_schedule` accepts);
        None keeps ``sigma`` constant (same output as SB3's ``NormalActionNoise``)
    :param dtype: Type of the output noise
    """

    def __init__(
        self,
        mean: ArrayLike,
        sigma: ArrayLike,
        schedule: ScheduleLike | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        mean_array, sigma_array = _check_mean_sigma(mean, sigma, "GaussianNoise")
        super().__init__(mean=mean_array, sigma=sigma_array, dtype=dtype)
        self._init_schedule(schedule)

    @property
    def sigma(self) -> np.ndarray:
        """Current (scheduled) standard deviation."""
        return self._sigma * self._scale

    def __call__(self) -> np.ndarray:
        sigma = self._sigma if self._scale == 1.0 else self._sigma * self._scale
        return np.random.normal(self._mu, sigma).astype(self._dtype)

    def __repr__(self) -> str:
        return f"GaussianNoise(mean={self._mu}, sigma={self._sigma}, schedule={self.schedule!r}, scale={self._scale:g})"


class OrnsteinUhlenbeckNoise(_ScheduledScale, OrnsteinUhlenbeckActionNoise):
    """
    An Ornstein-Uhlenbeck action noise (temporally correlated) whose diffusion follows a schedule,
    discretised as SB3 does::

        x_{t+1} = x_t + theta * (mean - x_t) * dt + sigma * scale * sqrt(dt) * N(0, 1)

    with ``scale = schedule(progress_remaining)``. The schedule scales the diffusion term, so the
    stationary standard deviation, ``sigma * scale * sqrt(dt / (1 - (1 - theta * dt)^2))``
    (about ``sigma * scale / sqrt(2 * theta)`` for small ``theta * dt``), scales with it; the process
    state is kept, so after a change of scale the output amplitude follows within about
    ``1 / (theta * dt)`` steps (the correlation time), never with a jump. ``reset()`` (SB3 calls it per
    env at the end of its episode) sets the state back to ``initial_noise``.

    :param mean: Mean of the noise
    :param sigma: Scale of the noise, before the schedule's multiplier
    :param theta: Rate of mean reversion (>= 0)
    :param dt: Timestep for the noise (> 0)
    :param initial_noise: Initial value for the noise output, (if None: 0)
    :param schedule: Multiplier of ``sigma`` as a function of ``progress_remaining``
        (anything :func:`~sb3_ddpg_ext.common.schedules.make_schedule` accepts);
        None keeps ``sigma`` constant (same output as SB3's ``OrnsteinUhlenbeckActionNoise``)
    :param dtype: Type of the output noise
    """

    def __init__(
        self,
        mean: ArrayLike,
        sigma: ArrayLike,
        theta: float = 0.15,
        dt: float = 1e-2,
        initial_noise: ArrayLike | None = None,
        schedule: ScheduleLike | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        mean_array, sigma_array = _check_mean_sigma(mean, sigma, "OrnsteinUhlenbeckNoise")
        if not (math.isfinite(theta) and theta >= 0):
            raise ValueError(f"OrnsteinUhlenbeckNoise: theta must be finite and >= 0, got {theta}")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"OrnsteinUhlenbeckNoise: dt must be finite and > 0, got {dt}")
        initial_array = None
        if initial_noise is not None:
            initial_array = np.asarray(initial_noise)
            if initial_array.shape != mean_array.shape or not np.all(np.isfinite(initial_array)):
                raise ValueError(
                    f"OrnsteinUhlenbeckNoise: initial_noise must be finite with mean's shape {mean_array.shape}, "
                    f"got {initial_noise!r}"
                )
        self._init_schedule(schedule)
        super().__init__(mean=mean_array, sigma=sigma_array, theta=theta, dt=dt, initial_noise=initial_array, dtype=dtype)

    @property
    def sigma(self) -> np.ndarray:
        """Current (scheduled) diffusion scale."""
        return self._sigma * self._scale

    def __call__(self) -> np.ndarray:
        sigma = self._sigma if self._scale == 1.0 else self._sigma * self._scale
        # Same expression and order of operations as SB3, for bit-for-bit equality
        noise = (
            self.noise_prev
            + self._theta * (self._mu - self.noise_prev) * self._dt
            + sigma * np.sqrt(self._dt) * np.random.normal(size=self._mu.shape)
        )
        self.noise_prev = noise
        return noise.astype(self._dtype)

    def __repr__(self) -> str:
        return (
            f"OrnsteinUhlenbeckNoise(mean={self._mu}, sigma={self._sigma}, theta={self._theta}, dt={self._dt}, "
            f"schedule={self.schedule!r}, scale={self._scale:g})"
        )


class ScheduledNoise(_ScheduledScale, ActionNoise):
    """
    Multiply the output of any SB3 ``ActionNoise`` (a user's own class included) by a schedule
    of ``progress_remaining``. ``reset()`` is forwarded to the wrapped noise.

    :param noise: The noise to wrap (not a ``VectorizedActionNoise``: SB3 vectorizes the wrapper itself)
    :param schedule: Multiplier as a function of ``progress_remaining``
        (anything :func:`~sb3_ddpg_ext.common.schedules.make_schedule` accepts)
    """

    def __init__(self, noise: ActionNoise, schedule: ScheduleLike) -> None:
        if not isinstance(noise, ActionNoise):
            raise ValueError(f"ScheduledNoise: noise must be an instance of ActionNoise, got {noise!r}")
        if isinstance(noise, VectorizedActionNoise):
            raise ValueError(
                "ScheduledNoise: wrap the per-env base noise, not a VectorizedActionNoise "
                "(SB3 vectorizes the wrapper for several envs itself)"
            )
        if schedule is None:
            raise ValueError("ScheduledNoise: schedule is required (a number, string, mapping or callable)")
        super().__init__()
        self.noise = noise
        self._init_schedule(schedule)

    def update_progress(self, progress_remaining: float) -> None:
        """
        Set the current scale from the schedule, and forward the progress to the wrapped noise
        when it has a schedule of its own.

        :param progress_remaining: 1 at the start of ``learn()``, 0 at its end
        """
        super().update_progress(progress_remaining)
        update_noise_progress(self.noise, progress_remaining)

    def reset(self) -> None:
        self.noise.reset()

    def __call__(self) -> np.ndarray:
        noise = self.noise()
        if self._scale == 1.0:
            return noise
        noise = np.asarray(noise)
        return (noise * self._scale).astype(noise.dtype, copy=False)

    def __repr__(self) -> str:
        return f"ScheduledNoise(noise={self.noise!r}, schedule={self.schedule!r}, scale={self._scale:g})"


def update_noise_progress(action_noise: ActionNoise | None, progress_remaining: float) -> float | None:
    """
    Update a noise's scale in place from its schedule, including every per-env copy inside SB3's
    ``VectorizedActionNoise`` (and its ``base_noise``). Any object with an ``update_progress`` method
    and a ``scale`` attribute takes part, so users can write their own.

    :param action_noise: The noise (may be None)
    :param progress_remaining: 1 at the start of ``learn()``, 0 at its end
    :return: The current overall multiplier (the product over nested scheduled noises, e.g.
        ``ScheduledNoise(GaussianNoise(schedule=...))``); None when nothing has a schedule
        (plain SB3 noise, a scheduled noise built with ``schedule=None``, or no noise)
    """
    if action_noise is None:
        return None
    if isinstance(action_noise, VectorizedActionNoise):
        scales = [update_noise_progress(noise, progress_remaining) for noise in action_noise.noises]
        if all(noise is not action_noise.base_noise for noise in action_noise.noises):
            update_noise_progress(action_noise.base_noise, progress_remaining)
        return scales[0] if scales else None
    update = getattr(action_noise, "update_progress", None)
    if not callable(update):
        return None
    update(progress_remaining)
    if isinstance(action_noise, ScheduledNoise):
        inner = _current_scale(action_noise.noise)
        return action_noise.scale if inner is None else action_noise.scale * inner
    return _current_scale(action_noise)


def _current_scale(action_noise: ActionNoise) -> float | None:
    """Current overall multiplier of an (already updated) noise, None if it has no schedule."""
    if isinstance(action_noise, ScheduledNoise):
        inner = _current_scale(action_noise.noise)
        return action_noise.scale if inner is None else action_noise.scale * inner
    if isinstance(action_noise, (GaussianNoise, OrnsteinUhlenbeckNoise)) and action_noise.schedule is None:
        return None
    scale = getattr(action_noise, "scale", None)
    return None if scale is None else float(scale)


_NOISE_CLASSES: dict[str, type[GaussianNoise] | type[OrnsteinUhlenbeckNoise]] = {
    "normal": GaussianNoise,
    "gaussian": GaussianNoise,
    "ornstein-uhlenbeck": OrnsteinUhlenbeckNoise,
    "ornstein_uhlenbeck": OrnsteinUhlenbeckNoise,
    "ou": OrnsteinUhlenbeckNoise,
}
# Every name make_action_noise accepts (lower case), for validators elsewhere.
ACTION_NOISE_TYPES: tuple[str, ...] = tuple(_NOISE_CLASSES)
_EXTRA_KWARGS: dict[type[GaussianNoise] | type[OrnsteinUhlenbeckNoise], tuple[str, ...]] = {
    GaussianNoise: ("mean", "dtype"),
    OrnsteinUhlenbeckNoise: ("mean", "theta", "dt", "initial_noise", "dtype"),
}


def make_action_noise(
    noise_type: str | None,
    n_actions: int,
    noise_std: float | Sequence[float],
    schedule: ScheduleLike | None = None,
    **kwargs: Any,
) -> ActionNoise | None:
    """
    Build an action noise from RL Zoo's description (``noise_type``, ``noise_std``), as RL Zoo does:
    ``mean=np.zeros(n_actions)``, ``sigma=noise_std * np.ones(n_actions)``.

    :param noise_type: ``"normal"`` / ``"gaussian"`` or ``"ornstein-uhlenbeck"`` / ``"ou"``
        (case-insensitive); None or ``"none"`` for no noise
    :param n_actions: Dimension of the action space
    :param noise_std: Standard deviation, one number or one per action dimension
    :param schedule: Multiplier of ``noise_std`` as a function of ``progress_remaining``
        (anything :func:`~sb3_ddpg_ext.common.schedules.make_schedule` accepts)
    :param kwargs: Extra arguments for the noise class (``theta``, ``dt``, ``initial_noise``, ``dtype``, ``mean``)
    :return: The noise, or None
    """
    if noise_type is None or (isinstance(noise_type, str) and noise_type.strip().lower() == "none"):
        return None
    known = [*sorted(_NOISE_CLASSES), "none"]
    if not isinstance(noise_type, str) or noise_type.strip().lower() not in _NOISE_CLASSES:
        raise ValueError(f"unknown noise_type {noise_type!r}; known types: {known}")
    noise_class = _NOISE_CLASSES[noise_type.strip().lower()]
    if isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer)) or n_actions < 1:
        raise ValueError(f"n_actions must be a positive integer, got {n_actions!r}")
    allowed = _EXTRA_KWARGS[noise_class]
    unknown = [key for key in kwargs if key not in allowed]
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} for noise_type {noise_type!r}; allowed: {list(allowed)}")
    if isinstance(noise_std, (str, bytes)) or noise_std is None or isinstance(noise_std, bool):
        raise ValueError(f"noise_std must be a number or a list of {n_actions} numbers, got {noise_std!r}")
    std = np.asarray(noise_std, dtype=np.float64)
    if std.ndim == 0:
        sigma = float(std) * np.ones(n_actions)
    elif std.shape == (n_actions,):
        sigma = std
    else:
        raise ValueError(
            f"noise_std has {std.size} values but the action space has dimension {n_actions}; give 1 or {n_actions}"
        )
    mean = kwargs.pop("mean", np.zeros(n_actions))
    return noise_class(mean=mean, sigma=sigma, schedule=schedule, **kwargs)
