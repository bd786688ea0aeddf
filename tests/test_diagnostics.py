"""Diagnostics: the critic's estimate against the true return, update statistics, probe states (known answers)."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.ddpg.update_stats import STAT_KEYS, update_statistics
from sb3_ddpg_ext.diagnostics.probes import draw_probe_states, probe_actions
from sb3_ddpg_ext.diagnostics.recorder import Diagnostics, read_probes, read_progress, read_value_curve
from sb3_ddpg_ext.diagnostics.value import discounted_returns, usable_steps, value_bias
from sb3_ddpg_ext.experiment.config import build_run_spec
from sb3_ddpg_ext.experiment.evaluation import evaluate_returns
from sb3_ddpg_ext.experiment.run import run_experiment

HORIZON = 50


class ConstantReward(gym.Env):
    """Reward 1 at every step, whatever the action; a time limit of HORIZON steps ends every episode."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 1.0, False, False, {}


def constant_env():
    return gym.wrappers.TimeLimit(ConstantReward(), max_episode_steps=HORIZON)


def test_discounted_returns_and_usable_steps():
    assert discounted_returns(np.ones(3), 0.5).tolist() == [1.75, 1.5, 1.0]
    # truncated after 50 steps, gamma 0.9: the tail weighs 0.9^(50 - t) <= 0.05 for t <= 21
    mask = usable_steps(50, truncated=True, gamma=0.9)
    assert mask.sum() == 22 and mask[:22].all()
    assert usable_steps(50, truncated=False, gamma=0.9).all()  # a terminated episode's returns are complete


def test_value_bias_of_a_critic_forced_to_a_known_value():
    """Q = 7 everywhere on a constant-reward task: the true value and the bias have closed forms."""
    env = make_vec_env(constant_env, n_envs=1, seed=0)
    model = DDPG("MlpPolicy", env, gamma=0.9, policy_kwargs=dict(net_arch=[8]), seed=0, device="cpu")
    last = model.critic.qf0[-1]
    with th.no_grad():
        last.weight.zero_()
        last.bias.fill_(7.0)
    diagnostics = Diagnostics(probe_states=None)
    recorder = diagnostics.episode_recorder(env)
    evaluate_returns(model, env, n_episodes=3, seed=1, callback=recorder)
    assert len(recorder.episodes) == 3 and all(e.truncated and len(e.rewards) == HORIZON for e in recorder.episodes)
    result = value_bias(model, recorder.episodes)
    t = np.arange(22)  # the usable steps (see above)
    true_value = np.mean((1 - 0.9 ** (HORIZON - t)) / (1 - 0.9))
    assert result.n_states == 3 * 22
    assert result.estimate == pytest.approx(7.0)
    assert result.true_value == pytest.approx(true_value)
    assert result.bias == pytest.approx(7.0 - true_value)
    assert result.relative_bias == pytest.approx((7.0 - true_value) / true_value)


def test_update_statistics_on_known_tensors():
    q_values, targets = th.tensor([[1.0], [3.0]]), th.tensor([[2.0], [2.0]])
    actions = th.tensor([[0.99], [-0.5], [0.0], [-1.0]])
    stats = dict(zip(STAT_KEYS, update_statistics(q_values, targets, actions).tolist(), strict=True))
    assert stats == pytest.approx(
        dict(q_mean=2, q_std=1, target_mean=2, target_std=0, td_error_mean=0, td_error_std=1, actor_saturation=0.5)
    )


def test_update_statistics_change_no_number():
    models = []
    for stats in (False, True):
        model = DDPG(
            "MlpPolicy",
            "Pendulum-v1",
            learning_starts=100,
            policy_kwargs=dict(net_arch=[32]),
            seed=0,
            device="cpu",
            update_stats=stats,
        )
        model.learn(300)
        models.append(model)
    for a, b in zip(models[0].policy.parameters(), models[1].policy.parameters(), strict=True):
        assert th.equal(a, b)
    assert models[1].logger.name_to_value["train/q_mean"] != 0
    assert "train/q_mean" not in models[0].logger.name_to_value


def test_probe_states_are_fixed_and_actions_follow_the_actor():
    states = draw_probe_states("Pendulum-v1", 5, seed=3)
    assert states.shape == (5, 3) and np.array_equal(states, draw_probe_states("Pendulum-v1", 5, seed=3))
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, device="cpu")
    actions = probe_actions(model, states)
    assert actions.shape == (5, 1) and np.all(np.abs(actions) <= 2.0)
    with th.no_grad():
        expected = model.actor(th.as_tensor(states)).numpy() * 2.0  # Pendulum's actions are in [-2, 2]
    np.testing.assert_allclose(actions, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo", ["ddpg_ext", "td3", "sac"])
def test_run_records_diagnostics(tmp_path, algo):
    hyperparams = {"learning_starts": 100, "n_timesteps": 600, "gamma": 0.98, "policy_kwargs": {"net_arch": [32]}}
    spec = build_run_spec("Pendulum-v1", hyperparams, algo)
    result = run_experiment(spec, eval_freq=200, n_eval_episodes=2, run_dir=tmp_path, diagnostics_dir=tmp_path / "diagnostics")
    values = read_value_curve(tmp_path / "diagnostics")
    assert values["step"].tolist() == [row[0] for row in result.rows] == [0, 200, 400, 600]
    # Pendulum: 200-step episodes cut by the time limit, gamma 0.98: steps t with 0.98^(200 - t) <= 0.05, t <= 51
    assert values["n_states"].tolist() == [2 * 52] * 4 and np.isfinite(values["bias"]).all()
    probes = read_probes(tmp_path / "diagnostics")
    assert probes["states"].shape == (32, 3) and probes["actions"].shape == (4, 32, 1)
    assert probes["steps"].tolist() == [0, 200, 400, 600]
    progress = read_progress(tmp_path / "diagnostics")
    assert "train/critic_loss" in progress
    assert ("train/q_mean" in progress) == (algo == "ddpg_ext")


def test_recording_diagnostics_changes_no_number_of_the_run(tmp_path):
    """Same seed with and without diagnostics: identical networks and evaluation returns."""
    hyperparams = {"learning_starts": 100, "n_timesteps": 500, "gamma": 0.98, "policy_kwargs": {"net_arch": [32]}}
    results = []
    for folder in (None, tmp_path / "diagnostics"):
        spec = build_run_spec("Pendulum-v1", {**hyperparams, "noise_type": "normal", "noise_std": 0.3})
        results.append(run_experiment(spec, eval_freq=250, n_eval_episodes=2, diagnostics_dir=folder))
    assert [row[:3] for row in results[0].rows] == [row[:3] for row in results[1].rows]
    for a, b in zip(results[0].model.policy.parameters(), results[1].model.policy.parameters(), strict=True):
        assert th.equal(a, b)
