"""
Throughput check: this package's DDPG against SB3's, timed alternately in one process.

Prints steps/s of ``learn()`` for both and their ratio, the time of one update against a minimal hand-written
PyTorch DDPG update of the same size, and the replay buffers' sizes. Example::

    PYTHONPATH=. python benchmarks/speed_check.py --env Pendulum-v1 --net-arch 400 300 --steps 400 --rounds 5
"""

import argparse
import itertools
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from torch import nn
from torch.nn import functional as F

from sb3_ddpg_ext import DDPG


def replay_nbytes(model) -> int:
    """Bytes held by the NumPy arrays of a model's replay buffer."""
    arrays = vars(model.replay_buffer).values()
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


def mlp(sizes: list[int], squash: bool = False) -> nn.Sequential:
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
    sources = [*actor.parameters(), *critic.parameters()]
    targets = [*actor_target.parameters(), *critic_target.parameters()]
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
            th._foreach_lerp_(targets, sources, 0.005)

    return update


def time_per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[400, 300])
    parser.add_argument("--steps", type=int, default=400, help="environment steps per timed learn() call")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (ours, SB3, ...)")
    parser.add_argument("--updates", type=int, default=100, help="updates per timed update measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for both")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--buffer-size", type=int, default=1_000_000)
    parser.add_argument("--learning-starts", type=int, default=100)
    args = parser.parse_args()

    th.set_num_threads(args.threads)
    kwargs = dict(
        policy_kwargs=dict(net_arch=args.net_arch),
        batch_size=args.batch_size,
        buffer_size=args.buffer_size,
        learning_starts=args.learning_starts,
        device="cpu",
        seed=0,
    )
    models = {"ours": DDPG("MlpPolicy", args.env, **kwargs), "sb3": SB3DDPG("MlpPolicy", args.env, **kwargs)}
    for model in models.values():  # fill past learning_starts and warm up
        model.learn(args.learning_starts + 50)

    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.learn(args.steps, reset_num_timesteps=False)
            rates[name].append(args.steps / (time.perf_counter() - start))
    ours_rate, sb3_rate = statistics.median(rates["ours"]), statistics.median(rates["sb3"])
    ratios = [a / b for a, b in zip(rates["ours"], rates["sb3"], strict=True)]

    # Update times: our fast step on one sampled batch, train() (sampling + update + logging) of both, hand-written
    ours, sb3 = models["ours"], models["sb3"]
    batch = ours.replay_buffer.sample(args.batch_size)
    obs_dim, act_dim = ours.observation_space.shape[0], ours.action_space.shape[0]
    hand = hand_written_update(obs_dim, act_dim, args.net_arch, args.batch_size)
    timers = {
        "hand-written update": hand,
        "ours: update only": lambda: ours._gradient_step(batch),
        "ours: train(1)": lambda: ours.train(1, args.batch_size),
        "sb3:  train(1)": lambda: sb3.train(1, args.batch_size),
    }
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, fn in timers.items():
            times[name].append(time_per_call(fn, args.updates))
    ms = {name: 1e3 * statistics.median(values) for name, values in times.items()}

    print(f"torch {th.__version__}, threads {args.threads}, {args.env}, net_arch {args.net_arch}, batch {args.batch_size}")
    print(f"learn() steps/s (median of {args.rounds} alternating rounds of {args.steps} steps)")
    print(f"  ours {ours_rate:8.1f}   sb3 {sb3_rate:8.1f}   ratio {ours_rate / sb3_rate:.2f}x", end="")
    print(f"   (per-round ratios {', '.join(f'{r:.2f}' for r in ratios)})")
    print("update time, ms (median)")
    for name, value in ms.items():
        print(f"  {name:22s} {value:7.3f}")
    print(f"  ours update / hand-written: {ms['ours: update only'] / ms['hand-written update']:.3f}")
    print(f"  sb3 train / ours train:     {ms['sb3:  train(1)'] / ms['ours: train(1)']:.3f}")
    print(f"replay buffer nbytes (buffer_size {args.buffer_size}): ours {replay_nbytes(ours):,}  sb3 {replay_nbytes(sb3):,}")


if __name__ == "__main__":
    main()
