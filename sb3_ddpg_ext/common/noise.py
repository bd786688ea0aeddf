"""
Action noise whose scale follows a schedule of ``progress_remaining``.

``GaussianNoise`` and ``OrnsteinUhlenbeckNoise`` are SB3's ``NormalActionNoise`` and
``OrnsteinUhlenbeckActionNoise`` with a schedule; ``ScheduledNoise`` schedules any SB3 ``ActionNoise``.
All draw from NumPy's global generator exactly as SB3's do (one draw per call), so SB3's ``seed`` makes runs
repeatable, and without a schedule they give SB3's numbers bit for bit. DDPG calls
:func:`update_noise_progress` after every environment step.
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)

from sb3_ddpg_ext.common.schedules import check_schedule, make_schedule

NOISE_TYPES = {
    "normal": "gaussian",
    "gaussian": "gaussian",
    "ornstein-uhlenbeck": "ou",
    "ornstein_uhlenbeck": "ou",
    "ou": "ou",
}


class _Scheduled:
    """Mixin holding a schedule of ``progress_remaining`` and the current scale it gives."""

    schedule: Callable[[float], float] | None
    _scale: float

    def _init_schedule(self, schedule: Any) -> None:
        self.schedule = None if schedule is None else make_schedule(schedule)
        if self.schedule is not None:
            check_schedule(self.schedule, "noise schedule")
        self._scale = 1.0 if self.schedule is None else float(self.schedule(1.0))

    @property
    def scale(self) -> float:
        """Current multiplier of the noise (1.0 without schedule)."""
        return self._scale

    def update_progress(self, progress_remaining: float) -> None:
        """
        Set the scale from the schedule.

        :param progress_remaining: 1 at the start of training, 0 at its end
        """
        if self.schedule is not None:
            scale = float(self.schedule(progress_remaining))
            if not (math.isfinite(scale) and scale >= 0):
                raise ValueError(f"Noise schedule {self.schedule!r} returned {scale} at progress {progress_remaining}.")
            self._scale = scale


def _check_sigma(sigma: np.ndarray, name: str = "sigma") -> None:
    if np.any(np.asarray(sigma) < 0) or not np.all(np.isfinite(sigma)):
        raise ValueError(f"{name} must be finite and >= 0, got {sigma}.")


class GaussianNoise(_Scheduled, NormalActionNoise):
    """
    Gaussian action noise N(mean, (sigma * scale)^2), the scale following ``schedule``.

    :param mean: Mean value of the noise
    :param sigma: Scale of the noise (std here) at scale 1
    :param schedule: Schedule of the scale (anything :func:`make_schedule` accepts); ``None`` keeps it at 1
    :param dtype: Type of the output noise
    """

    def __init__(self, mean: np.ndarray, sigma: np.ndarray, schedule: Any = None, dtype: DTypeLike = np.float32) -> None:
        _check_sigma(sigma)
        super().__init__(mean=np.asarray(mean), sigma=np.asarray(sigma), dtype=dtype)
        self._init_schedule(schedule)

    def __call__(self) -> np.ndarray:
        sigma = self._sigma if self.schedule is None else self._sigma * self._scale
        return np.random.normal(self._mu, sigma).astype(self._dtype)

    def __repr__(self) -> str:
        return f"GaussianNoise(mu={self._mu}, sigma={self._sigma}, schedule={self.schedule}, scale={self._scale:.4g})"


class OrnsteinUhlenbeckNoise(_Scheduled, OrnsteinUhlenbeckActionNoise):
    """
    Ornstein-Uhlenbeck action noise, SB3's discretisation
    ``x' = x + theta (mean - x) dt + sigma * scale * sqrt(dt) * N(0, 1)``.

    The schedule scales the diffusion term, so the stationary spread ``sigma * scale * sqrt(dt / (1 - (1 - theta dt)^2))``
    scales with it while the autocorrelation ``1 - theta dt`` stays.

    :param mean: Mean of the noise
    :param sigma: Scale of the noise at scale 1
    :param theta: Rate of mean reversion
    :param dt: Timestep for the noise
    :param initial_noise: Initial value for the noise output, (if None: 0)
    :param schedule: Schedule of the scale (anything :func:`make_schedule` accepts); ``None`` keeps it at 1
    :param dtype: Type of the output noise
    """

    def __init__(
        self,
        mean: np.ndarray,
        sigma: np.ndarray,
        theta: float = 0.15,
        dt: float = 1e-2,
        initial_noise: np.ndarray | None = None,
        schedule: Any = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        _check_sigma(sigma)
        if not theta >= 0:
            raise ValueError(f"theta (the mean-reversion rate) must be >= 0, got {theta}.")
        if not dt > 0:
            raise ValueError(f"dt (the noise timestep) must be > 0, got {dt}.")
        super().__init__(np.asarray(mean), np.asarray(sigma), theta=theta, dt=dt, initial_noise=initial_noise, dtype=dtype)
        self._init_schedule(schedule)

    def __call__(self) -> np.ndarray:
        sigma = self._sigma if self.schedule is None else self._sigma * self._scale
        noise = (
            self.noise_prev
            + self._theta * (self._mu - self.noise_prev) * self._dt
            + sigma * np.sqrt(self._dt) * np.random.normal(size=self._mu.shape)
        )
        self.noise_prev = noise
        return noise.astype(self._dtype)

    def __repr__(self) -> str:
        return (
            f"OrnsteinUhlenbeckNoise(mu={self._mu}, sigma={self._sigma}, theta={self._theta}, dt={self._dt}, "
            f"schedule={self.schedule}, scale={self._scale:.4g})"
        )


class ScheduledNoise(_Scheduled, ActionNoise):
    """
    Schedule any SB3 ``ActionNoise`` (a user's own class included): its output is multiplied by the schedule's value.

    :param noise: The noise to schedule
    :param schedule: Schedule of the scale (anything :func:`make_schedule` accepts)
    """

    def __init__(self, noise: ActionNoise, schedule: Any) -> None:
        if not isinstance(noise, ActionNoise):
            raise TypeError(f"ScheduledNoise wraps a stable_baselines3 ActionNoise, got {type(noise).__name__}.")
        super().__init__()
        self.noise = noise
        self._init_schedule(schedule)

    def __call__(self) -> np.ndarray:
        return self.noise() * self._scale

    def reset(self) -> None:
        self.noise.reset()

    def __repr__(self) -> str:
        return f"ScheduledNoise({self.noise!r}, schedule={self.schedule}, scale={self._scale:.4g})"


def update_noise_progress(action_noise: ActionNoise | None, progress_remaining: float) -> float | None:
    """
    Update the scale of a scheduled noise, in every per-env copy when SB3 vectorized it.

    :param action_noise: The model's action noise
    :param progress_remaining: 1 at the start of training, 0 at its end
    :return: The current scale, or ``None`` when the noise has no schedule
    """
    noises = action_noise.noises if isinstance(action_noise, VectorizedActionNoise) else [action_noise]
    scale = None
    for noise in noises:
        if isinstance(noise, _Scheduled) and noise.schedule is not None:
            noise.update_progress(progress_remaining)
            scale = noise.scale
    return scale


def noise_shape(action_noise: ActionNoise) -> tuple[int, ...] | None:
    """
    Shape of what an ``ActionNoise`` produces, read from its parameters without drawing from any generator.

    :param action_noise: The action noise (SB3's own, ours, or a user's)
    :return: The shape, or ``None`` when it cannot be told without drawing
    """
    if isinstance(action_noise, VectorizedActionNoise):
        return noise_shape(action_noise.base_noise)
    if isinstance(action_noise, ScheduledNoise):
        return noise_shape(action_noise.noise)
    for attr in ("_mu", "_sigma"):
        value = getattr(action_noise, attr, None)
        if value is not None:
            return np.shape(value)
    return None


def check_noise_shape(action_noise: ActionNoise | None, action_dim: int) -> None:
    """
    Raise a clear ``ValueError`` when a noise's dimension differs from the action space's.

    A noise whose shape cannot be read from its parameters is called once with NumPy's global generator state
    saved and restored, so the check draws nothing a seeded run would see.

    :param action_noise: The action noise (``None`` passes)
    :param action_dim: Dimension of the action space
    """
    if action_noise is None:
        return
    if not isinstance(action_noise, ActionNoise):
        raise TypeError(
            f"action_noise must be a stable_baselines3 ActionNoise, got {type(action_noise).__name__}; "
            "build one with sb3_ddpg_ext.make_action_noise('normal', n_actions, 0.1)."
        )
    shape = noise_shape(action_noise)
    if shape is None:
        state = np.random.get_state()
        try:
            shape = np.shape(action_noise())
        finally:
            np.random.set_state(state)
    if isinstance(action_noise, VectorizedActionNoise) and len(shape) == 2:
        shape = shape[1:]
    if shape not in ((), (action_dim,)):
        raise ValueError(
            f"action_noise has shape {shape} but the action space has dimension {action_dim}; "
            f"build the noise with mean=np.zeros({action_dim}) and sigma of the same shape."
        )


def make_action_noise(
    noise_type: str | None,
    n_actions: int,
    noise_std: float | list[float] = 0.1,
    schedule: Any = None,
    **kwargs: Any,
) -> ActionNoise | None:
    """
    Build action noise from a YAML-friendly description (RL Zoo's names and short ones).

    :param noise_type: ``normal`` / ``gaussian``, ``ornstein-uhlenbeck`` / ``ou``, or ``None`` / ``none``
    :param n_actions: Dimension of the action space
    :param noise_std: Standard deviation (sigma), one for all dimensions or one per dimension
    :param schedule: Schedule of the scale (anything :func:`make_schedule` accepts)
    :param kwargs: Further arguments of the noise class (``theta``, ``dt``, ``initial_noise``)
    :return: The noise, or ``None`` for ``none``
    """
    if noise_type is None or str(noise_type).lower() == "none":
        return None
    kind = NOISE_TYPES.get(str(noise_type).lower())
    if kind is None:
        raise ValueError(f"Unknown noise_type {noise_type!r}; known: {sorted(NOISE_TYPES)} and 'none'.")
    sigma = np.broadcast_to(np.asarray(noise_std, dtype=np.float64), (n_actions,)).copy()
    mean = np.zeros(n_actions)
    if kind == "gaussian":
        if kwargs:
            raise ValueError(f"Gaussian noise takes no extra arguments, got {sorted(kwargs)}.")
        return GaussianNoise(mean, sigma, schedule=schedule)
    return OrnsteinUhlenbeckNoise(mean, sigma, schedule=schedule, **kwargs)
