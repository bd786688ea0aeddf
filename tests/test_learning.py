"""DDPG learns Pendulum-v1: a real budget and a threshold an untrained agent fails (about -1200)."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise

from sb3_ddpg_ext import DDPG

# RL Zoo's Pendulum-v1 values for DDPG, with learning starting after 1,000 steps instead of 10,000
PENDULUM = dict(gamma=0.98, buffer_size=200_000, learning_starts=1_000, learning_rate=1e-3, device="cpu")


def pendulum_return(seed: int, fast: bool = False, n_timesteps: int = 15_000) -> float:
    """Train on Pendulum-v1 with ``seed`` (fast mode or not); return the mean deterministic return over 10 episodes."""
    import gymnasium as gym

    model = DDPG(
        "MlpPolicy",
        "Pendulum-v1",
        action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
        seed=seed,
        fast=fast,
        **PENDULUM,
    )
    untrained, _ = evaluate_policy(model, Monitor(gym.make("Pendulum-v1")), n_eval_episodes=3)
    assert untrained < -700, "the threshold must be one an untrained agent fails"
    model.learn(n_timesteps)
    eval_env = Monitor(gym.make("Pendulum-v1"))
    eval_env.reset(seed=1000 + seed)
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    return float(mean_return)


@pytest.mark.slow
@pytest.mark.parametrize("fast", [False, True], ids=["exact", "fast"])
def test_ddpg_learns_pendulum(fast):
    # Seeds are independent: run them in two processes (fork keeps the test module importable)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        returns = list(pool.map(pendulum_return, range(3), [fast] * 3))
    print(f"Pendulum-v1 returns after 15k steps ({'fast' if fast else 'exact'} mode):", returns)
    assert sum(r > -400 for r in returns) >= 2, returns
