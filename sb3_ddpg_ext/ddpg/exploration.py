"""
DDPG's exploration hooks in SB3's off-policy loop: noise schedules driven by SB3's ``progress_remaining`` after every
environment step, and adaptive parameter-space noise (one perturbed actor per environment, adapted on replay batches).
"""

from typing import Any, cast

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.preprocessing import get_action_dim

from sb3_ddpg_ext.common.noise import update_noise_progress
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise, PerturbedActors
from sb3_ddpg_ext.ddpg.policies import Actor, DDPGPolicy


class ExplorationMixin(OffPolicyAlgorithm):
    """
    Noise schedules and parameter-space noise for an off-policy algorithm with a deterministic actor (``self.actor``)
    and an optional ``self.param_noise``. The algorithm builds ``_param_noise_rollout`` and ``param_noise_probe`` in
    ``_setup_model`` (see :class:`~sb3_ddpg_ext.ddpg.ddpg.DDPG`).
    """

    policy: DDPGPolicy
    actor: Actor
    param_noise: AdaptiveParamNoise | None
    _param_noise_rollout: PerturbedActors
    param_noise_probe: Actor
    _param_noise_last_adapt: int

    @property
    def perturbed_actors(self) -> list[Actor]:
        """The actors that parameter noise explores with, one per environment (see :class:`PerturbedActors`)."""
        if self.param_noise is None:
            raise AttributeError("perturbed_actors exist only when DDPG has param_noise")
        return cast(list[Actor], self._param_noise_rollout.actors)

    @property
    def perturbed_actor(self) -> Actor:
        """The first environment's perturbed actor (the only one with a single environment)."""
        return self.perturbed_actors[0]

    def _start_exploration(self, reset_num_timesteps: bool) -> None:
        """Called by ``_setup_learn`` before SB3's: new episodes for the perturbed actors when SB3 resets the envs."""
        if self.param_noise is not None:
            if reset_num_timesteps or self._last_obs is None:
                self._param_noise_rollout.start_episodes()
            if reset_num_timesteps:
                self._param_noise_last_adapt = 0

    def _update_exploration(self) -> None:
        """
        Set the noise scales from their schedules, in every per-env copy, and log them.

        The schedules take SB3's ``progress_remaining`` (``self._current_progress_remaining``), the value
        learning-rate schedules take: ``1 - num_timesteps / total``, where ``learn(M)`` sets ``total = M`` and
        ``learn(M, reset_num_timesteps=False)`` sets ``total = t0 + M`` (``t0``: the steps done so far), so a resumed
        run continues from ``1 - t0 / (t0 + M)`` instead of restarting at 1. It is clipped at 0 for noise schedules:
        SB3's value dips below 0 when the last rollout overshoots the budget (``n_envs > 1`` or ``train_freq > 1``).
        """
        progress = max(0.0, self._current_progress_remaining)
        scale = update_noise_progress(self.action_noise, progress)
        if scale is not None:
            self.logger.record("rollout/noise_scale", scale)
        if self.param_noise is not None:
            self.param_noise.update_progress(progress)
            self.logger.record("rollout/param_noise_stddev", self.param_noise.current_stddev)

    def _on_step(self) -> None:
        """Called after every environment step: advance the noise schedules and adapt parameter noise."""
        self._update_exploration()
        if self.param_noise is not None and self.num_timesteps >= self.learning_starts and self.replay_buffer is not None:
            steps = self.num_timesteps - self._param_noise_last_adapt
            if steps >= self.param_noise.adaptation_interval and self.replay_buffer.size() > 0:
                self._param_noise_last_adapt = self.num_timesteps
                batch = self.replay_buffer.sample(self.batch_size, env=self._vec_normalize_env)
                # As in the paper: perturb a scratch copy with the current stddev, measure, adapt
                self.param_noise.perturb(self.actor, self.param_noise_probe)
                distance = self.param_noise.adapt(self.actor, self.param_noise_probe, batch.observations)
                self.logger.record("rollout/param_noise_distance", distance)

    def _sample_action(
        self,
        learning_starts: int,
        action_noise: ActionNoise | None = None,
        n_envs: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.param_noise is None or self.num_timesteps < learning_starts:
            return super()._sample_action(learning_starts, action_noise, n_envs)
        # Parameter noise: each env acts with its own perturbed actor, re-perturbed at its episode starts (and every
        # perturb_interval of its steps)
        assert self._last_obs is not None, "self._last_obs was not set"
        obs_tensor, _ = self.policy.obs_to_tensor(self._last_obs)
        actions = self._param_noise_rollout.act(self.param_noise, self.actor, obs_tensor, n_envs)
        scaled_action = actions.cpu().numpy().reshape((-1, get_action_dim(self.action_space)))
        if action_noise is not None:
            scaled_action = np.clip(scaled_action + action_noise(), -1, 1)
        return self.policy.unscale_action(scaled_action), scaled_action

    def _store_transition(
        self,
        replay_buffer: ReplayBuffer,
        buffer_action: np.ndarray,
        new_obs: np.ndarray | dict[str, np.ndarray],
        reward: np.ndarray,
        dones: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)
        if self.param_noise is not None:
            self._param_noise_rollout.start_episodes(dones)  # ended episodes: the env's next step starts a new one
