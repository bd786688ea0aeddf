"""
Schedules of SB3's ``progress_remaining`` (1 at the start of ``learn()``, 0 at its end).

They are picklable callables with a readable repr, in the form of SB3's own ``LinearSchedule`` and
``ConstantSchedule`` (re-exported here). The same schedules serve learning rates and noise scales.
"""

import math
from collections.abc import Callable, Mapping
from typing import Any

from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

__all__ = [
    "ConstantSchedule",
    "CosineSchedule",
    "ExponentialSchedule",
    "LinearSchedule",
    "PiecewiseSchedule",
    "check_schedule",
    "make_schedule",
]


def _progress_done(progress_remaining: float, end_fraction: float) -> float:
    """Fraction of the schedule done, 0 -> 1, reached when ``1 - progress_remaining`` equals ``end_fraction``."""
    return min(max((1.0 - progress_remaining) / end_fraction, 0.0), 1.0)


class ExponentialSchedule:
    """
    Geometric interpolation from ``start`` to ``end`` between ``progress_remaining`` = 1 and
    ``progress_remaining`` = 1 - ``end_fraction``; ``end`` afterwards.

    :param start: value at the start (> 0)
    :param end: value at the end (> 0)
    :param end_fraction: fraction of the run over which the value decays, in (0, 1]
    """

    def __init__(self, start: float, end: float, end_fraction: float = 1.0) -> None:
        if not (start > 0 and end > 0):
            raise ValueError(f"ExponentialSchedule needs start > 0 and end > 0, got start={start}, end={end}.")
        _check_end_fraction(end_fraction)
        self.start, self.end, self.end_fraction = float(start), float(end), float(end_fraction)

    def __call__(self, progress_remaining: float) -> float:
        done = _progress_done(progress_remaining, self.end_fraction)
        return self.start * (self.end / self.start) ** done

    def __repr__(self) -> str:
        return f"ExponentialSchedule(start={self.start}, end={self.end}, end_fraction={self.end_fraction})"


class CosineSchedule:
    """
    Cosine annealing from ``start`` to ``end`` between ``progress_remaining`` = 1 and
    ``progress_remaining`` = 1 - ``end_fraction``; ``end`` afterwards.

    :param start: value at the start
    :param end: value at the end
    :param end_fraction: fraction of the run over which the value anneals, in (0, 1]
    """

    def __init__(self, start: float, end: float, end_fraction: float = 1.0) -> None:
        _check_end_fraction(end_fraction)
        self.start, self.end, self.end_fraction = float(start), float(end), float(end_fraction)

    def __call__(self, progress_remaining: float) -> float:
        done = _progress_done(progress_remaining, self.end_fraction)
        return self.end + 0.5 * (self.start - self.end) * (1.0 + math.cos(math.pi * done))

    def __repr__(self) -> str:
        return f"CosineSchedule(start={self.start}, end={self.end}, end_fraction={self.end_fraction})"


class PiecewiseSchedule:
    """
    Piecewise schedule over the fraction of the run done (``1 - progress_remaining``).

    ``endpoints`` lists ``(fraction_done, value)`` pairs with increasing fractions in [0, 1]. Before the first
    point the first value holds, after the last the last value holds. In between, ``"linear"`` interpolates and
    ``"step"`` keeps each point's value until the next point (a step schedule).

    :param endpoints: ``[(fraction_done, value), ...]``, e.g. ``[(0.0, 1.0), (0.5, 0.1)]``
    :param interpolation: ``"linear"`` or ``"step"``
    """

    def __init__(self, endpoints: list[tuple[float, float]], interpolation: str = "linear") -> None:
        points = [(float(x), float(y)) for x, y in endpoints]
        if not points:
            raise ValueError("PiecewiseSchedule needs at least one (fraction_done, value) endpoint.")
        fractions = [x for x, _ in points]
        if fractions != sorted(fractions) or not all(0.0 <= x <= 1.0 for x in fractions):
            raise ValueError(f"PiecewiseSchedule endpoints need increasing fractions in [0, 1], got {fractions}.")
        if interpolation not in ("linear", "step"):
            raise ValueError(f"PiecewiseSchedule interpolation must be 'linear' or 'step', got {interpolation!r}.")
        self.endpoints, self.interpolation = points, interpolation

    def __call__(self, progress_remaining: float) -> float:
        done = 1.0 - progress_remaining
        if done <= self.endpoints[0][0]:
            return self.endpoints[0][1]
        for (x0, y0), (x1, y1) in zip(self.endpoints[:-1], self.endpoints[1:], strict=True):
            if done < x1:
                return y0 if self.interpolation == "step" else y0 + (y1 - y0) * (done - x0) / (x1 - x0)
        return self.endpoints[-1][1]

    def __repr__(self) -> str:
        return f"PiecewiseSchedule(endpoints={self.endpoints}, interpolation={self.interpolation!r})"


def _check_end_fraction(end_fraction: float) -> None:
    if not 0 < end_fraction <= 1:
        raise ValueError(f"end_fraction must lie in (0, 1], got {end_fraction}.")


SCHEDULE_TYPES = ("constant", "linear", "exponential", "cosine", "piecewise")


def make_schedule(value: Any) -> Callable[[float], float]:
    """
    Build a schedule from a YAML-friendly description.

    - a number: ``ConstantSchedule(value)``
    - a callable: returned as is
    - RL Zoo's strings ``"lin_0.001"`` / ``"linear_0.001"``: linear from that value to 0
    - a mapping with ``type`` among constant, linear, exponential, cosine, piecewise, e.g.
      ``{type: linear, start: 1.0, end: 0.1, end_fraction: 0.5}`` or
      ``{type: piecewise, endpoints: [[0, 1.0], [0.5, 0.1]], interpolation: step}``

    :param value: The description
    :return: A schedule of ``progress_remaining``
    """
    if callable(value):
        return value
    if isinstance(value, bool):
        raise ValueError(f"A schedule must be a number, a mapping or 'lin_<value>', got {value!r}.")
    if isinstance(value, (int, float)):
        return ConstantSchedule(float(value))
    if isinstance(value, str):
        return _schedule_from_string(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"A schedule must be a number, a mapping or 'lin_<value>', got {type(value).__name__} {value!r}.")
    return _schedule_from_mapping(value)


def _schedule_from_string(value: str) -> Callable[[float], float]:
    """RL Zoo's ``lin_<start>`` (linear to 0), or a number written as a string."""
    prefix, _, number = value.partition("_")
    try:
        if prefix in ("lin", "linear") and number:
            return LinearSchedule(float(number), 0.0, 1.0)
        return ConstantSchedule(float(value))
    except ValueError:
        raise ValueError(f"Cannot read schedule {value!r}: use a number, 'lin_<start>' or a mapping with 'type'.") from None


def _schedule_from_mapping(value: Mapping) -> Callable[[float], float]:
    """A mapping with ``type`` and that type's keys."""
    spec = dict(value)
    kind = spec.pop("type", None)
    if kind not in SCHEDULE_TYPES:
        raise ValueError(f"Schedule 'type' must be one of {list(SCHEDULE_TYPES)}, got {kind!r} in {dict(value)}.")
    allowed = {
        "constant": {"value"},
        "linear": {"start", "end", "end_fraction"},
        "exponential": {"start", "end", "end_fraction"},
        "cosine": {"start", "end", "end_fraction"},
        "piecewise": {"endpoints", "interpolation"},
    }[kind]
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"Unknown key(s) {sorted(unknown)} for a {kind} schedule; allowed: {sorted(allowed)}.")
    try:
        if kind == "constant":
            return ConstantSchedule(float(spec["value"]))
        if kind == "piecewise":
            return PiecewiseSchedule([tuple(point) for point in spec["endpoints"]], spec.get("interpolation", "linear"))
        start, end, end_fraction = float(spec["start"]), float(spec["end"]), float(spec.get("end_fraction", 1.0))
    except KeyError as error:
        raise ValueError(f"A {kind} schedule needs the key {error}; allowed: {sorted(allowed)}.") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"Bad value in {kind} schedule {dict(value)}: {error}") from None
    if kind == "linear":
        _check_end_fraction(end_fraction)
        return LinearSchedule(start, end, end_fraction)
    return (ExponentialSchedule if kind == "exponential" else CosineSchedule)(start, end, end_fraction)


def check_schedule(schedule: Callable[[float], float], name: str = "schedule") -> None:
    """
    Check that a schedule gives a finite, non-negative value over the run (at progress 1, 0.5 and 0).

    :param schedule: The schedule
    :param name: Its name, for the error message
    """
    for progress in (1.0, 0.5, 0.0):
        value = schedule(progress)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(
                f"{name} {schedule!r} returns {value!r} at progress_remaining={progress}; "
                "schedules of noise scales must return finite values >= 0."
            )
