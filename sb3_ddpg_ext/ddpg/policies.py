"""Actor, critic and policy of DDPG, built on SB3's TD3 policy with DDPG's single critic and the paper's options."""

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
    create_mlp,
)
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.td3.policies import Actor as TD3Actor
from stable_baselines3.td3.policies import TD3Policy
from torch import nn


def _hidden_modules(layer_norm: bool, batch_norm: bool = False) -> list[type[nn.Module]]:
    """The modules between each hidden linear layer and its activation (SB3's ``post_linear_modules``)."""
    return [nn.LayerNorm] if layer_norm else [nn.BatchNorm1d] if batch_norm else []


def _input_norm(features_dim: int, batch_norm: bool) -> list[nn.Module]:
    """Batch normalization of the observation features (the paper's "batch normalization on the state input")."""
    return [nn.BatchNorm1d(features_dim)] if batch_norm else []


def _uniform_init_(layer: nn.Module, bound: float) -> None:
    """Initialise a linear layer's weights and bias from U(-bound, bound), as the DDPG paper does for output layers."""
    assert isinstance(layer, nn.Linear)
    nn.init.uniform_(layer.weight, -bound, bound)
    if layer.bias is not None:
        nn.init.uniform_(layer.bias, -bound, bound)


def _last_linear(modules: nn.Module) -> nn.Linear:
    return [m for m in modules.modules() if isinstance(m, nn.Linear)][-1]


# What a critic's L2 regularization covers (DDPG's ``critic_weight_decay_scope``)
DECAY_SCOPES = ("hidden", "weights", "all")


def regularized_weights(critic: nn.Module, scope: str) -> list[th.Tensor]:
    """
    The critic weights an L2 term of scope ``scope`` covers, among those its optimizer trains.

    :param critic: The critic (SB3's ``ContinuousCritic`` or this package's), with its ``optimizer``
    :param scope: ``"hidden"``: the weight matrices of every layer but each Q-network's output layer (OpenAI
        Baselines' DDPG: names ending in ``/w``, ``output`` excluded); ``"weights"``: every weight matrix (rllab's
        regularizable parameters); ``"all"``: every parameter (then Adam's ``weight_decay`` applies it)
    :return: The parameters, in the critic's order
    """
    if scope not in DECAY_SCOPES:
        raise ValueError(f"critic_weight_decay_scope={scope!r} is not one of {list(DECAY_SCOPES)}")
    optimizer: th.optim.Optimizer = critic.optimizer  # type: ignore[assignment]
    q_networks: list[nn.Module] = list(critic.q_networks)  # type: ignore[arg-type]
    trained = {id(param) for group in optimizer.param_groups for param in group["params"]}
    outputs = {id(_last_linear(q_net).weight) for q_net in q_networks} if scope == "hidden" else set()
    return [
        param
        for name, param in critic.named_parameters()
        if id(param) in trained
        and param.requires_grad
        and (scope == "all" or (name.endswith("weight") and param.dim() >= 2 and id(param) not in outputs))
    ]


class Actor(TD3Actor):
    """
    Actor network (policy) for DDPG: mu(s), squashed by tanh into [-1, 1].

    :param observation_space: Observation space
    :param action_space: Action space
    :param net_arch: Network architecture
    :param features_extractor: Network to extract features
        (a CNN when using images, a nn.Flatten() layer otherwise)
    :param features_dim: Number of features
    :param activation_fn: Activation function
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param layer_norm: Whether to add a LayerNorm after each hidden linear layer
    :param output_init: When set, the output layer's weights and biases are drawn from
        U(-output_init, output_init) (the paper uses 3e-3); ``None`` keeps PyTorch's default init
    :param batch_norm: Whether to batch-normalize the observation features and each hidden linear layer's output
        (before its activation), as the DDPG paper's low-dimensional networks
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: nn.Module,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        layer_norm: bool = False,
        output_init: float | None = None,
        batch_norm: bool = False,
    ):
        super().__init__(
            observation_space,
            action_space,
            net_arch,
            features_extractor,
            features_dim,
            activation_fn=activation_fn,
            normalize_images=normalize_images,
        )
        self.layer_norm = layer_norm
        self.output_init = output_init
        self.batch_norm = batch_norm
        if layer_norm or batch_norm:
            action_dim = get_action_dim(self.action_space)
            post = _hidden_modules(layer_norm, batch_norm)
            self.mu = nn.Sequential(
                *_input_norm(features_dim, batch_norm),
                *create_mlp(features_dim, action_dim, net_arch, activation_fn, squash_output=True, post_linear_modules=post),
            )
        if output_init is not None:
            _uniform_init_(_last_linear(self.mu), output_init)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(layer_norm=self.layer_norm, output_init=self.output_init, batch_norm=self.batch_norm)
        return data


class _LateActionQNet(nn.Module):
    """
    Q-network whose observation features pass through layers of their own before the action joins them (the DDPG
    paper feeds the action into the critic's second layer, and batch-normalizes only what comes before it).

    :param features_dim: Number of observation features
    :param action_dim: Number of action dimensions
    :param net_arch: Hidden layer sizes
    :param action_layer: Index of the hidden layer whose input gets the action concatenated (0: the input layer,
        after the batch normalization of the observation features)
    :param activation_fn: Activation function
    :param layer_norm: Whether to add a LayerNorm after each hidden linear layer
    :param batch_norm: Whether to batch-normalize the observation features and the hidden layers before the action
        joins (before their activations); the layers from the action on are not normalized
    """

    def __init__(
        self,
        features_dim: int,
        action_dim: int,
        net_arch: list[int],
        action_layer: int,
        activation_fn: type[nn.Module],
        layer_norm: bool,
        batch_norm: bool = False,
    ):
        super().__init__()
        head_arch, tail_arch = net_arch[:action_layer], net_arch[action_layer:]
        self.obs_net = nn.Sequential(
            *_input_norm(features_dim, batch_norm),
            *create_mlp(
                features_dim, -1, head_arch, activation_fn, post_linear_modules=_hidden_modules(layer_norm, batch_norm)
            ),
        )
        joint_dim = (head_arch[-1] if head_arch else features_dim) + action_dim
        self.joint_net = nn.Sequential(
            *create_mlp(joint_dim, 1, tail_arch, activation_fn, post_linear_modules=_hidden_modules(layer_norm))
        )

    def forward(self, features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        return self.joint_net(th.cat([self.obs_net(features), actions], dim=1))


class Critic(BaseModel):
    """
    Critic network for DDPG: a single Q(s, a). Same interface and, with default options, the same
    modules (``qf0``) as SB3's ``ContinuousCritic`` with ``n_critics=1``.

    :param observation_space: Observation space
    :param action_space: Action space
    :param net_arch: Network architecture
    :param features_extractor: Network to extract features
        (a CNN when using images, a nn.Flatten() layer otherwise)
    :param features_dim: Number of features
    :param activation_fn: Activation function
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param n_critics: Number of critic networks; DDPG has exactly one
    :param share_features_extractor: Whether the features extractor is shared or not
        between the actor and the critic (this saves computation time)
    :param layer_norm: Whether to add a LayerNorm after each hidden linear layer
    :param output_init: When set, the output layer's weights and biases are drawn from U(-output_init, output_init)
    :param action_layer: Index of the hidden layer that receives the action: 0 concatenates it with the
        observation features at the input (SB3), 1 at the second layer (the DDPG paper)
    :param batch_norm: Whether to batch-normalize the observation features and the hidden layers before the action
        input (before their activations), as the DDPG paper's low-dimensional critic
    """

    features_extractor: BaseFeaturesExtractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 1,
        share_features_extractor: bool = True,
        layer_norm: bool = False,
        output_init: float | None = None,
        action_layer: int = 0,
        batch_norm: bool = False,
    ):
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        action_dim = get_action_dim(self.action_space)
        self.share_features_extractor = share_features_extractor
        self.n_critics = n_critics
        self.action_layer = action_layer
        # The observation features have layers of their own when the action joins later or when they are normalized
        self.late_action = action_layer != 0 or batch_norm
        q_net: nn.Module
        if self.late_action:
            q_net = _LateActionQNet(features_dim, action_dim, net_arch, action_layer, activation_fn, layer_norm, batch_norm)
        else:
            post = _hidden_modules(layer_norm)
            q_net = nn.Sequential(*create_mlp(features_dim + action_dim, 1, net_arch, activation_fn, post_linear_modules=post))
        if output_init is not None:
            _uniform_init_(_last_linear(q_net), output_init)
        self.add_module("qf0", q_net)
        self.q_networks: list[nn.Module] = [q_net]

    def _q_value(self, features: th.Tensor, actions: th.Tensor) -> th.Tensor:
        if self.late_action:
            return self.q_networks[0](features, actions)
        return self.q_networks[0](th.cat([features, actions], dim=1))

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        # As in SB3: the features extractor learns from the actor loss only when it is shared
        with th.set_grad_enabled(not self.share_features_extractor):
            features = self.extract_features(obs, self.features_extractor)
        return (self._q_value(features, actions),)

    def q1_forward(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """
        Predict Q(s, a) without gradient through the features extractor (used for the actor loss).

        :param obs: Observations
        :param actions: Actions in [-1, 1]
        :return: The Q-values
        """
        with th.no_grad():
            features = self.extract_features(obs, self.features_extractor)
        return self._q_value(features, actions)


class DDPGPolicy(TD3Policy):
    """
    Policy class (actor, critic and their targets) for DDPG.

    Accepts every argument of SB3's TD3/DDPG policy, plus the DDPG paper's options.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: The specification of the policy and value networks (a list, or ``dict(pi=..., qf=...)``).
    :param activation_fn: Activation function
    :param features_extractor_class: Features extractor to use.
    :param features_extractor_kwargs: Keyword arguments
        to pass to the features extractor.
    :param normalize_images: Whether to normalize images or not,
         dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use,
        ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments,
        excluding the learning rate, to pass to the optimizer
    :param n_critics: Number of critic networks; DDPG uses exactly one (use SB3's TD3 for more)
    :param share_features_extractor: Whether to share or not the features extractor
        between the actor and the critic (this saves computation time)
    :param layer_norm: Add a LayerNorm after each hidden layer of actor and critic
    :param output_init: Draw the output layers' weights and biases from U(-output_init, output_init)
        (the paper uses 3e-3); ``None`` keeps PyTorch's default init
    :param critic_action_layer: Hidden layer of the critic that receives the action: 0 at the input (SB3),
        1 at the second layer (the paper)
    :param batch_norm: Batch-normalize the observation features and every hidden layer of the actor, and the
        observation features and the hidden layers before the action input of the critic (the paper's
        low-dimensional networks; each normalization sits between a linear layer and its activation). The networks
        normalize by the minibatch's statistics in the updates and by their running statistics when acting; the
        targets always use the running statistics, which they copy from the online networks after each update
    """

    actor: Actor
    actor_target: Actor
    critic: Critic  # type: ignore[assignment]
    critic_target: Critic  # type: ignore[assignment]

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 1,
        share_features_extractor: bool = False,
        layer_norm: bool = False,
        output_init: float | None = None,
        critic_action_layer: int = 0,
        batch_norm: bool = False,
    ):
        if n_critics != 1:
            raise ValueError(
                f"DDPG learns a single critic, got policy_kwargs n_critics={n_critics}. "
                "Remove n_critics (or set it to 1); for clipped double-Q learning with several critics use "
                "stable_baselines3.TD3."
            )
        if output_init is not None and not output_init > 0:
            raise ValueError(f"output_init must be a positive bound such as 3e-3, or None, got {output_init}.")
        if layer_norm and batch_norm:
            raise ValueError(
                "policy_kwargs asks for both layer_norm and batch_norm: choose one normalization (batch_norm=True is "
                "the DDPG paper's, layer_norm=True the one parameter-space noise papers use)."
            )
        # Set before TD3Policy.__init__, which builds the networks through make_actor / make_critic
        self.layer_norm = layer_norm
        self.batch_norm = batch_norm
        self.output_init = output_init
        self.critic_action_layer = critic_action_layer
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=activation_fn,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=features_extractor_kwargs,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            n_critics=n_critics,
            share_features_extractor=share_features_extractor,
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            layer_norm=self.layer_norm,
            output_init=self.output_init,
            critic_action_layer=self.critic_action_layer,
            batch_norm=self.batch_norm,
        )
        return data

    def set_training_mode(self, mode: bool) -> None:
        """
        Put actor and critic in training or evaluation mode (this affects batch norm and dropout).
        Skips the walk over all modules when they already are in that mode (SB3 calls this at every step).

        :param mode: if true, set to training mode, else set to evaluation mode
        """
        if self.training == mode and self.actor.training == mode and self.critic.training == mode:
            return
        super().set_training_mode(mode)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> Actor:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return Actor(**actor_kwargs, layer_norm=self.layer_norm, output_init=self.output_init, batch_norm=self.batch_norm).to(
            self.device
        )

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> Critic:  # type: ignore[override]
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        n_hidden = len(critic_kwargs["net_arch"])
        if self.critic_action_layer != 0 and not 0 < self.critic_action_layer < n_hidden:
            raise ValueError(
                f"critic_action_layer={self.critic_action_layer} must name a hidden layer of the critic: "
                f"0 (input) or 1..{n_hidden - 1} for its {n_hidden} hidden layers {critic_kwargs['net_arch']}."
            )
        return Critic(
            **critic_kwargs,
            layer_norm=self.layer_norm,
            output_init=self.output_init,
            action_layer=self.critic_action_layer,
            batch_norm=self.batch_norm,
        ).to(self.device)


MlpPolicy = DDPGPolicy


class CnnPolicy(DDPGPolicy):
    """
    Policy class for DDPG on image observations: ``DDPGPolicy`` with SB3's ``NatureCNN`` features extractor.

    Takes the same arguments as :class:`DDPGPolicy`.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN,
        **kwargs: Any,
    ):
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=activation_fn,
            features_extractor_class=features_extractor_class,
            **kwargs,
        )


class MultiInputPolicy(DDPGPolicy):
    """
    Policy class for DDPG on Dict observations: ``DDPGPolicy`` with SB3's ``CombinedExtractor``.

    Takes the same arguments as :class:`DDPGPolicy`.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor,
        **kwargs: Any,
    ):
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=activation_fn,
            features_extractor_class=features_extractor_class,
            **kwargs,
        )
