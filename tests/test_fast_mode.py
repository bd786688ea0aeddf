"""The fast mode (`fast=True`): fused Adam and low-precision matmul internals; numbers differ from exact by rounding only."""

import copy
import warnings

import numpy as np
import pytest
import torch as th

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.ddpg.fast import FastMatmul, flush_subnormal_state, native_fast_matmul
from sb3_ddpg_ext.experiment.config import build_run_spec

KWARGS = dict(learning_starts=500, buffer_size=5_000, batch_size=64, policy_kwargs=dict(net_arch=[64, 64]), device="cpu")
NATIVE = native_fast_matmul(th.device("cpu"))


def _trained_pair(updates: int) -> tuple[DDPG, DDPG, DDPG]:
    """Exact and fast models from the same initial networks, updated on the same replay data and minibatches."""
    exact = DDPG("MlpPolicy", "Pendulum-v1", seed=0, **KWARGS)
    exact.learn(500)  # random actions: fills the replay buffer, no update yet
    start = copy.deepcopy(exact.policy.state_dict())
    fast = DDPG("MlpPolicy", "Pendulum-v1", seed=0, fast=True, **KWARGS)
    fast.policy.load_state_dict(start)
    fast.replay_buffer = exact.replay_buffer
    untrained = DDPG("MlpPolicy", "Pendulum-v1", seed=0, **KWARGS)
    untrained.policy.load_state_dict(start)
    for model in (exact, fast):
        model.set_logger(exact.logger)
        np.random.seed(1)  # the same minibatches
        model.train(gradient_steps=updates, batch_size=64)
    return exact, fast, untrained


def _relative_distance(a: th.nn.Module, b: th.nn.Module) -> float:
    diff = th.cat([(x - y).detach().flatten() for x, y in zip(a.parameters(), b.parameters(), strict=True)])
    norm = th.cat([x.detach().flatten() for x in a.parameters()])
    return float(diff.norm() / norm.norm())


def test_fast_updates_track_exact_updates():
    """
    300 updates from the same networks on the same minibatches: the fast networks stay within 15% (relative L2) of the
    exact ones and closer than a third of the way training moved them. Measured here: 1.4% / 3.2% (actor / critic)
    after 100 updates while the networks moved 26% / 37%, and 10.2% / 9.1% after 300 updates while they moved
    44% / 58%: rounding differences compound, as between any two training runs.
    """
    exact, fast, untrained = _trained_pair(300)
    assert _fused(fast) == [True, True] and fast._fast_matmul.enabled == NATIVE
    for name in ("actor", "critic"):
        moved = _relative_distance(getattr(exact, name), getattr(untrained, name))
        gap = _relative_distance(getattr(exact, name), getattr(fast, name))
        assert gap < 0.15 and gap < moved / 3, (name, gap, moved)
        for param in getattr(fast, name).parameters():
            assert param.dtype == th.float32 and th.isfinite(param).all()
    assert all(value.dtype == th.float32 for state in fast.critic.optimizer.state.values() for value in state.values())


def test_fast_mode_flushes_subnormal_adam_moments():
    """Adam's moments of dead units decay into subnormals in the exact mode (as in SB3's); the fast mode flushes them."""
    exact, fast, _ = _trained_pair(1000)
    assert _subnormals(exact.critic.optimizer) + _subnormals(exact.actor.optimizer) > 0
    assert _subnormals(fast.critic.optimizer) == _subnormals(fast.actor.optimizer) == 0


def _subnormals(optimizer: th.optim.Optimizer) -> int:
    tiny = th.finfo(th.float32).tiny
    moments = [state[key] for state in optimizer.state.values() for key in ("exp_avg", "exp_avg_sq")]
    return sum(int(((m != 0) & (m.abs() < tiny)).sum()) for m in moments)


def test_flush_subnormal_state_zeroes_subnormals_only():
    param = th.nn.Parameter(th.zeros(4))
    optimizer = th.optim.Adam([param])
    tiny = th.finfo(th.float32).tiny
    values = th.tensor([1e-40, -tiny / 2, tiny, -1.0])
    optimizer.state[param] = {"step": th.tensor(5.0), "exp_avg": values.clone(), "exp_avg_sq": values.abs()}
    flush_subnormal_state(optimizer)
    state = optimizer.state[param]
    assert state["exp_avg"].tolist() == [0.0, 0.0, tiny, -1.0] and state["exp_avg_sq"].tolist() == [0.0, 0.0, tiny, 1.0]
    assert state["step"].item() == 5.0


def test_fast_mode_survives_save_load(tmp_path):
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, fast=True, **{**KWARGS, "learning_starts": 100})
    model.learn(150)
    model.save(tmp_path / "fast")
    loaded = DDPG.load(tmp_path / "fast", device="cpu")
    assert loaded.fast is True and _fused(loaded) == [True, True]
    assert loaded._fast_matmul.enabled == NATIVE
    loaded.set_env(model.get_env())
    loaded.learn(50, reset_num_timesteps=False)
    assert _fused(DDPG("MlpPolicy", "Pendulum-v1", **KWARGS)) == [None, None]


def _fused(model: DDPG) -> list:
    """The ``fused`` setting the actor's and the critic's optimizer step with (their parameter groups)."""
    return [
        group["fused"] for optimizer in (model.actor.optimizer, model.critic.optimizer) for group in optimizer.param_groups
    ]


def test_without_native_support_the_fast_mode_warns_once_and_keeps_full_precision():
    with pytest.warns(UserWarning, match="does not run float32 matrix products"):
        fast_matmul = FastMatmul(th.device("cpu"), enabled=True, native=False)
    assert not fast_matmul.enabled
    with fast_matmul():
        assert th.get_float32_matmul_precision() == "highest"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not FastMatmul(th.device("cpu"), enabled=False, native=False).enabled  # the exact mode says nothing


@pytest.mark.skipif(not NATIVE, reason="oneDNN keeps float32 kernels for float32 products on this CPU")
def test_fast_products_round_inside_train_only_and_tensors_stay_float32():
    """Inside the block a float32 product is rounded like a bfloat16 one (but returned in float32); outside, exact."""
    a, b = th.randn(64, 300, generator=th.Generator().manual_seed(0)), th.randn(300, 64)
    exact = a.double() @ b.double()
    with FastMatmul(th.device("cpu"), enabled=True)():
        fast = a @ b
    assert fast.dtype == th.float32
    assert (fast.double() - exact).abs().max() > 1e-3  # bfloat16 inputs: errors of order 1e-2 here
    assert th.get_float32_matmul_precision() == "highest"  # restored
    assert ((a @ b).double() - exact).abs().max() < 1e-4


def test_fast_in_hyperparameters():
    assert build_run_spec("Pendulum-v1", {"fast": True}).algo_kwargs == {"fast": True}
