"""
Schedules of SB3's ``progress_remaining``.

``progress_remaining`` goes from 1 (start of ``learn()``) to 0 (its end). All schedules here are
picklable callables ``schedule(progress_remaining) -> float`` with a readable ``__repr__``, in the
same form as SB3's own :class:`~stable_baselines3.common.utils.LinearSchedule` and
:class:`~stable_baselines3.common.utils.ConstantSchedule`, which are re-exported unchanged.

Convention (the same as SB3's ``LinearSchedule``): ``end_fraction`` and the positions in
``PiecewiseSchedule`` are fractions of training *done*, i.e. ``1 - progress_remaining``.
``end_fraction=0.1`` means the end value is reached after 10% of training and held afterwards.
"""

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

__all__ = [
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "LinearSchedule",
    "PiecewiseSchedule",
    "Schedule",
    "check_schedule",
    "make_schedule",
    "schedule_value",
]


def _check_end_fraction(end_fraction: float, name: str = "end_fraction") -> float:
    end_fraction = float(end_fraction)
    if not (0.0 < end_fraction <= 1.0):
        raise ValueError(f"{name} must be in (0, 1] (fraction of training done), got {end_fraction}")
    return end_fraction


def _progress_done(progress_remaining: float, end_fraction: float) -> float:
    """Fraction of the way from start to end, clipped to [0, 1]."""
    return min(max((1.0 - progress_remaining) / end_fraction, 0.0), 1.0)


class ExponentialSchedule:
    """
    ExponentialSchedule interpolates geometrically between start and end
    between ``progress_remaining`` = 1 and ``progress_remaining`` = ``1 - end_fraction``,
    then stays at end: ``start * (end / start) ** ((1 - progress_remaining) / end_fraction)``.
    Halfway through, the value is the geometric mean ``sqrt(start * end)``.

    :param start: value to start with if ``progress_remaining`` = 1 (> 0)
    :param end: value to end with (> 0)
    :param end_fraction: fraction of training done where end is reached, e.g. 0.1
        then end is reached after 10% of the complete training process.
    """

    def __init__(self, start: float, end: float, end_fraction: float = 1.0) -> None:
        self.start = float(start)
        self.end = float(end)
        if not (self.start > 0 and self.end > 0 and math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"ExponentialSchedule needs finite start > 0 and end > 0, got start={start}, end={end}")
        self.end_fraction = _check_end_fraction(end_fraction)

    def __call__(self, progress_remaining: float) -> float:
        fraction = _progress_done(progress_remaining, self.end_fraction)
        if fraction >= 1.0:
            return self.end
        return self.start * (self.end / self.start) ** fraction

    def __repr__(self) -> str:
        return f"ExponentialSchedule(start={self.start}, end={self.end}, end_fraction={self.end_fraction})"


class CosineSchedule:
    """
    CosineSchedule interpolates between start and end along half a cosine wave
    between ``progress_remaining`` = 1 and ``progress_remaining`` = ``1 - end_fraction``,
    then stays at end: ``end + (start - end) * (1 + cos(pi * (1 - progress_remaining) / end_fraction)) / 2``.

    :param start: value to start with if ``progress_remaining`` = 1
    :param end: value to end with
    :param end_fraction: fraction of training done where end is reached, e.g. 0.1
        then end is reached after 10% of the complete training process.
    """

    def __init__(self, start: float, end: float, end_fraction: float = 1.0) -> None:
        self.start = float(start)
        self.end = float(end)
        self.end_fraction = _check_end_fraction(end_fraction)

    def __call__(self, progress_remaining: float) -> float:
        fraction = _progress_done(progress_remaining, self.end_fraction)
        if fraction >= 1.0:
            return self.end
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * fraction))

    def __repr__(self) -> str:
        return f"CosineSchedule(start={self.start}, end={self.end}, end_fraction={self.end_fraction})"


class PiecewiseSchedule:
    """
    PiecewiseSchedule goes through given ``(progress_done, value)`` points, where
    ``progress_done = 1 - progress_remaining`` is the fraction of training done (0 at the start of
    training, 1 at its end). Before the first point the first value is used, after the last point
    the last value is used.

    Example: ``PiecewiseSchedule([(0.0, 1.0), (0.5, 0.1)])`` goes linearly from 1.0 to 0.1 during the
    first half of training, then stays at 0.1.

    :param endpoints: list of ``(progress_done, value)`` pairs, ``progress_done`` in [0, 1] and
        strictly increasing
    :param interpolation: ``"linear"``: linear interpolation between points;
        ``"step"``: the value of the last point reached is held until the next point
    """

    INTERPOLATIONS = ("linear", "step")

    def __init__(self, endpoints: Sequence[tuple[float, float]], interpolation: str = "linear") -> None:
        if isinstance(interpolation, str):
            interpolation = interpolation.lower()
        if interpolation not in self.INTERPOLATIONS:
            raise ValueError(
                f"PiecewiseSchedule: interpolation must be one of {list(self.INTERPOLATIONS)}, got {interpolation!r}"
            )
        self.interpolation = interpolation
        points: list[tuple[float, float]] = []
        try:
            for point in endpoints:
                position, value = point
                points.append((float(position), float(value)))
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"PiecewiseSchedule: endpoints must be a list of (progress_done, value) pairs of numbers, got {endpoints!r}"
            ) from e
        if not points:
            raise ValueError("PiecewiseSchedule: endpoints must contain at least one (progress_done, value) pair")
        positions = [position for position, _ in points]
        if any(not (0.0 <= position <= 1.0) for position in positions):
            raise ValueError(f"PiecewiseSchedule: each progress_done must be in [0, 1], got {positions}")
        if any(b <= a for a, b in itertools.pairwise(positions)):
            raise ValueError(f"PiecewiseSchedule: progress_done values must be strictly increasing, got {positions}")
        self.endpoints = points

    def __call__(self, progress_remaining: float) -> float:
        done = 1.0 - progress_remaining
        if done <= self.endpoints[0][0]:
            return self.endpoints[0][1]
        for (left_pos, left_val), (right_pos, right_val) in itertools.pairwise(self.endpoints):
            if done < right_pos:
                if self.interpolation == "step":
                    return left_val
                alpha = (done - left_pos) / (right_pos - left_pos)
                return left_val + alpha * (right_val - left_val)
        return self.endpoints[-1][1]

    def __repr__(self) -> str:
        return f"PiecewiseSchedule(endpoints={self.endpoints}, interpolation={self.interpolation!r})"


# ===== Parser =====

_TYPE_ALIASES = {
    "constant": "constant",
    "const": "constant",
    "linear": "linear",
    "lin": "linear",
    "exponential": "exponential",
    "exp": "exponential",
    "cosine": "cosine",
    "cos": "cosine",
    "piecewise": "piecewise",
}

# For each type: (required keys, optional keys with defaults)
_TYPE_KEYS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "constant": (("value",), {}),
    "linear": (("start", "end"), {"end_fraction": 1.0}),
    "exponential": (("start", "end"), {"end_fraction": 1.0}),
    "cosine": (("start", "end"), {"end_fraction": 1.0}),
    "piecewise": (("endpoints",), {"interpolation": "linear"}),
}


def _to_float(value: Any, key: str) -> float:
    """Convert a config value to float; YAML reads ``1e-3`` as a string, so numeric strings are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"schedule key {key!r} must be a number, got {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"schedule key {key!r} must be a number, got {value!r}") from e
    if not math.isfinite(result):
        raise ValueError(f"schedule key {key!r} must be finite, got {value!r}")
    return result


def _schedule_from_mapping(spec: Mapping[str, Any]) -> Schedule:
    known_types = sorted(set(_TYPE_ALIASES.values()))
    if "type" not in spec:
        raise ValueError(f"schedule mapping needs a 'type' key, one of {known_types}; got keys {sorted(map(str, spec))}")
    raw_type = spec["type"]
    schedule_type = _TYPE_ALIASES.get(raw_type.lower()) if isinstance(raw_type, str) else None
    if schedule_type is None:
        raise ValueError(f"unknown schedule type {raw_type!r}; known types: {known_types}")
    required, optional = _TYPE_KEYS[schedule_type]
    allowed = ["type", *required, *optional]
    unknown = [key for key in spec if key not in allowed]
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} for schedule type {schedule_type!r}; allowed keys: {allowed}")
    missing = [key for key in required if key not in spec]
    if missing:
        raise ValueError(f"missing key(s) {missing} for schedule type {schedule_type!r}; allowed keys: {allowed}")
    params = {**optional, **{key: spec[key] for key in spec if key != "type"}}

    if schedule_type == "constant":
        return ConstantSchedule(_to_float(params["value"], "value"))
    if schedule_type == "piecewise":
        endpoints = params["endpoints"]
        if isinstance(endpoints, (str, bytes)) or not isinstance(endpoints, Sequence):
            raise ValueError(f"schedule key 'endpoints' must be a list of [progress_done, value] pairs, got {endpoints!r}")
        pairs = []
        for point in endpoints:
            if isinstance(point, (str, bytes)) or not isinstance(point, Sequence) or len(point) != 2:
                raise ValueError(f"schedule key 'endpoints' must be a list of [progress_done, value] pairs, got {point!r}")
            pairs.append((_to_float(point[0], "endpoints"), _to_float(point[1], "endpoints")))
        return PiecewiseSchedule(pairs, interpolation=params["interpolation"])

    start = _to_float(params["start"], "start")
    end = _to_float(params["end"], "end")
    end_fraction = _check_end_fraction(_to_float(params["end_fraction"], "end_fraction"))
    if schedule_type == "linear":
        return LinearSchedule(start=start, end=end, end_fraction=end_fraction)
    if schedule_type == "exponential":
        return ExponentialSchedule(start=start, end=end, end_fraction=end_fraction)
    return CosineSchedule(start=start, end=end, end_fraction=end_fraction)


def make_schedule(value: float | str | Mapping[str, Any] | Callable[[float], float]) -> Schedule:
    """
    Build a schedule from a YAML-friendly description.

    - a number: ``ConstantSchedule(value)``
    - a callable: returned as is
    - a string ``"lin_<x>"`` or ``"linear_<x>"`` (RL Zoo style): linear from ``x`` to 0 over training;
      a numeric string (``"1e-3"``, which YAML reads as a string) is a constant
    - a mapping with a ``type`` key:
      ``{type: constant, value: x}``,
      ``{type: linear | exponential | cosine, start: a, end: b, end_fraction: 1.0}``,
      ``{type: piecewise, endpoints: [[progress_done, value], ...], interpolation: linear | step}``

    :param value: the description
    :return: the schedule, a callable of ``progress_remaining``
    :raises ValueError: naming the problem, the key and what is allowed
    """
    if isinstance(value, bool):
        raise ValueError(f"schedule must be a number, a callable, a string or a mapping, got {value!r}")
    if isinstance(value, (int, float)) or (hasattr(value, "dtype") and getattr(value, "shape", None) == ()):
        return ConstantSchedule(_to_float(value, "value"))
    if isinstance(value, str):
        text = value.strip()
        for prefix in ("linear_", "lin_"):
            if text.lower().startswith(prefix):
                start = _to_float(text[len(prefix) :], "start")
                return LinearSchedule(start=start, end=0.0, end_fraction=1.0)
        try:
            return ConstantSchedule(_to_float(text, "value"))
        except ValueError:
            raise ValueError(f"cannot parse schedule string {value!r}; expected 'lin_<x>', 'linear_<x>' or a number") from None
    if isinstance(value, Mapping):
        return _schedule_from_mapping(value)
    if callable(value):
        return value
    raise ValueError(
        f"schedule must be a number, a callable, a string ('lin_0.1') or a mapping with a 'type' key, got {value!r}"
    )


def schedule_value(schedule: Callable[[float], float], progress_remaining: float, name: str = "schedule") -> float:
    """
    Evaluate a schedule and check that its value is a finite, non-negative number.

    :param schedule: the schedule
    :param progress_remaining: 1 at the start of ``learn()``, 0 at its end
    :param name: its name, used in the error message
    :return: the value as a float
    :raises ValueError: if the value is negative, non-finite or not a number
    """
    value = schedule(progress_remaining)
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} {schedule!r} returned {value!r} at progress_remaining={progress_remaining}") from e
    if not math.isfinite(number) or number < 0:
        raise ValueError(
            f"{name} {schedule!r} returned {value!r} at progress_remaining={progress_remaining}; "
            "values must be finite and >= 0"
        )
    return number


def check_schedule(schedule: Callable[[float], float], name: str = "schedule") -> Callable[[float], float]:
    """
    Evaluate a schedule at ``progress_remaining`` = 1, 0.5 and 0, before training starts,
    and check that every value is a finite, non-negative number (:func:`schedule_value`).

    :param schedule: the schedule to check
    :param name: its name, used in the error message
    :return: the schedule, unchanged
    :raises ValueError: if a value is negative, non-finite or not a number
    """
    if not callable(schedule):
        raise ValueError(f"{name} must be callable, got {schedule!r}")
    for progress_remaining in (1.0, 0.5, 0.0):
        schedule_value(schedule, progress_remaining, name)
    return schedule
