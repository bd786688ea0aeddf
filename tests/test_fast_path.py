"""The fast update learns what SB3's DDPG (the plain reference path) learns: bit for bit on CPU."""

import copy

import numpy as np
import pytest
import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.logger import configure
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecNormalize

from sb3_ddpg_ext import DDPG


def _params(model) -> list[th.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


def _assert_close(ours: list[th.Tensor], reference: list[th.Tensor], rtol: float, atol: float) -> None:
    for a, b in zip(ours, reference, strict=True):
        th.testing.assert_close(a, b, rtol=rtol, atol=atol)


def test_learn_matches_sb3_ddpg():
    """Same seed and settings: this DDPG and SB3's learn the same networks (collection included)."""
    results = []
    for cls in (DDPG, SB3DDPG):
        noise = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
        model = cls(
            "MlpPolicy",
            "Pendulum-v1",
            seed=5,
            learning_starts=50,
            buffer_size=1000,
            batch_size=32,
            policy_kwargs=dict(net_arch=[32, 32]),
            action_noise=noise,
            device="cpu",
        )
        model.learn(250)
        results.append(_params(model))
    _assert_close(*results, rtol=0, atol=0)


@pytest.mark.parametrize("share_features_extractor", [False, True])
def test_1000_updates_match_sb3_reference(share_features_extractor):
    """Fast path vs SB3's update on the same replay data and minibatches: same losses and parameters."""
    kwargs = dict(
        seed=0,
        learning_starts=100,
        buffer_size=2_000,
        batch_size=64,
        device="cpu",
        policy_kwargs=dict(net_arch=[64, 64], share_features_extractor=share_features_extractor),
    )
    ours = DDPG("MlpPolicy", "Pendulum-v1", **kwargs)
    ours.learn(300)
    reference = SB3DDPG("MlpPolicy", "Pendulum-v1", **kwargs)
    reference.set_parameters(copy.deepcopy(ours.get_parameters()), exact_match=True)  # no shared Adam state
    reference.replay_buffer = copy.deepcopy(ours.replay_buffer)
    start = _params(ours)
    losses = {"ours": [], "reference": []}
    for name, model in (("ours", ours), ("reference", reference)):
        model.set_logger(configure(None, []))
        np.random.seed(123)  # same minibatches for both
        for _ in range(1_000):
            model.train(gradient_steps=1, batch_size=64)
            values = model.logger.name_to_value
            losses[name].append((values["train/critic_loss"], values["train/actor_loss"]))
    np.testing.assert_allclose(losses["ours"], losses["reference"], rtol=0, atol=0)
    _assert_close(_params(ours), _params(reference), rtol=0, atol=0)
    # the networks really trained: the comparison is not between two untouched copies
    assert max((a - b).abs().max().item() for a, b in zip(_params(ours), start, strict=True)) > 1e-2


def test_fast_path_with_her_dict_vecnormalize_and_save_load(tmp_path):
    model = DDPG(
        "MultiInputPolicy",
        BitFlippingEnv(n_bits=4, continuous=True, max_steps=4),
        replay_buffer_class=HerReplayBuffer,
        learning_starts=50,
        buffer_size=1000,
        batch_size=32,
        policy_kwargs=dict(net_arch=[32]),
        device="cpu",
    )
    model.learn(150)
    env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=0))
    model = DDPG(
        "MlpPolicy",
        env,
        n_steps=3,
        learning_starts=50,
        buffer_size=1000,
        batch_size=32,
        policy_kwargs=dict(net_arch=[32]),
        device="cpu",
    )
    model.learn(150)
    model.save(tmp_path / "m")
    loaded = DDPG.load(tmp_path / "m", env=env)
    loaded.learn(100, reset_num_timesteps=False)
    # the fused Polyak lists point at the loaded networks, not stale copies
    assert loaded._polyak_pairs[1][1][0] is next(loaded.actor.parameters())
    assert all(p.requires_grad for p in loaded.critic.parameters())


def test_fused_adam_option_matches_to_float_tolerance():
    """The documented opt-in ``optimizer_kwargs=dict(fused=True)`` makes the same updates, to float tolerance."""
    models = []
    for optimizer_kwargs in ({}, {"fused": True}):
        policy_kwargs = dict(net_arch=[64, 64], optimizer_kwargs=optimizer_kwargs)
        model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, learning_starts=300, batch_size=64, policy_kwargs=policy_kwargs)
        model.learn(300)  # the same random-action replay data and initial networks, no update yet
        model.set_logger(configure(None, []))
        models.append(model)
    plain, fused = models
    start = _params(plain)
    _assert_close(_params(fused), start, rtol=0, atol=0)
    for model in models:
        np.random.seed(7)  # same minibatches for both
        model.train(gradient_steps=200, batch_size=64)
    assert fused.actor.optimizer.param_groups[0]["fused"] and not plain.actor.optimizer.param_groups[0]["fused"]
    _assert_close(_params(fused), _params(plain), rtol=1e-4, atol=1e-4)
    # trained for real: 200 updates moved the networks well beyond the tolerance
    assert max((a - b).abs().max().item() for a, b in zip(_params(plain), start, strict=True)) > 1e-2
