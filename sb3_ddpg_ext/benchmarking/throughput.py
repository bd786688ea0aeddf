"""Training throughput: environment steps per second of ``learn()``, ours against SB3's, in one process.

The algorithms are timed alternately (A, B, A, B, ...) with the same number of torch threads, so drifts
of a shared machine hit both alike; the ``learning_starts`` warm-up (random actions, no updates), an optional number
of untimed training steps after it, and the model construction are excluded. The ratio is the median over rounds of
the per-round ratio.

A run's speed changes as it trains: after a thousand or so updates, Adam's moments of units that stopped receiving
gradient decay into float32 subnormals, whose arithmetic is slow on x86 CPUs (see benchmarks/PROFILE.md), so a
measurement right after ``learning_starts`` (``warmup=0``) shows the start of a run and ``warmup`` of a few thousand
steps shows the rest of it.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_ddpg_ext.experiment.config import RunSpec, build_run_spec
from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams
from sb3_ddpg_ext.experiment.run import make_env, make_model


@dataclass
class SpeedResult:
    """
    Throughput measured by :func:`measure_speed`.

    :param env_id: the environment
    :param n_steps: timed steps per round, after warm-up
    :param warmup: untimed training steps per round, after ``learning_starts``
    :param threads: torch threads used by every algorithm
    :param rates: algorithm -> steps per second, one per round
    :param buffer_bytes: algorithm -> bytes held by its replay buffer's arrays
    :param backends: algorithm -> how this DDPG's update ran (its ``update_backend``), for this package's DDPG only
    """

    env_id: str
    n_steps: int
    threads: int
    rates: dict[str, list[float]] = field(default_factory=dict)
    warmup: int = 0
    buffer_bytes: dict[str, int] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)

    def median_rate(self, name: str) -> float:
        """Median steps per second of ``name`` over rounds."""
        return statistics.median(self.rates[name])

    def ratios(self) -> dict[str, float]:
        """Each algorithm's rate over the last one's (the reference): the median over rounds of per-round ratios."""
        reference = self.rates[list(self.rates)[-1]]
        return {
            name: statistics.median(a / b for a, b in zip(rates, reference, strict=True)) for name, rates in self.rates.items()
        }

    def format(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"{self.env_id}: {self.n_steps} timed steps per round after {self.warmup} untimed training steps, "
            f"{len(next(iter(self.rates.values())))} rounds, {self.threads} torch thread(s)"
        ]
        for name, rates in self.rates.items():
            lines.append(
                f"  {name:>12}: {self.median_rate(name):8.1f} steps/s (median; rounds: "
                f"{', '.join(f'{rate:.1f}' for rate in rates)}), replay buffer {self.buffer_bytes[name] / 2**20:.1f} MiB"
            )
            if name in self.backends:
                lines.append(f"  {'':>12}  update: {self.backends[name]}")
        reference = list(self.rates)[-1]
        for name, ratio in self.ratios().items():
            if name != reference:
                lines.append(f"  ratio {name}/{reference}: {ratio:.3f} (median of per-round ratios)")
        return "\n".join(lines)


def nbytes(value: Any) -> int:
    """Bytes held by NumPy arrays and torch tensors in ``value`` (a dict of them is summed)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, th.Tensor):
        return int(value.element_size() * value.nelement())
    if isinstance(value, dict):
        return sum(nbytes(item) for item in value.values())
    return 0


def buffer_nbytes(model: BaseAlgorithm) -> int:
    """
    :param model: an off-policy model
    :return: bytes of the arrays and tensors its replay buffer holds (its nominal size, allocated or not)
    """
    buffer = getattr(model, "replay_buffer", None)
    return 0 if buffer is None else sum(nbytes(value) for value in vars(buffer).values())


def time_learn(spec: RunSpec, n_steps: int, warmup: int = 0) -> tuple[float, int, str | None]:
    """
    Build a run's model, run its ``learning_starts`` and ``warmup`` more steps untimed, then time ``n_steps`` more
    steps of ``learn()``.

    :param spec: the run (from the experiment layer's converter)
    :param n_steps: timed steps
    :param warmup: untimed training steps after ``learning_starts``
    :return: steps per second, replay buffer bytes, and how this DDPG's update ran (None for other algorithms)
    """
    env = make_env(spec, spec.n_envs, spec.seed)
    try:
        model = make_model(copy.deepcopy(spec), env)  # fresh noise state every round
        warm_up = int(getattr(model, "learning_starts", 0)) + warmup
        if warm_up > 0:
            model.learn(total_timesteps=warm_up)
        start = time.perf_counter()
        model.learn(total_timesteps=n_steps, reset_num_timesteps=False)
        elapsed = time.perf_counter() - start
        return n_steps / elapsed, buffer_nbytes(model), getattr(model, "update_backend", None)
    finally:
        env.close()


def measure_speed(
    env_id: str,
    algos: Mapping[str, str | tuple[str, Mapping[str, Any]]],
    n_steps: int = 2000,
    rounds: int = 3,
    hyperparams: Mapping[str, Any] | None = None,
    threads: int = 0,
    seed: int = 0,
    warmup: int = 0,
) -> SpeedResult:
    """
    Time ``learn()`` of each algorithm alternately, with the same hyperparameters and torch threads.

    :param env_id: the environment
    :param algos: label -> algorithm name (a key of :data:`~sb3_ddpg_ext.experiment.config.ALGORITHMS`), or
        (name, hyperparameters of this label only), e.g. ``{"fast": ("ddpg_ext", {"fast": True}), "sb3": "sb3_ddpg"}``;
        ratios are each label's rate over the last one's
    :param n_steps: timed steps per round, after the ``learning_starts`` warm-up
    :param rounds: rounds; each times every algorithm once
    :param hyperparams: RL Zoo style hyperparameters shared by all (``noise_type``, ``policy_kwargs``...)
    :param threads: ``torch.set_num_threads`` for the measurement (restored afterwards); 0: torch's default
    :param seed: seed of round 0; round ``r`` uses ``seed + r``
    :param warmup: untimed training steps after ``learning_starts`` in every round
    :return: rates per round, buffer sizes and the ratio
    """
    specs = {}
    for name, entry in algos.items():
        algo, own = (entry, {}) if isinstance(entry, str) else entry
        specs[name] = build_run_spec(env_id, merge_hyperparams(hyperparams or {}, own), algo, "speed settings")
    previous_threads = th.get_num_threads()
    threads = threads or previous_threads
    result = SpeedResult(env_id=env_id, n_steps=n_steps, threads=threads, rates={name: [] for name in specs}, warmup=warmup)
    th.set_num_threads(threads)
    try:
        for round_index in range(rounds):
            for name, spec in specs.items():
                spec.seed = seed + round_index
                rate, size, backend = time_learn(spec, n_steps, warmup)
                result.rates[name].append(rate)
                result.buffer_bytes[name] = size
                if backend is not None:
                    result.backends[name] = backend
    finally:
        th.set_num_threads(previous_threads)
    return result
