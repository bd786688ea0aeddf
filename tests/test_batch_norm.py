"""The DDPG paper's batch normalization (``policy_kwargs=dict(batch_norm=True)``): where it sits, which statistics
the networks and their targets use, and that it survives learning, saving, parameter noise and the fast mode."""

import numpy as np
import pytest
import torch as th
from torch import nn

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise

SMALL = dict(buffer_size=2_000, learning_starts=50, batch_size=32, device="cpu", seed=0)


def _kinds(network: nn.Module) -> list[str]:
    return [type(m).__name__ for m in network.modules() if not isinstance(m, nn.Sequential | type(network))]


def _running_stats(network: nn.Module) -> list[th.Tensor]:
    return [b.clone() for name, b in network.named_buffers() if "running_" in name]


def test_the_paper_layout_normalizes_the_state_and_the_layers_before_the_action():
    model = DDPG(
        "MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 16], batch_norm=True, critic_action_layer=1), **SMALL
    )
    # the state input, then between each hidden linear layer and its activation; not after the output layer
    assert _kinds(model.actor.mu) == [
        "BatchNorm1d", "Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear", "Tanh"
    ]  # fmt: skip
    critic = model.critic.q_networks[0]
    assert _kinds(critic.obs_net) == ["BatchNorm1d", "Linear", "BatchNorm1d", "ReLU"]
    # from the action input on, no normalization
    assert _kinds(critic.joint_net) == ["Linear", "ReLU", "Linear"]
    assert critic.joint_net[0].in_features == 32 + 1


def test_with_the_action_at_the_input_only_the_state_is_normalized():
    model = DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 16], batch_norm=True), **SMALL)
    critic = model.critic.q_networks[0]
    assert _kinds(critic.obs_net) == ["BatchNorm1d"]
    assert critic.joint_net[0].in_features == 3 + 1
    obs = th.zeros(4, 3)
    actions = th.zeros(4, 1)
    model.policy.set_training_mode(False)
    assert model.critic(obs, actions)[0].shape == (4, 1)


def test_learning_updates_the_running_statistics_and_the_targets_copy_them():
    model = DDPG(
        "MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 32], batch_norm=True, critic_action_layer=1), **SMALL
    )
    before = _running_stats(model.actor) + _running_stats(model.critic)
    model.learn(200)
    after = _running_stats(model.actor) + _running_stats(model.critic)
    assert all(not th.equal(a, b) for a, b in zip(before, after, strict=True))
    # the targets hold the online networks' statistics (SB3's copy after each update), not their own
    for online, target in ((model.actor, model.actor_target), (model.critic, model.critic_target)):
        for a, b in zip(_running_stats(online), _running_stats(target), strict=True):
            assert th.equal(a, b)
    assert not model.actor_target.training and not model.critic_target.training


def test_acting_uses_the_running_statistics_and_leaves_them_alone(tmp_path):
    model = DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 32], batch_norm=True), **SMALL)
    model.learn(120)
    stats = _running_stats(model.actor)
    obs = np.array([0.3, -0.9, 0.5], dtype=np.float32)
    # a single observation (a batch of one cannot be batch-normalized by its own statistics)
    action, _ = model.predict(obs, deterministic=True)
    again, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(action, again)
    for a, b in zip(stats, _running_stats(model.actor), strict=True):
        assert th.equal(a, b)
    model.save(tmp_path / "bn")
    loaded = DDPG.load(tmp_path / "bn", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], action)
    for a, b in zip(stats, _running_stats(loaded.actor), strict=True):
        assert th.equal(a, b)


def test_parameter_noise_perturbs_a_batch_normalized_actor_but_not_its_statistics():
    model = DDPG(
        "MlpPolicy",
        "Pendulum-v1",
        policy_kwargs=dict(net_arch=[32, 32], batch_norm=True),
        param_noise=AdaptiveParamNoise(initial_stddev=0.2),
        **SMALL,
    )
    model.learn(200)
    copy = model.perturbed_actors[0]
    assert not copy.training
    model.param_noise.perturb(model.actor, copy)
    for a, b in zip(_running_stats(model.actor), _running_stats(copy), strict=True):
        assert th.equal(a, b)
    norms = [m for m in copy.modules() if isinstance(m, nn.BatchNorm1d)]
    originals = [m for m in model.actor.modules() if isinstance(m, nn.BatchNorm1d)]
    assert norms and all(th.equal(n.weight, o.weight) for n, o in zip(norms, originals, strict=True))
    linear = next(m for m in copy.modules() if isinstance(m, nn.Linear))
    original = next(m for m in model.actor.modules() if isinstance(m, nn.Linear))
    assert not th.equal(linear.weight, original.weight)


def test_the_fast_mode_keeps_the_autograd_update_for_batch_norm_and_learns():
    model = DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 32], batch_norm=True), fast=True, **SMALL)
    model.learn(150)
    assert model.update_backend.startswith("autograd")
    assert all(th.isfinite(p).all() for p in model.policy.parameters())


def test_batch_norm_and_layer_norm_together_are_refused_in_one_line():
    with pytest.raises(ValueError, match="both layer_norm and batch_norm: choose one"):
        DDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(batch_norm=True, layer_norm=True), **SMALL)
