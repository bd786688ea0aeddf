"""
Throughput check: this package's DDPG against SB3's, timed alternately in one process.

Prints steps/s of ``learn()`` for both and their ratio, the time of one update against a minimal hand-written
PyTorch DDPG update of the same size, and the replay buffers' sizes. Example::

    PYTHONPATH=. python benchmarks/speed_check.py --env Pendulum-v1 --net-arch 400 300 --steps 400 --rounds 5
"""

import argparse
import statistics
import time

import torch as th
from stable_baselines3 import DDPG as SB3DDPG

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.benchmarking.throughput import buffer_nbytes
from sb3_ddpg_ext.benchmarking.update_speed import format_update_times, update_times


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

    ours, sb3 = models["ours"], models["sb3"]
    ms = update_times(ours, sb3, args.net_arch, args.batch_size, args.updates, args.rounds)

    print(f"torch {th.__version__}, threads {args.threads}, {args.env}, net_arch {args.net_arch}, batch {args.batch_size}")
    print(f"learn() steps/s (median of {args.rounds} alternating rounds of {args.steps} steps)")
    print(f"  ours {ours_rate:8.1f}   sb3 {sb3_rate:8.1f}   ratio {ours_rate / sb3_rate:.2f}x", end="")
    print(f"   (per-round ratios {', '.join(f'{r:.2f}' for r in ratios)})")
    print(format_update_times(ms))
    print(f"replay buffer nbytes (buffer_size {args.buffer_size}): ours {buffer_nbytes(ours):,}  sb3 {buffer_nbytes(sb3):,}")


if __name__ == "__main__":
    main()
