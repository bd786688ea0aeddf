import copy
import pickle

import cloudpickle
import numpy as np
import pytest
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)
from stable_baselines3.common.utils import LinearSchedule

from sb3_ddpg_ext.common.noise import (
    GaussianNoise,
    OrnsteinUhlenbeckNoise,
    ScheduledNoise,
    make_action_noise,
    update_noise_progress,
)
from sb3_ddpg_ext.ddpg.validation import check_noise_shape

N_ACTIONS = 3


class SignNoise(ActionNoise):
    """A user's own noise: +-1 per dimension, with an internal step counter."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.calls = 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return np.sign(np.random.normal(size=self.n)).astype(np.float32)

    def reset(self) -> None:
        self.calls = 0

    def __repr__(self) -> str:
        return f"SignNoise(n={self.n})"


def draws(noise, n=50):
    return np.stack([noise() for _ in range(n)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("input_dtype", [np.float32, np.float64])
def test_bit_for_bit_with_sb3_without_schedule(dtype, input_dtype):
    mean = np.zeros(N_ACTIONS, dtype=input_dtype)
    sigma = np.array([0.1, 0.2, 0.3], dtype=input_dtype)
    pairs = [
        (NormalActionNoise(mean, sigma, dtype=dtype), GaussianNoise(mean, sigma, dtype=dtype)),
        (
            OrnsteinUhlenbeckActionNoise(mean, sigma, theta=0.3, dt=0.05, initial_noise=mean + 0.5, dtype=dtype),
            OrnsteinUhlenbeckNoise(mean, sigma, theta=0.3, dt=0.05, initial_noise=mean + 0.5, dtype=dtype),
        ),
    ]
    for sb3_noise, our_noise in pairs:
        np.random.seed(3)
        expected = draws(sb3_noise)
        after_sb3 = np.random.random()
        np.random.seed(3)
        got = draws(our_noise)
        assert np.random.random() == after_sb3  # same number of draws
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_bit_for_bit_with_constant_one_schedule():
    mean, sigma = np.zeros(N_ACTIONS), 0.2 * np.ones(N_ACTIONS)
    np.random.seed(0)
    expected = draws(OrnsteinUhlenbeckActionNoise(mean, sigma))
    np.random.seed(0)
    noise = OrnsteinUhlenbeckNoise(mean, sigma, schedule=1.0)
    noise.update_progress(0.3)
    np.testing.assert_array_equal(draws(noise), expected)


def test_gaussian_schedule_scales_sigma():
    noise = GaussianNoise(np.zeros(2), np.array([1.0, 2.0]), schedule=LinearSchedule(1.0, 0.0, 1.0))
    assert noise.scale == 1.0
    noise.update_progress(0.25)
    assert noise.scale == pytest.approx(0.25)
    np.testing.assert_allclose(noise.sigma, [0.25, 0.5])
    np.random.seed(1)
    expected = np.random.normal(np.zeros(2), np.array([0.25, 0.5])).astype(np.float32)
    np.random.seed(1)
    np.testing.assert_array_equal(noise(), expected)
    noise.update_progress(0.0)
    assert np.all(noise() == 0.0)
    assert GaussianNoise(np.zeros(2), np.ones(2)).scale == 1.0


def ou_theory(sigma, theta, dt):
    a = 1 - theta * dt
    return sigma * np.sqrt(dt / (1 - a**2)), a


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_ou_stationary_spread_and_autocorrelation(scale):
    sigma, theta, dt = 0.3, 2.0, 0.05  # correlation time 1 / (theta * dt) = 10 steps
    noise = OrnsteinUhlenbeckNoise(np.zeros(4), sigma * np.ones(4), theta=theta, dt=dt, schedule=scale, dtype=np.float64)
    np.random.seed(0)
    for _ in range(200):  # burn-in
        noise()
    x = draws(noise, 20_000)
    std, rho = ou_theory(sigma * scale, theta, dt)
    assert x.std() == pytest.approx(std, rel=0.05)
    assert abs(x.mean()) < 0.1 * std
    lag1 = np.mean([np.corrcoef(x[:-1, i], x[1:, i])[0, 1] for i in range(4)])
    assert lag1 == pytest.approx(rho, abs=0.01)


def test_ou_per_env_reset_in_vectorized_noise():
    initial = np.array([1.0, -1.0, 0.5])
    base = OrnsteinUhlenbeckNoise(np.zeros(N_ACTIONS), 0.2 * np.ones(N_ACTIONS), initial_noise=initial, schedule="lin_1")
    vec = VectorizedActionNoise(base, n_envs=4)
    np.random.seed(0)
    out = vec()
    assert out.shape == (4, N_ACTIONS)
    for _ in range(5):
        vec()
    before = [n.noise_prev.copy() for n in vec.noises]
    vec.reset(indices=[2])
    np.testing.assert_array_equal(vec.noises[2].noise_prev, initial)
    for i in (0, 1, 3):
        np.testing.assert_array_equal(vec.noises[i].noise_prev, before[i])
        assert not np.allclose(vec.noises[i].noise_prev, initial)
    # the copies are independent processes
    assert not np.allclose(before[0], before[1])
    vec.reset()
    for n in vec.noises:
        np.testing.assert_array_equal(n.noise_prev, initial)


@pytest.mark.parametrize("kind", ["gaussian", "ou", "scheduled", "scheduled_user"])
def test_update_noise_progress_reaches_every_copy(kind):
    schedule = LinearSchedule(1.0, 0.0, 1.0)
    if kind == "gaussian":
        base = GaussianNoise(np.zeros(2), np.ones(2), schedule=schedule)
    elif kind == "ou":
        base = OrnsteinUhlenbeckNoise(np.zeros(2), np.ones(2), schedule=schedule)
    elif kind == "scheduled":
        base = ScheduledNoise(NormalActionNoise(np.zeros(2), np.ones(2)), schedule)
    else:
        base = ScheduledNoise(SignNoise(2), schedule)
    vec = VectorizedActionNoise(base, n_envs=4)
    assert update_noise_progress(vec, 0.4) == pytest.approx(0.4)
    assert [n.scale for n in vec.noises] == pytest.approx([0.4] * 4)
    assert base.scale == pytest.approx(0.4)
    assert update_noise_progress(base, 0.1) == pytest.approx(0.1)


def test_update_noise_progress_without_schedule():
    assert update_noise_progress(None, 0.5) is None
    assert update_noise_progress(NormalActionNoise(np.zeros(2), np.ones(2)), 0.5) is None
    assert update_noise_progress(GaussianNoise(np.zeros(2), np.ones(2)), 0.5) is None
    vec = VectorizedActionNoise(OrnsteinUhlenbeckActionNoise(np.zeros(2), np.ones(2)), n_envs=2)
    assert update_noise_progress(vec, 0.5) is None


def test_nested_schedules_multiply():
    inner = GaussianNoise(np.zeros(2), np.ones(2), schedule="lin_1")
    outer = ScheduledNoise(inner, 0.5)
    assert update_noise_progress(outer, 0.5) == pytest.approx(0.25)
    assert inner.scale == pytest.approx(0.5)


def test_scheduled_noise_wraps_user_noise():
    user = SignNoise(N_ACTIONS)
    noise = ScheduledNoise(user, {"type": "linear", "start": 1.0, "end": 0.0})
    np.random.seed(0)
    expected = SignNoise(N_ACTIONS)()
    np.random.seed(0)
    np.testing.assert_array_equal(noise(), expected)  # scale 1: output unchanged
    noise.update_progress(0.25)
    out = noise()
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.abs(out), 0.25)
    assert user.calls == 2
    noise.reset()
    assert user.calls == 0


def test_make_action_noise():
    assert make_action_noise(None, 2, 0.1) is None
    assert make_action_noise("None", 2, 0.1) is None
    normal = make_action_noise("normal", 2, 0.1)
    assert isinstance(normal, GaussianNoise) and normal.schedule is None
    np.testing.assert_array_equal(normal._sigma, [0.1, 0.1])
    gaussian = make_action_noise("Gaussian", 2, [0.1, 0.2], schedule="lin_1")
    np.testing.assert_array_equal(gaussian._sigma, [0.1, 0.2])
    gaussian.update_progress(0.5)
    assert gaussian.scale == pytest.approx(0.5)
    ou = make_action_noise("ornstein-uhlenbeck", 2, 0.3, theta=0.2, dt=0.1)
    assert isinstance(ou, OrnsteinUhlenbeckNoise) and ou._theta == 0.2 and ou._dt == 0.1
    assert isinstance(
        make_action_noise("OU", 2, 0.3, schedule={"type": "cosine", "start": 1, "end": 0}), OrnsteinUhlenbeckNoise
    )
    # same output as RL Zoo's construction
    np.random.seed(0)
    expected = NormalActionNoise(mean=np.zeros(2), sigma=0.1 * np.ones(2))()
    np.random.seed(0)
    np.testing.assert_array_equal(normal(), expected)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("uniform", 2, 0.1), {}, r"unknown noise_type 'uniform'.*gaussian.*normal.*ornstein-uhlenbeck.*ou"),
        (("normal", 2, [0.1, 0.2, 0.3]), {}, r"noise_std has 3 values but the action space has dimension 2"),
        (("normal", 0, 0.1), {}, r"n_actions must be a positive integer"),
        (("normal", 2, "0.1"), {}, r"noise_std must be a number"),
        (("normal", 2, 0.1), {"theta": 0.1}, r"unknown argument\(s\) \['theta'\].*allowed"),
        (("normal", 2, -0.1), {}, r"sigma must be finite and >= 0"),
        (("ou", 2, 0.1), {"theta": -1.0}, r"theta must be finite and >= 0"),
        (("ou", 2, 0.1), {"dt": 0.0}, r"dt must be finite and > 0"),
        (("ou", 2, 0.1), {"initial_noise": np.zeros(3)}, r"initial_noise must be finite with mean's shape"),
        (("ou", 2, 0.1), {"schedule": lambda p: p - 0.5}, r"returned -0.5 at progress_remaining=0.0"),
        (("normal", 2, 0.1), {"schedule": {"type": "bogus"}}, r"unknown schedule type"),
    ],
)
def test_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_action_noise(*args, **kwargs)


def test_bad_inputs_constructors():
    with pytest.raises(ValueError, match="does not broadcast"):
        GaussianNoise(np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="sigma must be finite"):
        OrnsteinUhlenbeckNoise(np.zeros(2), np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="not a VectorizedActionNoise"):
        ScheduledNoise(VectorizedActionNoise(NormalActionNoise(np.zeros(2), np.ones(2)), 2), 1.0)
    with pytest.raises(ValueError, match="instance of ActionNoise"):
        ScheduledNoise(lambda: np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="schedule is required"):
        ScheduledNoise(SignNoise(2), None)
    # a schedule that goes negative during training is caught when it is evaluated
    noise = GaussianNoise(np.zeros(2), np.ones(2), schedule=lambda p: 1.0 if p in (1.0, 0.5, 0.0) else -1.0)
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        noise.update_progress(0.3)


def make_all_noises():
    return [
        GaussianNoise(np.zeros(N_ACTIONS), 0.1 * np.ones(N_ACTIONS), schedule="lin_1"),
        OrnsteinUhlenbeckNoise(
            np.zeros(N_ACTIONS), 0.1 * np.ones(N_ACTIONS), schedule={"type": "exponential", "start": 1, "end": 0.1}
        ),
        ScheduledNoise(SignNoise(N_ACTIONS), {"type": "piecewise", "endpoints": [[0, 1.0], [0.5, 0.1]]}),
        ScheduledNoise(OrnsteinUhlenbeckActionNoise(np.zeros(N_ACTIONS), np.ones(N_ACTIONS)), 0.5),
    ]


@pytest.mark.parametrize("noise", make_all_noises(), ids=lambda n: type(n).__name__)
def test_pickle_deepcopy_repr(noise):
    update_noise_progress(noise, 0.3)
    np.random.seed(0)
    noise()  # advance OU state
    clones = [pickle.loads(pickle.dumps(noise)), cloudpickle.loads(cloudpickle.dumps(noise)), copy.deepcopy(noise)]
    np.random.seed(1)
    expected = draws(noise, 5)
    for clone in clones:
        assert type(clone) is type(noise)
        assert clone.scale == noise.scale
        np.random.seed(1)
        np.testing.assert_array_equal(draws(clone, 5), expected)
    text = repr(noise)
    assert text.startswith(type(noise).__name__ + "(") and "object at" not in text
    assert "scale=" in text
    # also inside SB3's vectorized wrapper
    vec = VectorizedActionNoise(noise, n_envs=4)
    vec_clone = cloudpickle.loads(cloudpickle.dumps(vec))
    assert vec_clone().shape == (4, N_ACTIONS)


def test_check_noise_shape_draws_nothing():
    user = SignNoise(N_ACTIONS)
    noises = [
        GaussianNoise(np.zeros(N_ACTIONS), 0.1),
        OrnsteinUhlenbeckActionNoise(np.zeros(N_ACTIONS), 0.1 * np.ones(N_ACTIONS)),
        ScheduledNoise(user, 0.5),
        VectorizedActionNoise(ScheduledNoise(SignNoise(N_ACTIONS), 0.5), 4),
        None,
    ]
    np.random.seed(0)
    state = np.random.get_state()
    for noise in noises:
        check_noise_shape(noise, N_ACTIONS)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(state, after, strict=True))
    assert user.calls == 0  # a copy was probed, not the noise itself
    with pytest.raises(
        ValueError, match=r"action_noise has shape \(3,\) but the action space has dimension 2; .*np.zeros\(2\)"
    ):
        check_noise_shape(NormalActionNoise(np.zeros(3), np.ones(3)), 2)
    with pytest.raises(ValueError, match=r"action_noise has shape \(3,\) but the action space has dimension 4"):
        check_noise_shape(VectorizedActionNoise(ScheduledNoise(SignNoise(3), 1.0), 2), 4)
    with pytest.raises(ValueError, match=r"has shape \(\)"):
        check_noise_shape(GaussianNoise(0.0, 0.1), 1)


def test_inside_sb3_off_policy_loop(tmp_path):
    """SB3 vectorizes the noise, resets one env's copy at its episode end, pickles it with the model."""
    from stable_baselines3 import DDPG
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class UpdateNoise(BaseCallback):
        def _on_step(self) -> bool:
            self.scale = update_noise_progress(self.model.action_noise, self.model._current_progress_remaining)
            return True

    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    noise = OrnsteinUhlenbeckNoise(np.zeros(1), 0.5 * np.ones(1), schedule="lin_1")
    model = DDPG(
        "MlpPolicy", env, action_noise=noise, learning_starts=0, gradient_steps=0, seed=0, policy_kwargs={"net_arch": [8]}
    )
    callback = UpdateNoise()
    model.learn(420, callback=callback)  # Pendulum episodes last 200 steps: each copy is reset by SB3
    assert isinstance(model.action_noise, VectorizedActionNoise)
    # callbacks run just before SB3 updates the progress (DDPG's _on_step runs just after)
    assert callback.scale == pytest.approx(1 - (model.num_timesteps - env.num_envs) / 420)
    model.save(tmp_path / "model.zip")
    loaded = DDPG.load(tmp_path / "model.zip")
    assert [n.scale for n in loaded.action_noise.noises] == pytest.approx([callback.scale] * 2)
