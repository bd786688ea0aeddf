"""
Does ``torch.compile`` speed up DDPG's update on this machine? Times ``DDPG.train(1)`` of an eager model against the
same model with its four networks compiled in place (``nn.Module.compile``: inductor, default mode), alternating the
two in rounds, one torch thread. Example::

    PYTHONPATH=. python benchmarks/compile_check.py --net-arch 400 300
"""

import argparse
import time

import numpy as np
import torch as th

from sb3_ddpg_ext import DDPG


def build(net_arch: list[int]) -> DDPG:
    """A DDPG on Pendulum-v1 with a few hundred transitions in its replay buffer."""
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, learning_starts=300, policy_kwargs=dict(net_arch=net_arch))
    model.learn(400)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--net-arch", type=int, nargs="+", default=[400, 300])
    parser.add_argument("--updates", type=int, default=60, help="updates per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    th.set_num_threads(1)

    eager, compiled = build(args.net_arch), build(args.net_arch)
    start = time.perf_counter()
    for network in (compiled.actor, compiled.critic, compiled.actor_target, compiled.critic_target):
        network.compile()
    compiled.train(3, batch_size=256)
    print(f"compile + 3 warm-up updates: {time.perf_counter() - start:.1f} s")

    def ms_per_update(model: DDPG) -> float:
        start = time.perf_counter()
        model.train(args.updates, batch_size=256)
        return (time.perf_counter() - start) / args.updates * 1e3

    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(args.rounds):
        times["eager"].append(ms_per_update(eager))
        times["compiled"].append(ms_per_update(compiled))
    eager_ms, compiled_ms = float(np.median(times["eager"])), float(np.median(times["compiled"]))
    print(f"net_arch {args.net_arch}: eager {eager_ms:.2f} ms/update, compiled {compiled_ms:.2f} ms/update")
    print(f"speed-up from torch.compile: {eager_ms / compiled_ms:.2f}x")


if __name__ == "__main__":
    main()
