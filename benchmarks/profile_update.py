"""
Where the time of ``learn()`` goes, for SB3's DDPG and this DDPG's exact and fast modes: wall-clock split of one
learn() call by phase, then torch.profiler's operator table for the training step. Example::

    PYTHONPATH=. python benchmarks/profile_update.py --steps 600 --net-arch 400 300 --threads 0
"""

import argparse
import functools
import time
from collections import defaultdict

import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from torch.profiler import ProfilerActivity, profile

from sb3_ddpg_ext import DDPG


def timed(totals: dict[str, float], name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[400, 300])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        th.set_num_threads(args.threads)
    print(f"{th.get_num_threads()} torch thread(s)")
    variants = {"SB3 DDPG": (SB3DDPG, {}), "exact": (DDPG, {}), "fast": (DDPG, {"fast": True})}
    for name, (cls, extra) in variants.items():
        model = cls("MlpPolicy", args.env, policy_kwargs=dict(net_arch=args.net_arch), device="cpu", seed=0, **extra)
        model.learn(200)
        totals: dict[str, float] = defaultdict(float)
        model.train = timed(totals, "train (update)", model.train)
        model.replay_buffer.sample = timed(totals, "  of which replay sampling", model.replay_buffer.sample)
        model._sample_action = timed(totals, "action selection", model._sample_action)
        model.env.step = timed(totals, "env.step (VecEnv)", model.env.step)
        model._store_transition = timed(totals, "store transition", model._store_transition)
        start = time.perf_counter()
        model.learn(args.steps, reset_num_timesteps=False)
        total = time.perf_counter() - start
        print(f"\n== {name}: {args.steps / total:.1f} steps/s, {1e3 * total / args.steps:.2f} ms/step")
        for phase, seconds in totals.items():
            print(f"  {phase:28s} {1e3 * seconds / args.steps:7.3f} ms/step  {100 * seconds / total:5.1f} %")
        rest = total - sum(v for k, v in totals.items() if not k.startswith("  "))
        print(f"  {'rest of the loop':28s} {1e3 * rest / args.steps:7.3f} ms/step  {100 * rest / total:5.1f} %")
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            model.train(100, model.batch_size)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14, max_name_column_width=40))


if __name__ == "__main__":
    main()
