"""
The critic's value estimate against the return the policy really collects (the TD3 paper's Figure 1 measurement).

On the deterministic evaluation episodes, for every visited state ``s_t`` the critic's estimate ``Q(s_t, mu(s_t))``
is compared with the discounted return collected from ``s_t`` on, ``G_t = r_t + gamma r_{t+1} + ...``, with the
algorithm's own ``gamma``. An episode cut by a time limit misses the tail ``gamma^h V(s_T)``, ``h`` steps after ``s_t``:
only states with ``gamma^h <= tail_weight`` (default 0.05) are used from truncated episodes, every state from
episodes that terminated. The measurement is in the critic's reward units (the training ``VecNormalize``'s scaled
rewards when it normalizes rewards).

The critic: DDPG's (this package's and SB3's) critic; TD3's first critic, as in the paper; SAC's first critic at the
mean action; CrossQ's first critic at the mean action, its batch renormalization using the running statistics (the
networks in evaluation mode, as when the policy acts); TQC's estimate as its targets use it, the mean of the quantiles
of all its critics that remain after the ``top_quantiles_to_drop_per_net`` largest of each are dropped. SAC's, TQC's
and CrossQ's critics estimate the *soft* value, which adds the entropy bonus ``-alpha log pi`` of every future step of
the stochastic policy: their "bias" against the deterministic policy's return includes that bonus and is not a
measure of overestimation alone (reported, and labelled soft, for comparison).
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

TAIL_WEIGHT = 0.05


@dataclass
class Episode:
    """
    One evaluation episode: the observations the policy acted on and the rewards it got.

    :param observations: One observation per step (as the model sees them: normalized under ``VecNormalize``)
    :param rewards: One reward per step
    :param truncated: Whether a time limit ended the episode (its last state is not terminal)
    """

    observations: list[Any] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    truncated: bool = False


class EpisodeRecorder:
    """
    A callback for SB3's ``evaluate_policy`` that records each counted episode's observations and rewards.

    :param reward_scale: Applied to each reward (the training ``VecNormalize``'s reward normalization, or nothing)
    """

    def __init__(self, reward_scale: Any = None):
        self.reward_scale = reward_scale
        self.episodes: list[Episode] = []
        self._current: dict[int, Episode] = {}

    def __call__(self, local_vars: dict[str, Any], _globals: dict[str, Any]) -> None:
        """Record one step of environment ``i`` (``evaluate_policy`` calls this for counted episodes only)."""
        i = local_vars["i"]
        episode = self._current.setdefault(i, Episode())
        observations = local_vars["observations"]
        if isinstance(observations, dict):
            episode.observations.append({key: np.array(value[i]) for key, value in observations.items()})
        else:
            episode.observations.append(np.array(observations[i]))
        reward = float(local_vars["reward"])
        if self.reward_scale is not None:
            reward = float(self.reward_scale(np.array([reward]))[0])
        episode.rewards.append(reward)
        if local_vars["done"]:
            info = local_vars["info"]
            episode.truncated = bool(info.get("TimeLimit.truncated", False))
            self.episodes.append(self._current.pop(i))


def reward_scale_of(training_env: Any) -> Any:
    """
    The reward transformation the critic was trained with: ``VecNormalize.normalize_reward`` of the training
    environment when it normalizes rewards, else None.

    :param training_env: The model's training environment
    """
    env = training_env
    while env is not None:
        if isinstance(env, VecNormalize):
            return env.normalize_reward if env.norm_reward else None
        env = getattr(env, "venv", None)
    return None


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """
    :param rewards: An episode's rewards
    :param gamma: Discount factor
    :return: ``G_t = sum_k gamma^k r_{t+k}`` for every step ``t`` of the episode
    """
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def usable_steps(length: int, truncated: bool, gamma: float, tail_weight: float = TAIL_WEIGHT) -> np.ndarray:
    """
    The steps whose return is known well enough: all of a terminated episode, and those of a truncated one whose
    missing tail weighs at most ``tail_weight`` (``gamma^(length - t) <= tail_weight``).

    :param length: Episode length
    :param truncated: Whether a time limit ended the episode
    :param gamma: Discount factor
    :param tail_weight: Largest weight of the missing tail
    :return: Boolean mask over the episode's steps
    """
    steps = np.arange(length)
    if not truncated:
        return np.ones(length, dtype=bool)
    return gamma ** (length - steps) <= tail_weight


def critic_estimates(model: BaseAlgorithm, observations: list[Any]) -> np.ndarray:
    """
    The critic's estimate of the deterministic policy's value, ``Q(s, mu(s))``, in one batched pass.

    :param model: This package's DDPG, SB3's DDPG, TD3 or SAC, or sb3-contrib's TQC or CrossQ
    :param observations: Observations as the model sees them
    :return: One estimate per observation
    """
    policy: Any = model.policy
    if isinstance(observations[0], dict):
        batch: Any = {key: np.stack([obs[key] for obs in observations]) for key in observations[0]}
    else:
        batch = np.stack(observations)
    obs_tensor, _ = policy.obs_to_tensor(batch)
    training = policy.training
    policy.set_training_mode(False)  # normalization layers use their running statistics, as when acting
    try:
        with th.no_grad():
            if hasattr(policy.actor, "action_dist"):  # SAC, TQC, CrossQ: the mean action, squashed
                actions = policy.actor(obs_tensor, deterministic=True)
            else:
                actions = policy.actor(obs_tensor)
            if hasattr(policy.critic, "quantiles_total"):  # TQC: batch x critics x quantiles
                quantiles = policy.critic(obs_tensor, actions)
                kept = policy.critic.quantiles_total - model.top_quantiles_to_drop_per_net * policy.critic.n_critics  # type: ignore[attr-defined]
                q_values = th.sort(quantiles.reshape(len(quantiles), -1)).values[:, :kept].mean(dim=1)
            elif hasattr(policy.critic, "q1_forward"):
                q_values = policy.critic.q1_forward(obs_tensor, actions)
            else:  # CrossQ's critic has no q1_forward
                q_values = policy.critic(obs_tensor, actions)[0]
    finally:
        policy.set_training_mode(training)
    return q_values.reshape(-1).cpu().numpy().astype(np.float64)


@dataclass
class ValueBias:
    """
    One evaluation's comparison of the critic's estimate with the true discounted return.

    :param estimate: Mean ``Q(s_t, mu(s_t))`` over the usable states
    :param true_value: Mean ``G_t`` over the same states
    :param bias: Mean of ``Q - G``
    :param relative_bias: ``bias / mean |G|``
    :param n_states: Number of usable states
    """

    estimate: float
    true_value: float
    bias: float
    relative_bias: float
    n_states: int


def value_bias(model: BaseAlgorithm, episodes: list[Episode], tail_weight: float = TAIL_WEIGHT) -> ValueBias:
    """
    Compare the critic's estimates with the discounted returns of recorded episodes.

    :param model: The model whose critic is measured (its ``gamma`` discounts the returns)
    :param episodes: Recorded deterministic episodes
    :param tail_weight: See :func:`usable_steps`
    :return: The comparison; NaN fields (and 0 states) when no state is usable
    """
    gamma = float(model.gamma)  # type: ignore[attr-defined]
    observations: list[Any] = []
    returns: list[np.ndarray] = []
    for episode in episodes:
        mask = usable_steps(len(episode.rewards), episode.truncated, gamma, tail_weight)
        returns.append(discounted_returns(np.asarray(episode.rewards, dtype=np.float64), gamma)[mask])
        observations.extend(obs for obs, keep in zip(episode.observations, mask, strict=True) if keep)
    if not observations:
        nan = float("nan")
        return ValueBias(nan, nan, nan, nan, 0)
    true_values = np.concatenate(returns)
    estimates = critic_estimates(model, observations)
    bias = float(np.mean(estimates - true_values))
    scale = float(np.mean(np.abs(true_values)))
    return ValueBias(
        estimate=float(np.mean(estimates)),
        true_value=float(np.mean(true_values)),
        bias=bias,
        relative_bias=bias / scale if scale > 0 else float("nan"),
        n_states=len(true_values),
    )
