"""Scheduled action noise and parameter noise inside DDPG's training loop."""

import itertools

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure
from stable_baselines3.common.noise import NormalActionNoise, VectorizedActionNoise

from sb3_ddpg_ext import DDPG, AdaptiveParamNoise, GaussianNoise, OrnsteinUhlenbeckNoise, ScheduledNoise
from sb3_ddpg_ext.schedules import LinearSchedule


class RecordRollout(BaseCallback):
    """Record, at every step, the noise scale logged by DDPG and the stored vs deterministic actions."""

    def __init__(self):
        super().__init__()
        self.scales, self.gaps = [], []

    def _on_step(self) -> bool:
        self.scales.append(self.model.logger.name_to_value.get("rollout/noise_scale"))
        obs = self.locals["self"]._last_obs
        clean = self.model.policy.scale_action(self.model.predict(obs, deterministic=True)[0])
        self.gaps.append(float(np.abs(self.locals["buffer_actions"] - clean).max()))
        return True


def _model(env="Pendulum-v1", **kwargs):
    kwargs.setdefault("learning_starts", 20)
    return DDPG(
        "MlpPolicy",
        env,
        policy_kwargs=dict(net_arch=[16]),
        buffer_size=1_000,
        batch_size=16,
        seed=0,
        device="cpu",
        gradient_steps=0,
        **kwargs,
    )


def test_linear_decay_reaches_zero_and_actions_become_deterministic():
    model = _model(action_noise=GaussianNoise(np.zeros(1), 0.5 * np.ones(1), schedule=LinearSchedule(1.0, 0.0, 0.5)))
    model.set_logger(configure(None, []))
    recorder = RecordRollout()
    model.learn(200, callback=recorder)
    scales = [s for s in recorder.scales if s is not None]
    assert scales[0] == pytest.approx(1.0, abs=0.02)
    assert scales[-1] == 0.0 and model.action_noise.scale == 0.0
    assert all(a >= b for a, b in itertools.pairwise(scales))  # non-increasing
    # after 50% of the run the noise is 0: stored actions equal the deterministic policy's
    assert max(recorder.gaps[110:]) < 1e-6
    assert max(recorder.gaps[20:60]) > 0.05


def test_schedule_reaches_every_vectorized_copy_and_ou_resets_per_env():
    env = make_vec_env("Pendulum-v1", n_envs=4, seed=0)
    noise = OrnsteinUhlenbeckNoise(np.zeros(1), 0.3 * np.ones(1), schedule={"type": "linear", "start": 1.0, "end": 0.2})
    model = _model(env, action_noise=noise)
    model.learn(200)
    assert isinstance(model.action_noise, VectorizedActionNoise)
    assert [n.scale for n in model.action_noise.noises] == pytest.approx([0.2] * 4)
    before = [n.noise_prev.copy() for n in model.action_noise.noises]
    model.action_noise.reset(indices=[2])
    after = [n.noise_prev for n in model.action_noise.noises]
    assert np.all(after[2] == 0) and all(np.array_equal(before[i], after[i]) for i in (0, 1, 3))


def test_scale_survives_save_load_and_resume_continues(tmp_path):
    model = _model(action_noise=GaussianNoise(np.zeros(1), np.ones(1), schedule=LinearSchedule(1.0, 0.0, 1.0)))
    model.learn(100)
    assert model.action_noise.scale == pytest.approx(0.0)
    model.save(tmp_path / "m")
    loaded = DDPG.load(tmp_path / "m", env=model.get_env())
    assert loaded.action_noise.scale == pytest.approx(0.0)
    loaded.set_logger(configure(None, []))
    recorder = RecordRollout()
    loaded.learn(50, reset_num_timesteps=False, callback=recorder)
    # one clock, SB3's progress_remaining: learn(50, reset_num_timesteps=False) after 100 steps runs over a total of
    # 150 steps, so the schedule continues from 1 - 100/150 (it does not restart at 1) down to 1 - 149/150
    scales = [s for s in recorder.scales if s is not None]
    assert scales[0] == pytest.approx(1 - 100 / 150) and scales[-1] == pytest.approx(1 - 149 / 150)
    # a fresh learn() starts the schedule again
    loaded.learn(100, reset_num_timesteps=True)
    assert loaded.action_noise.scale == pytest.approx(0.0)


def test_scheduled_noise_wraps_a_users_noise():
    class Constant(NormalActionNoise):
        def __call__(self):
            return np.full(1, 0.5, dtype=np.float32)

    noise = ScheduledNoise(Constant(np.zeros(1), np.ones(1)), {"type": "exponential", "start": 1.0, "end": 0.01})
    model = _model(action_noise=noise)
    model.learn(100)
    assert noise.scale == pytest.approx(0.01)
    assert noise() == pytest.approx(0.005)


def test_plain_sb3_noise_keeps_working():
    model = _model(action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)))
    model.set_logger(configure(None, []))
    model.learn(60)
    assert "rollout/noise_scale" not in model.logger.name_to_value


def test_param_noise_adapts_to_desired_distance_and_predict_stays_clean():
    param_noise = AdaptiveParamNoise(
        initial_stddev=0.5, desired_action_stddev=0.1, adaptation_coefficient=1.05, adaptation_interval=5
    )
    model = DDPG(
        "MlpPolicy",
        "Pendulum-v1",
        param_noise=param_noise,
        policy_kwargs=dict(net_arch=[32, 32]),
        learning_starts=50,
        buffer_size=2_000,
        batch_size=64,
        seed=1,
        device="cpu",
        gradient_steps=0,
    )
    model.set_logger(configure(None, []))
    model.learn(1_500)
    distances = []
    for _ in range(10):
        batch = model.replay_buffer.sample(256)
        param_noise.perturb(model.actor, model.param_noise_probe)
        with th.no_grad():
            gap = model.actor(batch.observations) - model.param_noise_probe(batch.observations)
        distances.append(float(th.sqrt(th.mean(gap**2))))
    measured = float(np.mean(distances))
    assert 0.1 / 1.5 <= measured <= 0.1 * 1.5, (measured, param_noise)
    assert param_noise.current_stddev < 0.5  # adapted down from a too-large start
    assert "rollout/param_noise_stddev" in model.logger.name_to_value
    # rollouts used the perturbed actor, predictions the clean one
    obs = np.zeros((4, 3), dtype=np.float32)
    with th.no_grad():
        clean = model.actor(th.as_tensor(obs)).numpy()
    assert np.allclose(model.policy.scale_action(model.predict(obs, deterministic=True)[0]), clean, atol=1e-6)
    assert not np.allclose(model.perturbed_actor(th.as_tensor(obs)).detach().numpy(), clean)


def test_param_noise_skips_layer_norm_and_saves(tmp_path):
    param_noise = AdaptiveParamNoise(initial_stddev=0.3)
    model = DDPG(
        "MlpPolicy",
        "Pendulum-v1",
        param_noise=param_noise,
        policy_kwargs=dict(net_arch=[16, 16], layer_norm=True),
        learning_starts=10,
        buffer_size=500,
        batch_size=16,
        seed=0,
        device="cpu",
    )
    model.learn(60)
    param_noise.perturb(model.actor, model.perturbed_actor)
    clean = dict(model.actor.named_parameters())
    for name, param in model.perturbed_actor.named_parameters():
        is_norm = any(
            isinstance(m, th.nn.LayerNorm) and any(p is param for p in m.parameters()) for m in model.perturbed_actor.modules()
        )
        assert th.equal(param, clean[name]) == is_norm, name
    model.save(tmp_path / "pn")
    loaded = DDPG.load(tmp_path / "pn", env=model.get_env())
    assert loaded.param_noise.current_stddev == param_noise.current_stddev
    loaded.learn(30, reset_num_timesteps=False)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: GaussianNoise(np.zeros(1), -np.ones(1)), "sigma"),
        (lambda: OrnsteinUhlenbeckNoise(np.zeros(1), np.ones(1), theta=-0.1), "theta"),
        (lambda: OrnsteinUhlenbeckNoise(np.zeros(1), np.ones(1), dt=0.0), "dt"),
        (lambda: GaussianNoise(np.zeros(1), np.ones(1), schedule=lambda p: -1.0), "returned -1.0"),
        (lambda: GaussianNoise(np.zeros(1), np.ones(1), schedule=lambda p: float("nan")), "returned nan"),
        (lambda: AdaptiveParamNoise(adaptation_coefficient=0.9), "adaptation_coefficient"),
        (lambda: AdaptiveParamNoise(initial_stddev=0), "initial_stddev"),
    ],
)
def test_bad_noise_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_noise_dimension_checked_before_training():
    with pytest.raises(ValueError, match="dimension 1"):
        _model(action_noise=GaussianNoise(np.zeros(2), np.ones(2), schedule=0.5))
    with pytest.raises(ValueError, match="dimension 1"):
        _model(action_noise=ScheduledNoise(NormalActionNoise(np.zeros(3), np.ones(3)), 1.0))
