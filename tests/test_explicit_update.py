"""The fast mode's update without autograd (MLP policies): the autograd update's numbers to float32 rounding."""

import warnings

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.torch_layers import FlattenExtractor

from sb3_ddpg_ext import DDPG, NonFiniteLossError
from sb3_ddpg_ext.ddpg.explicit_update import ExplicitUpdate, unsupported_reason
from sb3_ddpg_ext.ddpg.fast import PRECISIONS, fastest_precisions

BASE = dict(learning_starts=200, buffer_size=2_000, batch_size=64, device="cpu")


def _pair(**kwargs) -> tuple[DDPG, DDPG]:
    """Two exact-mode models with the same networks and replay data, the second one updating without autograd."""
    models = []
    for explicit in (False, True):
        model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, **{**BASE, **kwargs})
        model.learn(200)  # fills the replay buffer; no update yet
        if explicit:
            assert unsupported_reason(model.policy) is None
            model._explicit_update = ExplicitUpdate(model.policy, choose_products=False)  # float32 products, as autograd
        models.append(model)
    return models[0], models[1]


def _relative(a: th.nn.Module, b: th.nn.Module) -> float:
    x = th.cat([p.detach().flatten() for p in a.parameters()])
    y = th.cat([p.detach().flatten() for p in b.parameters()])
    return float((x - y).norm() / y.norm())


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(policy_kwargs=dict(net_arch=[64, 64])),
        dict(policy_kwargs=dict(net_arch=[32, 32], activation_fn=th.nn.Tanh)),
        dict(policy_kwargs=dict(net_arch=[32], activation_fn=th.nn.LeakyReLU)),
        dict(policy_kwargs=dict(net_arch=dict(pi=[32], qf=[48, 16])), critic_weight_decay=1e-2, n_steps=3),
        dict(policy_kwargs=dict(net_arch=[32, 32], optimizer_class=th.optim.AdamW), actor_learning_rate=lambda p: 1e-4 * p),
    ],
    ids=["relu", "tanh", "leaky_relu", "weight_decay_n_step", "adamw_schedule"],
)
def test_the_explicit_update_equals_the_autograd_update_to_rounding(kwargs):
    autograd, explicit = _pair(**kwargs, update_stats=True)
    np.random.seed(1)
    autograd.train(1, 64)
    np.random.seed(1)
    explicit.train(1, 64)
    assert _relative(explicit.critic, autograd.critic) < 1e-6  # the first update is the same arithmetic up to order
    for model in (autograd, explicit):
        np.random.seed(2)
        model.train(299, 64)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        assert _relative(getattr(explicit, name), getattr(autograd, name)) < 1e-5, name
    for key in ("train/critic_loss", "train/actor_loss", "train/q_mean", "train/td_error_std", "train/actor_saturation"):
        np.testing.assert_allclose(
            explicit.logger.name_to_value[key], autograd.logger.name_to_value[key], rtol=1e-4, atol=1e-6
        )


def test_frozen_parameters_stay_frozen_and_the_rest_trains_as_with_autograd():
    autograd, explicit = _pair(policy_kwargs=dict(net_arch=[32, 32]))
    for model in (autograd, explicit):
        model.actor.mu[0].requires_grad_(False)
        model.critic.qf0[2].weight.requires_grad_(False)
    frozen = [p.detach().clone() for p in (explicit.actor.mu[0].weight, explicit.critic.qf0[2].weight)]
    for model in (autograd, explicit):
        np.random.seed(3)
        model.train(100, 64)
    assert th.equal(explicit.actor.mu[0].weight, frozen[0]) and th.equal(explicit.critic.qf0[2].weight, frozen[1])
    assert _relative(explicit.actor, autograd.actor) < 1e-5 and _relative(explicit.critic, autograd.critic) < 1e-5


def test_the_explicit_update_stops_at_a_non_finite_loss_before_it_reaches_the_networks():
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, fast=True, **BASE, policy_kwargs=dict(net_arch=[16]))
    model.learn(250)
    assert model._explicit_update is not None
    model.replay_buffer.rewards[:250] = np.nan
    before = [p.detach().clone() for p in model.policy.parameters()]
    with pytest.raises(NonFiniteLossError, match="critic loss became nan"):
        model.train(5, 64)
    assert all(th.equal(a, b) for a, b in zip(model.policy.parameters(), before, strict=True))


def test_the_fast_mode_takes_the_explicit_update_for_mlp_policies_and_says_why_not_otherwise():
    assert DDPG("MlpPolicy", "Pendulum-v1", fast=True, **BASE)._explicit_update is not None
    assert DDPG("MlpPolicy", "Pendulum-v1", **BASE)._explicit_update is None  # the exact mode is SB3's update
    for policy_kwargs, reason in (
        (dict(critic_action_layer=1), "the action enters the critic at a hidden layer"),
        (dict(layer_norm=True), "not Linear layers with ReLU, Tanh or LeakyReLU activations"),
        (dict(activation_fn=th.nn.SiLU), "not Linear layers with ReLU, Tanh or LeakyReLU activations"),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = DDPG("MlpPolicy", "Pendulum-v1", fast=True, policy_kwargs=policy_kwargs, **BASE)
        assert model._explicit_update is None
        assert any("the update keeps autograd" in str(w.message) and reason in str(w.message) for w in caught), reason
        model.learn(250)  # the autograd update trains on
    assert FlattenExtractor is type(DDPG("MlpPolicy", "Pendulum-v1", fast=True, **BASE).actor.features_extractor)


def test_each_product_gets_a_setting_that_was_timed():
    model = DDPG("MlpPolicy", "Pendulum-v1", fast=True, **BASE, policy_kwargs=dict(net_arch=[32, 24]))
    update = model._explicit_update
    products = update.products(64)
    # Layers 3-32, 32-24, 24-1 (actor) and 4-32, 32-24, 24-1 (critic; the targets have the same shapes): forward and
    # weight-gradient products 4 distinct each, input-gradient products of the layers after the first 2, and the
    # gradient of the critic's action column
    assert len(products) == 11
    assert ("columns", 64, 32, 1) in products and ("forward", 64, 3, 32) in products and ("forward", 64, 4, 32) in products
    plan = fastest_precisions(products, th.get_num_threads())
    assert set(plan) == set(products) and set(plan.values()) <= set(PRECISIONS)
    model.learn(300)
    assert update.plan == plan  # measured once per process, shapes and thread count
    assert th.get_float32_matmul_precision() == "highest"  # restored after train()


def test_a_fast_runs_summary_names_the_backend_of_its_products(tmp_path):
    import json

    from sb3_ddpg_ext.cli import main

    run_dir = tmp_path / "run"
    argv = ["train", "--env", "Pendulum-v1", "--fast", "--n-timesteps", "300", "--run-dir", str(run_dir)]
    assert main([*argv, "--eval-freq", "300", "--n-eval-episodes", "1", "--no-progress-bar", "--no-diagnostics"]) == 0
    backend = json.loads((run_dir / "summary.json").read_text())["update_backend"]
    assert backend.startswith("explicit update; products: ") and ("MKL float32" in backend or "oneDNN" in backend)
