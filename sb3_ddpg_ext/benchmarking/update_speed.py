"""
Update-level timing: one DDPG update of this package against SB3's ``train(1)`` and a minimal hand-written PyTorch
DDPG update of the same size; ``sb3-ddpg speed`` prints it after the throughput ratio.
"""

import functools
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch as th
from torch import nn
from torch.nn import functional as F


def mlp(sizes: list[int], squash: bool = False) -> nn.Sequential:
    """A ReLU MLP with the given layer sizes, tanh-squashed if asked."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if squash:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def hand_written_update(obs_dim: int, act_dim: int, net_arch: list[int], batch_size: int) -> Callable[[], None]:
    """A minimal DDPG update on random tensors: two MLPs, their targets, Adam, the DDPG losses, lerp targets."""
    actor, critic = mlp([obs_dim, *net_arch, act_dim], squash=True), mlp([obs_dim + act_dim, *net_arch, 1])
    actor_target, critic_target = mlp([obs_dim, *net_arch, act_dim], squash=True), mlp([obs_dim + act_dim, *net_arch, 1])
    actor_target.load_state_dict(actor.state_dict())
    critic_target.load_state_dict(critic.state_dict())
    actor_opt, critic_opt = th.optim.Adam(actor.parameters(), 1e-3), th.optim.Adam(critic.parameters(), 1e-3)
    targets, sources = [*actor_target.parameters(), *critic_target.parameters()], [*actor.parameters(), *critic.parameters()]
    pairs = list(zip(targets, sources, strict=True))
    actor_params = list(actor.parameters())
    obs, next_obs = th.randn(batch_size, obs_dim), th.randn(batch_size, obs_dim)
    actions, rewards, dones = th.rand(batch_size, act_dim) * 2 - 1, th.randn(batch_size, 1), th.zeros(batch_size, 1)

    def update() -> None:
        with th.no_grad():
            qf_next = critic_target(th.cat([next_obs, actor_target(next_obs)], 1))
            y = rewards + (1 - dones) * 0.99 * qf_next
        critic_loss = F.mse_loss(critic(th.cat([obs, actions], 1)), y)
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()
        actor_loss = -critic(th.cat([obs, actor(obs)], 1)).mean()
        actor_opt.zero_grad()
        actor_loss.backward(inputs=actor_params)
        actor_opt.step()
        with th.no_grad():
            for target, source in pairs:
                target.lerp_(source, 0.005)

    return update


def time_per_call(fn: Callable[[], object], n: int) -> float:
    """Mean seconds per call of ``fn`` over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def update_flops(obs_dim: int, act_dim: int, net_arch: list[int], batch_size: int) -> float:
    """
    Floating-point operations of the matrix products of one DDPG update (2 per multiply-add), as the explicit update
    computes them: the target actor and target critic forward; the critic forward, its weight gradients and its input
    gradients (all layers but the first); the actor forward, the critic forward on its actions and the gradient back
    to the action input, the actor's weight gradients and its input gradients (all layers but the first).

    :return: FLOPs per update
    """
    actor = list(itertools.pairwise([obs_dim, *net_arch, act_dim]))
    critic = list(itertools.pairwise([obs_dim + act_dim, *net_arch, 1]))

    def products(layers: list[tuple[int, int]]) -> float:
        return float(sum(2 * batch_size * n_in * n_out for n_in, n_out in layers))

    first_critic = 2 * batch_size * critic[0][0] * critic[0][1]
    first_actor = 2 * batch_size * actor[0][0] * actor[0][1]
    action_columns = 2 * batch_size * act_dim * critic[0][1]
    critic_update = 3 * products(critic) - first_critic  # forward, weight gradients, input gradients
    actor_update = 3 * products(actor) - first_actor + 2 * products(critic) - first_critic + action_columns
    return products(actor) + products(critic) + critic_update + actor_update  # the targets' forward passes first


def update_times(models: dict[str, Any], net_arch: list[int], batch_size: int, updates: int, rounds: int) -> dict[str, float]:
    """
    Median milliseconds per call, timed alternately: the hand-written update (no sampling, no logging) and ``train(1)``
    (sampling, update, logging) of each model.

    :param models: label -> a DDPG model (this package's or SB3's) whose replay buffer holds data, all of one size
    :param net_arch: hidden layer sizes of all
    :param batch_size: minibatch size
    :param updates: calls per timing
    :param rounds: alternating rounds
    :return: name -> median milliseconds per call
    """
    first = next(iter(models.values()))
    obs_dim, act_dim = first.observation_space.shape[0], first.action_space.shape[0]
    timers: dict[str, Callable[[], object]] = {
        "hand-written update": hand_written_update(obs_dim, act_dim, net_arch, batch_size)
    }
    for label, model in models.items():
        timers[f"{label}: train(1)"] = functools.partial(model.train, 1, batch_size)
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, fn in timers.items():
            times[name].append(time_per_call(fn, updates))
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def format_update_times(ms: dict[str, float], flops: float) -> str:
    """
    :param ms: result of :func:`update_times`
    :param flops: the update's product FLOPs (:func:`update_flops`)
    :return: a few human-readable lines: each time, the product rate it amounts to, and each over the last model's
    """
    lines = [f"update time, ms (median); the update's matrix products are {flops / 1e9:.3f} GFLOP"]
    lines += [f"  {name:22s} {value:7.3f}  ({flops / value / 1e6:6.1f} GFLOP/s)" for name, value in ms.items()]
    reference = list(ms)[-1]
    lines += [f"  {reference} / {name}: {ms[reference] / value:.3f}" for name, value in ms.items() if name != reference]
    return "\n".join(lines)
