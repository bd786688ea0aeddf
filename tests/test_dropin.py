"""Inputs SB3's DDPG accepts and behaviour SB3 users rely on: each test failed before the one-class rewrite of DDPG."""

import numpy as np
import pytest
import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from stable_baselines3 import SAC, TD3
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from sb3_ddpg_ext import DDPG, DDPGPolicy


def tiny(**policy_kwargs) -> dict:
    """Small settings, a new dict each time (SB3's DDPG writes n_critics into the policy_kwargs it is given)."""
    return dict(policy_kwargs=dict(net_arch=[16], **policy_kwargs), buffer_size=1_000, batch_size=16, learning_starts=20)


def _params(module: th.nn.Module) -> list[th.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _equal(a: list[th.Tensor], b: list[th.Tensor]) -> bool:
    return all(th.equal(x, y) for x, y in zip(a, b, strict=True))


def _groups(optimizer: th.optim.Optimizer, key: str) -> list:
    return [group[key] for group in optimizer.param_groups]


def test_ddpg_is_one_class_over_sb3s_off_policy_algorithm():
    assert DDPG.__bases__ == (OffPolicyAlgorithm,)


def test_tau_zero_freezes_the_targets():
    model = DDPG("MlpPolicy", "Pendulum-v1", tau=0.0, seed=0, **tiny())
    before = _params(model.actor_target) + _params(model.critic_target)
    online = _params(model.actor) + _params(model.critic)
    model.learn(60)
    assert _equal(_params(model.actor_target) + _params(model.critic_target), before)
    assert not _equal(_params(model.actor) + _params(model.critic), online)
    with pytest.raises(ValueError, match=r"tau=1.5 must lie in \[0, 1\]"):
        DDPG("MlpPolicy", "Pendulum-v1", tau=1.5)


def test_lr_schedule_assigned_after_construction_is_read_at_every_train():
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, **tiny())
    model.learn(30)
    model.lr_schedule = lambda _: 0.0
    actor, critic = _params(model.actor), _params(model.critic)
    model.learn(30, reset_num_timesteps=False)
    assert _groups(model.actor.optimizer, "lr") == _groups(model.critic.optimizer, "lr") == [0.0]
    assert _equal(_params(model.actor), actor) and _equal(_params(model.critic), critic)
    # an actor- or critic-specific rate stays that network's
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, critic_learning_rate=1e-4, **tiny())
    model.lr_schedule = lambda _: 0.0
    model.learn(30)
    assert _groups(model.actor.optimizer, "lr") == [0.0] and _groups(model.critic.optimizer, "lr") == [1e-4]


def test_learn_zero_steps_returns_at_once():
    for algo in (DDPG, SB3DDPG):
        model = algo("MlpPolicy", "Pendulum-v1", seed=0, **tiny())
        assert model.learn(0) is model
        assert model.num_timesteps == 0


def test_a_file_saved_by_sb3s_ddpg_loads_as_this_packages_policy(tmp_path):
    sb3 = SB3DDPG("MlpPolicy", "Pendulum-v1", seed=0, **tiny())
    sb3.learn(60)
    sb3.save(tmp_path / "sb3_ddpg")
    model = DDPG.load(tmp_path / "sb3_ddpg", env=sb3.get_env())
    assert type(model.policy) is DDPGPolicy
    assert not hasattr(model, "policy_delay") and not hasattr(model, "target_policy_noise")
    assert _equal(_params(model.policy), _params(sb3.policy))
    obs = np.array([[0.5, -0.5, 0.1], [1.0, 0.0, -2.0]], dtype=np.float32)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], sb3.predict(obs, deterministic=True)[0])
    model.learn(40, reset_num_timesteps=False)  # and it trains on
    assert model.num_timesteps == 100


@pytest.mark.parametrize("algo", [TD3, SAC])
def test_a_td3_or_sac_file_is_refused_in_one_line(tmp_path, algo):
    algo("MlpPolicy", "Pendulum-v1", **tiny()).save(tmp_path / "other")
    loader = rf"Load it with stable_baselines3\.{algo.__name__}\.load\(\)\.$"
    with pytest.raises(ValueError, match=rf"^Cannot load '.*other.zip' as DDPG: .*{loader}") as error:
        DDPG.load(tmp_path / "other")
    assert "\n" not in str(error.value)
    if algo is TD3:
        assert "n_critics=2, policy_delay=2" in str(error.value)


def test_load_applies_the_models_own_fused_setting(tmp_path):
    DDPG("MlpPolicy", "Pendulum-v1", fast=True, **tiny()).save(tmp_path / "fast")
    DDPG("MlpPolicy", "Pendulum-v1", **tiny()).save(tmp_path / "plain")
    for path, fast, expected in (("fast", False, None), ("plain", True, True), ("fast", True, True), ("plain", False, None)):
        model = DDPG.load(tmp_path / path, fast=fast)
        for optimizer in (model.actor.optimizer, model.critic.optimizer):
            assert _groups(optimizer, "fused") == [expected], (path, fast)
    # a user's own choice wins over the fast mode's
    model = DDPG("MlpPolicy", "Pendulum-v1", fast=True, **tiny(optimizer_kwargs={"foreach": True}))
    assert _groups(model.critic.optimizer, "fused") == [None] and _groups(model.critic.optimizer, "foreach") == [True]


def test_set_parameters_keeps_the_models_learning_rates_and_fused_setting(tmp_path):
    source = DDPG("MlpPolicy", "Pendulum-v1", learning_rate=5e-3, **tiny())
    source.save(tmp_path / "source")
    model = DDPG("MlpPolicy", "Pendulum-v1", fast=True, actor_learning_rate=1e-4, **tiny())
    model.set_parameters(str(tmp_path / "source.zip"))
    assert _groups(model.actor.optimizer, "lr") == [1e-4] and _groups(model.critic.optimizer, "lr") == [1e-3]
    assert _groups(model.actor.optimizer, "fused") == _groups(model.critic.optimizer, "fused") == [True]
    assert _equal(_params(model.policy), _params(source.policy))
