import copy
import math
import pickle

import cloudpickle
import numpy as np
import pytest

from sb3_ddpg_ext.common.schedules import (
    ConstantSchedule,
    CosineSchedule,
    ExponentialSchedule,
    LinearSchedule,
    PiecewiseSchedule,
    check_schedule,
    make_schedule,
)

PROGRESS = (1.0, 0.75, 0.5, 0.25, 0.0)


def values(schedule):
    return [schedule(p) for p in PROGRESS]


def test_reexports_are_sb3_classes():
    from stable_baselines3.common import utils

    assert ConstantSchedule is utils.ConstantSchedule
    assert LinearSchedule is utils.LinearSchedule


def test_exponential_values():
    assert values(ExponentialSchedule(1.0, 0.01)) == pytest.approx([1.0, 10**-0.5, 0.1, 10**-1.5, 0.01])
    # end reached at half of training, held afterwards
    assert values(ExponentialSchedule(1.0, 0.01, end_fraction=0.5)) == pytest.approx([1.0, 0.1, 0.01, 0.01, 0.01])
    # increasing works too
    assert values(ExponentialSchedule(0.1, 10.0)) == pytest.approx([0.1, 10**-0.5, 1.0, 10**0.5, 10.0])


def test_cosine_values():
    c = math.cos(math.pi / 4)  # sqrt(2)/2
    expected = [1.0, 0.5 * (1 + c), 0.5, 0.5 * (1 - c), 0.0]
    assert values(CosineSchedule(1.0, 0.0)) == pytest.approx(expected)
    assert values(CosineSchedule(2.0, 1.0, end_fraction=0.5)) == pytest.approx([2.0, 1.5, 1.0, 1.0, 1.0])


def test_piecewise_values():
    linear = PiecewiseSchedule([(0.0, 1.0), (0.5, 0.1)])
    assert values(linear) == pytest.approx([1.0, 0.55, 0.1, 0.1, 0.1])
    step = PiecewiseSchedule([(0.0, 1.0), (0.5, 0.1), (0.75, 0.01)], interpolation="step")
    assert values(step) == pytest.approx([1.0, 1.0, 0.1, 0.01, 0.01])
    # before the first point: first value
    late = PiecewiseSchedule([(0.25, 2.0), (1.0, 0.0)])
    assert values(late) == pytest.approx([2.0, 2.0, 4 / 3, 2 / 3, 0.0])
    assert PiecewiseSchedule([(0.5, 3.0)])(0.0) == 3.0


def test_linear_and_constant_from_sb3():
    assert values(LinearSchedule(1.0, 0.0, 1.0)) == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert values(ConstantSchedule(0.3)) == [0.3] * 5


@pytest.mark.parametrize(
    "spec, expected",
    [
        (0.5, [0.5] * 5),
        (2, [2.0] * 5),
        (np.float32(0.25), [0.25] * 5),
        ("1e-3", [1e-3] * 5),
        ("lin_0.1", [0.1, 0.075, 0.05, 0.025, 0.0]),
        ("linear_1", [1.0, 0.75, 0.5, 0.25, 0.0]),
        ({"type": "constant", "value": 0.2}, [0.2] * 5),
        ({"type": "linear", "start": 1.0, "end": 0.1, "end_fraction": 0.5}, [1.0, 0.55, 0.1, 0.1, 0.1]),
        ({"type": "Linear", "start": 1.0, "end": 0.0}, [1.0, 0.75, 0.5, 0.25, 0.0]),
        ({"type": "exponential", "start": 1.0, "end": 0.01}, [1.0, 10**-0.5, 0.1, 10**-1.5, 0.01]),
        ({"type": "cosine", "start": 2.0, "end": 1.0, "end_fraction": 0.5}, [2.0, 1.5, 1.0, 1.0, 1.0]),
        ({"type": "piecewise", "endpoints": [[0, 1.0], [0.5, 0.1]]}, [1.0, 0.55, 0.1, 0.1, 0.1]),
        ({"type": "piecewise", "endpoints": [[0, 1.0], [0.5, 0.1]], "interpolation": "step"}, [1.0, 1.0, 0.1, 0.1, 0.1]),
    ],
)
def test_make_schedule(spec, expected):
    assert values(make_schedule(spec)) == pytest.approx(expected)


def test_make_schedule_returns_callable_as_is():
    def fn(progress_remaining):
        return progress_remaining

    assert make_schedule(fn) is fn
    schedule = LinearSchedule(1.0, 0.0, 1.0)
    assert make_schedule(schedule) is schedule


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"type": "quadratic"}, r"unknown schedule type 'quadratic'.*constant.*cosine.*exponential.*linear.*piecewise"),
        ({"start": 1.0}, r"needs a 'type' key"),
        ({"type": "linear", "start": 1.0}, r"missing key\(s\) \['end'\].*allowed keys"),
        ({"type": "linear", "start": 1.0, "end": 0.0, "stop": 3}, r"unknown key\(s\) \['stop'\].*allowed keys"),
        ({"type": "linear", "start": "a", "end": 0.0}, r"'start' must be a number"),
        ({"type": "linear", "start": 1.0, "end": 0.0, "end_fraction": 0.0}, r"end_fraction must be in \(0, 1\]"),
        ({"type": "exponential", "start": 1.0, "end": 0.0}, r"end > 0"),
        ({"type": "constant", "value": float("nan")}, r"'value' must be finite"),
        ({"type": "piecewise", "endpoints": [[0.5, 1.0], [0.2, 0.1]]}, r"strictly increasing"),
        ({"type": "piecewise", "endpoints": [[0.0, 1.0], [2.0, 0.1]]}, r"in \[0, 1\]"),
        ({"type": "piecewise", "endpoints": [[0.0, 1.0, 3.0]]}, r"pairs"),
        ({"type": "piecewise", "endpoints": "abc"}, r"pairs"),
        ({"type": "piecewise", "endpoints": [[0.0, 1.0]], "interpolation": "cubic"}, r"interpolation must be one of"),
        ("exp_0.1", r"expected 'lin_<x>'"),
        ("lin_abc", r"'start' must be a number"),
        (True, r"must be a number"),
        ([1, 2], r"must be a number, a callable"),
        (None, r"must be a number, a callable"),
    ],
)
def test_make_schedule_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        make_schedule(spec)


def test_check_schedule():
    schedule = LinearSchedule(1.0, 0.0, 1.0)
    assert check_schedule(schedule, "noise_schedule") is schedule
    with pytest.raises(ValueError, match=r"noise_schedule .* returned -0.25 at progress_remaining=0.5"):
        check_schedule(lambda p: p - 0.75 if p > 0 else 0.0, "noise_schedule")
    with pytest.raises(ValueError, match="finite"):
        check_schedule(lambda p: float("inf"))
    with pytest.raises(ValueError, match="returned"):
        check_schedule(lambda p: "abc")
    with pytest.raises(ValueError, match="callable"):
        check_schedule(3.0)


@pytest.mark.parametrize(
    "schedule",
    [
        ExponentialSchedule(1.0, 0.1, 0.5),
        CosineSchedule(1.0, 0.1),
        PiecewiseSchedule([(0.0, 1.0), (0.5, 0.1)], interpolation="step"),
        make_schedule("lin_0.3"),
    ],
)
def test_pickle_and_repr(schedule):
    for module in (pickle, cloudpickle):
        clone = module.loads(module.dumps(schedule))
        assert type(clone) is type(schedule)
        assert values(clone) == values(schedule)
    assert values(copy.deepcopy(schedule)) == values(schedule)
    text = repr(schedule)
    assert text.startswith(type(schedule).__name__ + "(")
    assert "object at" not in text


def test_repr_examples():
    assert repr(ExponentialSchedule(1, 0.5)) == "ExponentialSchedule(start=1.0, end=0.5, end_fraction=1.0)"
    assert repr(PiecewiseSchedule([(0, 1), (1, 0)])) == (
        "PiecewiseSchedule(endpoints=[(0.0, 1.0), (1.0, 0.0)], interpolation='linear')"
    )
