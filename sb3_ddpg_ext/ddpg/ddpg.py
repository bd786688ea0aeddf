"""DDPG as its own Stable-Baselines3 off-policy algorithm, one class over SB3's ``OffPolicyAlgorithm``."""

import io
import pathlib
import warnings
from typing import Any, ClassVar, TypeVar, cast

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.save_util import save_to_pkl
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, ReplayBufferSamples, Schedule
from stable_baselines3.common.utils import FloatSchedule, get_parameters_by_name, polyak_update, update_learning_rate
from torch.nn import functional as F

from sb3_ddpg_ext.common.noise import update_noise_progress
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise, PerturbedActors
from sb3_ddpg_ext.common.save import atomic_write, check_model_file, with_default_suffix
from sb3_ddpg_ext.ddpg.explicit_update import ExplicitUpdate, unsupported_reason
from sb3_ddpg_ext.ddpg.fast import FLUSH_INTERVAL, FastMatmul, flush_subnormal_state, fused_setting
from sb3_ddpg_ext.ddpg.nan_guard import check_loss
from sb3_ddpg_ext.ddpg.policies import (
    Actor,
    CnnPolicy,
    Critic,
    DDPGPolicy,
    MlpPolicy,
    MultiInputPolicy,
    regularized_weights,
)
from sb3_ddpg_ext.ddpg.update_stats import record_updates, update_statistics
from sb3_ddpg_ext.ddpg.validation import (
    SB3_ONLY_ATTRIBUTES,
    check_action_space,
    check_decay_scope,
    check_hyperparameters,
    check_noise_shape,
    objects_for_saved_model,
    settings_of_earlier_files,
)

SelfDDPG = TypeVar("SelfDDPG", bound="DDPG")


class DDPG(OffPolicyAlgorithm):
    """
    Deep Deterministic Policy Gradient (DDPG), a drop-in replacement for ``stable_baselines3.DDPG``.

    Deterministic Policy Gradient: https://proceedings.mlr.press/v32/silver14.pdf
    DDPG Paper: https://arxiv.org/abs/1509.02971
    Introduction to DDPG: https://spinningup.openai.com/en/latest/algorithms/ddpg.html

    Every argument of SB3's DDPG keeps its name and default. The extra keywords default to SB3's behaviour.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: learning rate for adam optimizer,
        the same learning rate will be used for all networks (Q-Values, Actor and Value function)
        it can be a function of the current progress remaining (from 1 to 0)
    :param buffer_size: size of the replay buffer
    :param learning_starts: how many steps of the model to collect transitions for before learning starts
    :param batch_size: Minibatch size for each gradient update
    :param tau: the soft update coefficient ("Polyak update", between 0 and 1; 0 freezes the targets)
    :param gamma: the discount factor
    :param train_freq: Update the model every ``train_freq`` steps. Alternatively pass a tuple of frequency and unit
        like ``(5, "step")`` or ``(2, "episode")``.
    :param gradient_steps: How many gradient steps to do after each rollout (see ``train_freq``)
        Set to ``-1`` means to do as many gradient steps as steps done in the environment
        during the rollout.
    :param action_noise: the action noise type (None by default), this can help
        for hard exploration problem. Cf common.noise for the different action noise type.
    :param replay_buffer_class: Replay buffer class to use (for instance ``HerReplayBuffer``).
        If ``None``, it will be automatically selected.
    :param replay_buffer_kwargs: Keyword arguments to pass to the replay buffer on creation.
    :param optimize_memory_usage: Enable a memory efficient variant of the replay buffer
        at a cost of more complexity.
        See https://github.com/DLR-RM/stable-baselines3/issues/37#issuecomment-637501195
    :param n_steps: When n_step > 1, uses n-step return (with the NStepReplayBuffer) when updating the Q-value network.
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation, see :class:`DDPGPolicy`
        (beyond SB3's: ``layer_norm``, ``output_init``, ``critic_action_layer``)
    :param verbose: Verbosity level: 0 for no output, 1 for info messages (such as device or wrappers used), 2 for
        debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    :param actor_learning_rate: learning rate (or schedule) of the actor only; ``None`` uses ``learning_rate``
    :param critic_learning_rate: learning rate (or schedule) of the critic only; ``None`` uses ``learning_rate``
    :param critic_weight_decay: L2 regularization coefficient of the critic (the paper uses 1e-2): the gradient of
        ``critic_weight_decay / 2 * sum(w ** 2)`` over the weights of ``critic_weight_decay_scope`` is added to the
        critic's gradients before its optimizer step; 0 keeps the optimizer's own weight decay (SB3's: none)
    :param critic_weight_decay_scope: What ``critic_weight_decay`` regularizes: ``"hidden"`` (default) the hidden
        layers' weight matrices, as OpenAI Baselines' DDPG does (biases, layer-norm gains and the output layer
        excluded); ``"weights"`` every weight matrix, the output layer's included, as rllab's DDPG does; ``"all"``
        every critic parameter through Adam's ``weight_decay`` (what this package did before 0.1.0; files saved then
        load with it)
    :param stats_window_size: Window size for the rollout logging, specifying the number of episodes to average
        the reported success rate, mean episode length, and mean reward over
    :param param_noise: adaptive parameter-space noise (Plappert et al., 2017): rollouts use perturbed copies of
        the actor, one per environment, each perturbed again at the start of its environment's episodes (and every
        ``perturb_interval`` steps of that environment), so no environment's perturbation changes mid-episode;
        combines with ``action_noise`` or replaces it. ``predict()`` always uses the clean actor.
    :param fast: the fast mode (:mod:`sb3_ddpg_ext.ddpg.fast`): fused Adam; for MLP policies an update without
        autograd whose matrix products each take the fastest backend for their shape (MKL, or oneDNN with bfloat16
        internals where the CPU has them), measured once per process; for other policies bfloat16 (CPU) or TF32
        (CUDA) product internals where the hardware runs them natively. Every tensor stays float32; numbers differ
        from the default (SB3's arithmetic, bit for bit) by rounding only. :attr:`update_backend` says which ran.
    :param update_stats: log statistics of the updates (:mod:`sb3_ddpg_ext.ddpg.update_stats`: Q, targets,
        TD error, actor saturation) under ``train/`` beside the losses; they change no number

    Noise and learning-rate schedules take SB3's ``progress_remaining``; a resumed ``learn(M,
    reset_num_timesteps=False)`` continues it (see :meth:`_update_exploration`). The optimizers' settings that the
    model's arguments define (learning rates, ``fused``, weight decay) are the model's, also after :meth:`load` and
    :meth:`set_parameters`, which restore the saved optimizers (see :meth:`_apply_optimizer_settings`).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    policy: DDPGPolicy
    actor: Actor
    actor_target: Actor
    critic: Critic
    critic_target: Critic

    def __init__(
        self,
        policy: str | type[DDPGPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-3,
        buffer_size: int = 1_000_000,  # 1e6
        learning_starts: int = 100,
        batch_size: int = 256,
        tau: float = 0.005,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        action_noise: ActionNoise | None = None,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
        actor_learning_rate: float | Schedule | None = None,
        critic_learning_rate: float | Schedule | None = None,
        critic_weight_decay: float = 0.0,
        critic_weight_decay_scope: str = "hidden",
        stats_window_size: int = 100,
        param_noise: AdaptiveParamNoise | None = None,
        fast: bool = False,
        update_stats: bool = False,
    ):
        check_hyperparameters(tau, gamma, batch_size, buffer_size, learning_starts, critic_weight_decay)
        check_decay_scope(critic_weight_decay_scope)
        # Make the env here (as BaseAlgorithm would) so a bad action space gets our message, before any work
        if env is not None:
            env = maybe_make_env(env, verbose)
            check_action_space(env.action_space)
        super().__init__(
            policy,
            env,
            learning_rate,
            buffer_size,
            learning_starts,
            batch_size,
            tau,
            gamma,
            train_freq,
            gradient_steps,
            action_noise=action_noise,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            supported_action_spaces=(spaces.Box,),
            support_multi_env=True,
        )
        self.actor_learning_rate = actor_learning_rate
        self.critic_learning_rate = critic_learning_rate
        self.critic_weight_decay = critic_weight_decay
        self.critic_weight_decay_scope = critic_weight_decay_scope
        self.param_noise = param_noise
        self.fast = fast
        self.update_stats = update_stats
        if getattr(self, "action_space", None) is not None:  # None while load() rebuilds the model
            check_noise_shape(action_noise, get_action_dim(self.action_space))

        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        super()._setup_model()
        for name in ("_noise_horizon", "_param_noise_episode", "_param_noise_steps"):  # saved by earlier versions
            self.__dict__.pop(name, None)
        self._create_aliases()
        self._fast_matmul = FastMatmul(self.device, self.fast)
        self._apply_optimizer_settings()
        self._explicit_update = None  # the fast mode's update without autograd, for MLP policies
        if self.fast:
            reason = unsupported_reason(self.policy)
            if reason is None:
                self._explicit_update = ExplicitUpdate(self.policy)
            else:
                warnings.warn(f"DDPG fast mode: the update keeps autograd, since {reason}.", stacklevel=2)
        if self.param_noise is not None:
            # The perturbed copies used for rollouts, one per env; rebuilt (not saved), perturbed before their first use
            first_copy = self.policy.make_actor(features_extractor=None)
            first_copy.load_state_dict(self.actor.state_dict())
            self._param_noise_rollout = PerturbedActors(first_copy)
            self.param_noise_probe = self.policy.make_actor(features_extractor=None)
            self.param_noise_probe.set_training_mode(False)
            self._param_noise_last_adapt = 0
        # The pairs of the fused Polyak averaging (all parameters, as SB3 averages them)
        self._polyak_pairs: list[tuple[list[th.Tensor], list[th.Tensor]]] = [
            ([*self.critic_target.parameters()], [*self.critic.parameters()]),
            ([*self.actor_target.parameters()], [*self.actor.parameters()]),
        ]
        # Running mean and running var of batch norm layers, copied to the targets as SB3 does
        self.actor_batch_norm_stats = get_parameters_by_name(self.actor, ["running_"])
        self.critic_batch_norm_stats = get_parameters_by_name(self.critic, ["running_"])
        self.actor_batch_norm_stats_target = get_parameters_by_name(self.actor_target, ["running_"])
        self.critic_batch_norm_stats_target = get_parameters_by_name(self.critic_target, ["running_"])

    def _create_aliases(self) -> None:
        self.actor = self.policy.actor
        self.actor_target = self.policy.actor_target
        self.critic = self.policy.critic
        self.critic_target = self.policy.critic_target

    @property
    def actor_lr_schedule(self) -> Schedule:
        """The actor's learning-rate schedule: ``actor_learning_rate``'s, else SB3's ``lr_schedule``, read when used."""
        return self.lr_schedule if self.actor_learning_rate is None else FloatSchedule(self.actor_learning_rate)

    @property
    def critic_lr_schedule(self) -> Schedule:
        """The critic's learning-rate schedule: ``critic_learning_rate``'s, else SB3's ``lr_schedule``."""
        return self.lr_schedule if self.critic_learning_rate is None else FloatSchedule(self.critic_learning_rate)

    def _apply_optimizer_settings(self) -> None:
        """
        Put the settings the model's arguments define into the optimizers' parameter groups: the learning rates at the
        current progress, ``fused`` (the fast mode's fused Adam, unless ``optimizer_kwargs`` chose ``fused`` or
        ``foreach``) and the weight decay: with ``critic_weight_decay`` set, the critic's Adam decays every parameter
        for scope ``"all"`` and none otherwise (:meth:`_regularize_critic` adds the decay of the scope's weights to
        their gradients); unset, the optimizer's own. Called when the model is set up and after :meth:`set_parameters`
        (so after :meth:`load`), since ``Optimizer.load_state_dict`` restores the saved groups, and a model loaded with
        other arguments (``fast=True``, ``critic_weight_decay=...``) would otherwise train with the saved ones.
        """
        progress = self._current_progress_remaining
        user_kwargs = self.policy_kwargs.get("optimizer_kwargs") or {}
        scope = self.critic_weight_decay_scope
        critic_decay = None
        if self.critic_weight_decay > 0:
            critic_decay = self.critic_weight_decay if scope == "all" else 0.0
        self._regularized_weights = [] if critic_decay != 0.0 else regularized_weights(self.critic, scope)
        for optimizer, lr, weight_decay in (
            (self.actor.optimizer, self.actor_lr_schedule(progress), None),
            (self.critic.optimizer, self.critic_lr_schedule(progress), critic_decay),
        ):
            settings = {"lr": lr, **fused_setting(optimizer, user_kwargs, self.fast)}
            if "weight_decay" in optimizer.defaults:
                settings["weight_decay"] = optimizer.defaults["weight_decay"] if weight_decay is None else weight_decay
            for group in optimizer.param_groups:
                group.update({key: value for key, value in settings.items() if key in group})

    def _update_learning_rate(self, optimizers: list[th.optim.Optimizer] | th.optim.Optimizer) -> None:
        # As SB3: self.lr_schedule is read at every train(), so a schedule assigned after construction takes effect
        progress = self._current_progress_remaining
        self.logger.record("train/learning_rate", self.lr_schedule(progress))
        actor_lr, critic_lr = self.actor_lr_schedule(progress), self.critic_lr_schedule(progress)
        if self.actor_learning_rate is not None or self.critic_learning_rate is not None:
            self.logger.record("train/actor_learning_rate", actor_lr)
            self.logger.record("train/critic_learning_rate", critic_lr)
        update_learning_rate(self.actor.optimizer, actor_lr)
        update_learning_rate(self.critic.optimizer, critic_lr)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """
        Do ``gradient_steps`` DDPG updates on minibatches sampled from the replay buffer.

        Training stops at the first NaN or infinite loss, before it reaches the networks
        (:class:`~sb3_ddpg_ext.ddpg.nan_guard.NonFiniteLossError`).

        :param gradient_steps: Number of updates
        :param batch_size: Minibatch size
        """
        assert self.replay_buffer is not None, "No replay buffer: call learn() or load_replay_buffer() first"
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        # The actor loss trains the actor's parameters that require gradients: users may freeze some at any time
        actor_params: list[th.Tensor] = [param for param in self.actor.parameters() if param.requires_grad]
        rows = []
        with self._fast_matmul():  # the fast mode's matrix-product precision; nothing by default
            for _ in range(gradient_steps):
                self._n_updates += 1
                replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
                if self._explicit_update is None:
                    rows.append(self._gradient_step(replay_data, actor_params))
                else:
                    rows.append(self._explicit_update.step(self, replay_data))
                if self.fast and self._n_updates % FLUSH_INTERVAL == 0:
                    flush_subnormal_state(self.critic.optimizer)
                    flush_subnormal_state(self.actor.optimizer)
        if rows:
            record_updates(self.logger, th.stack(rows, dim=1).cpu().numpy(), self._n_updates)

    def _gradient_step(self, replay_data: ReplayBufferSamples, actor_params: list[th.Tensor]) -> th.Tensor:
        """
        One DDPG update on a minibatch: critic, actor, then targets. Same arithmetic as SB3's DDPG update (so the
        same numbers, bit for bit on CPU), minus the work SB3 throws away.

        :param replay_data: A minibatch from the replay buffer
        :param actor_params: The actor's parameters that require gradients (frozen ones stay unchanged)
        :return: The critic and actor losses, then the update statistics when ``update_stats`` is on (one per
            :data:`~sb3_ddpg_ext.ddpg.update_stats.STAT_KEYS` entry), detached, on the update's device
        """
        # For n-step replay the discount is gamma ** n (or less after an early termination)
        discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma

        # Critic: regress Q(s, a) on y = r + gamma * (1 - done) * Q'(s', mu'(s'))
        with th.no_grad():
            target_actions = self.actor_target(replay_data.next_observations)
            qf_next_target = self.critic_target(replay_data.next_observations, target_actions)[0]
            y = replay_data.rewards + (1 - replay_data.dones) * discounts * qf_next_target
        qf = self.critic(replay_data.observations, replay_data.actions)[0]
        critic_loss = F.mse_loss(qf, y)
        check_loss(critic_loss, "critic", self)
        self.critic.optimizer.zero_grad()
        critic_loss.backward()
        self._regularize_critic()
        self.critic.optimizer.step()

        # Actor: deterministic policy gradient, maximise Q(s, mu(s)). The backward pass stops at the actor's
        # parameters: the critic's weight gradients (SB3 computes them, then throws them away) are never computed.
        actions = self.actor(replay_data.observations)
        actor_loss = -self.critic.q1_forward(replay_data.observations, actions).mean()
        check_loss(actor_loss, "actor", self)
        self.actor.optimizer.zero_grad()
        if actor_params:  # else nothing to train (SB3's step would change nothing)
            actor_loss.backward(inputs=actor_params)
            self.actor.optimizer.step()

        self._update_targets()
        losses = th.stack([critic_loss.detach(), actor_loss.detach()])
        return th.cat([losses, update_statistics(qf, y, actions)]) if self.update_stats else losses

    def _regularize_critic(self) -> None:
        """
        Add ``critic_weight_decay * w`` to the gradient of each weight in ``critic_weight_decay_scope``: the gradient of
        the L2 term ``critic_weight_decay / 2 * sum(w ** 2)`` that OpenAI Baselines adds to the critic's loss (Adam's
        coupled ``weight_decay`` does the same to every parameter). Nothing to do without such a decay.
        """
        for weight in self._regularized_weights:
            if weight.grad is not None:
                weight.grad.add_(weight.detach(), alpha=self.critic_weight_decay)

    @property
    def update_backend(self) -> str:
        """How the update runs: ``"autograd"`` (the exact mode, SB3's arithmetic), or in the fast mode the explicit
        update and which backend runs its matrix products (see ``sb3_ddpg_ext/ddpg/explicit_update.py``)."""
        if self._explicit_update is None:
            return "autograd" + (", fused Adam" if self.fast else "")
        return self._explicit_update.describe()

    def _update_targets(self) -> None:
        """
        Targets follow by Polyak averaging, target <- (1 - tau) * target + tau * online: SB3's arithmetic, in fused
        multi-tensor calls; batch norm running statistics are copied (SB3 GH issue #996). The last part of both
        updates (:meth:`_gradient_step` and the fast mode's explicit update).
        """
        with th.no_grad():
            for targets, online in self._polyak_pairs:
                th._foreach_mul_(targets, 1.0 - self.tau)
                th._foreach_add_(targets, online, alpha=self.tau)
        polyak_update(self.critic_batch_norm_stats, self.critic_batch_norm_stats_target, 1.0)
        polyak_update(self.actor_batch_norm_stats, self.actor_batch_norm_stats_target, 1.0)

    # Exploration: noise schedules after every environment step, and parameter-space noise

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

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, Any]:
        check_noise_shape(self.action_noise, get_action_dim(self.action_space))
        if self.param_noise is not None:  # new episodes for the perturbed actors when SB3 resets the envs
            if reset_num_timesteps or self._last_obs is None:
                self._param_noise_rollout.start_episodes()
            if reset_num_timesteps:
                self._param_noise_last_adapt = 0
        result = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        # SB3 updates progress_remaining after each step only: set it now, so the first actions get this learn()'s
        # noise (1 for a fresh learn(), 1 - t0 / (t0 + M) for learn(M, reset_num_timesteps=False) at step t0);
        # learn(0) trains nothing and keeps it
        if self._total_timesteps > 0:
            self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
        self._update_exploration()
        return result

    def learn(
        self: SelfDDPG,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "DDPG",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfDDPG:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    # Saving and loading: SB3's, written atomically, with the model's own optimizer settings after a load

    def save(self, path: str | pathlib.Path | io.BufferedIOBase, exclude: Any = None, include: Any = None) -> None:
        """
        Save the model as SB3 does, to a temporary file moved onto ``path`` once complete, so an interrupted save
        never destroys the previous file.

        :param path: path to the file where the rl agent should be saved (``.zip`` is added without a suffix)
        :param exclude: name of parameters that should be excluded in addition to the default ones
        :param include: name of parameters that might be excluded but should be included anyway
        """
        save = super().save
        if isinstance(path, io.BufferedIOBase):
            save(path, exclude, include)
        else:
            atomic_write(with_default_suffix(path, "zip"), lambda file: save(cast(io.BufferedIOBase, file), exclude, include))

    def save_replay_buffer(self, path: str | pathlib.Path | io.BufferedIOBase) -> None:
        """
        Save the replay buffer as a pickle file, atomically (see :meth:`save`).

        :param path: Path to the file where the replay buffer should be saved (``.pkl`` is added without a suffix)
        """
        assert self.replay_buffer is not None, "The replay buffer is not defined"
        buffer, verbose = self.replay_buffer, self.verbose
        if isinstance(path, io.BufferedIOBase):
            save_to_pkl(path, buffer, verbose)
        else:
            atomic_write(
                with_default_suffix(path, "pkl"), lambda file: save_to_pkl(cast(io.BufferedIOBase, file), buffer, verbose)
            )

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfDDPG],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfDDPG:
        """
        Load a model saved by :meth:`save` or by SB3's DDPG, as SB3 does. The file is checked first: a missing file
        raises ``FileNotFoundError``, a truncated or foreign one ``ValueError``, each naming the file. A file saved by
        SB3's DDPG becomes this package's :class:`DDPGPolicy` with the same weights; one saved by SB3's TD3 or SAC
        (or any other algorithm) is refused with ``ValueError``. Keyword arguments change the model as in SB3
        (``DDPG.load(path, fast=True)``), including its optimizers' settings.
        """
        if isinstance(path, (str, pathlib.Path)):
            path = check_model_file(path)
        custom_objects = {**objects_for_saved_model(path, custom_objects), **(custom_objects or {})}
        kwargs = {**settings_of_earlier_files(path, custom_objects), **kwargs}
        model = super().load(path, env, device, custom_objects, print_system_info, force_reset, **kwargs)
        for name in SB3_ONLY_ATTRIBUTES:  # saved by SB3's DDPG (a TD3 with its tricks switched off)
            model.__dict__.pop(name, None)
        return model

    def set_parameters(
        self,
        load_path_or_dict: str | dict[str, Any],
        exact_match: bool = True,
        device: th.device | str = "auto",
    ) -> None:
        """
        Load parameters (and optimizer states) as SB3 does, then put the model's own optimizer settings back
        (:meth:`_apply_optimizer_settings`).

        :param load_path_or_dict: Location of the saved data (path or file-like, see ``save``), or a dict
            of parameters as returned by ``get_parameters``
        :param exact_match: If True, the given parameters should include parameters for each
            module and each of their parameters, otherwise raises an Exception
        :param device: Device on which the code should run
        """
        super().set_parameters(load_path_or_dict, exact_match, device)
        self._apply_optimizer_settings()

    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "actor",
            "critic",
            "actor_target",
            "critic_target",
            "_param_noise_rollout",
            "param_noise_probe",
            "_polyak_pairs",
            "_fast_matmul",
            "_explicit_update",
            "_regularized_weights",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "actor.optimizer", "critic.optimizer"], []
