"""
The fast mode's DDPG update for MLP policies, without autograd: each layer's forward and backward pass written as
explicit matrix products, the gradients written into the parameters' ``.grad`` tensors (allocated once), then the
model's own optimizers step (fused Adam in the fast mode) and the targets follow by fused Polyak averaging.

It computes what :meth:`DDPG._gradient_step <sb3_ddpg_ext.ddpg.ddpg.DDPG._gradient_step>` computes, in another order
of floating-point operations, so its numbers differ by rounding only (tested against the autograd update over
hundreds of updates). It saves what autograd spends per operation (graph nodes, saved tensors, hooks, the generic
backward of ``cat`` and of the mean-squared error) and, in the actor step, the backward pass stops at the critic's
action input: no gradient of the critic's weights, not even discarded ones.

Supported: a 1-D ``Box`` observation space and :class:`~sb3_ddpg_ext.ddpg.policies.DDPGPolicy`'s MLP networks (SB3's
``FlattenExtractor``, ``nn.Linear`` layers with ReLU, Tanh or LeakyReLU activations, the action at the critic's input,
no LayerNorm or batch normalization). Anything else (CNN or custom extractors, Dict observations, other activations,
LayerNorm, batch normalization, the action at a later critic layer) keeps the autograd update;
:func:`unsupported_reason` says why.
"""

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch import nn

from sb3_ddpg_ext.ddpg.fast import Product, fastest_precisions, precision_name
from sb3_ddpg_ext.ddpg.nan_guard import check_loss
from sb3_ddpg_ext.ddpg.policies import Actor, Critic, DDPGPolicy
from sb3_ddpg_ext.ddpg.update_stats import update_statistics

if TYPE_CHECKING:
    from sb3_ddpg_ext.ddpg.ddpg import DDPG

# Activation: (forward on the pre-activation, backward from (gradient of the output, output, pre-activation)).
# ReLU's backward is the kernel autograd uses (a masked_fill_ with a boolean mask is 5x slower on the CPU); Tanh's
# overwrites the gradient it is given (a fresh product) instead of allocating another tensor.
_Backward = Callable[[th.Tensor, th.Tensor, th.Tensor], th.Tensor]
_ACTIVATIONS: dict[type[nn.Module], tuple[Callable[[th.Tensor], th.Tensor], _Backward]] = {
    nn.ReLU: (th.relu, lambda grad, out, _: th.ops.aten.threshold_backward(grad, out, 0.0)),
    nn.Tanh: (th.tanh, lambda grad, out, _: grad.mul_(1 - out * out)),
}


def _leaky_relu_backward(slope: float) -> _Backward:
    return lambda grad, _, z: th.where(z > 0, grad, grad * slope)


def _grad_buffer(param: th.Tensor) -> th.Tensor | None:
    """The ``.grad`` tensor to write a parameter's gradient into (allocated once); None for a frozen parameter."""
    if not param.requires_grad:
        param.grad = None
        return None
    if param.grad is None:
        param.grad = th.empty_like(param)
    return param.grad


class _Layer:
    """A linear layer and the elementwise activation after it (None: identity)."""

    def __init__(self, linear: nn.Linear, activation: nn.Module | None):
        self.weight, self.bias = linear.weight, linear.bias
        self.forward_fn: Callable[[th.Tensor], th.Tensor] | None
        self.backward_fn: _Backward | None
        if activation is None:
            self.forward_fn, self.backward_fn = None, None
        elif isinstance(activation, nn.LeakyReLU):
            slope = activation.negative_slope
            self.forward_fn = lambda z: nn.functional.leaky_relu(z, slope)
            self.backward_fn = _leaky_relu_backward(slope)
        else:
            self.forward_fn, self.backward_fn = _ACTIVATIONS[type(activation)]

    def activate(self, z: th.Tensor) -> th.Tensor:
        """:return: the activation of the pre-activation ``z``"""
        return z if self.forward_fn is None else self.forward_fn(z)


def _layers(network: nn.Sequential) -> list[_Layer] | None:
    """The layers of an MLP ``nn.Sequential`` (Linear, then an optional supported activation), or None."""
    modules, layers = list(network), []
    i = 0
    while i < len(modules):
        linear = modules[i]
        if not isinstance(linear, nn.Linear):
            return None
        activation = modules[i + 1] if i + 1 < len(modules) and not isinstance(modules[i + 1], nn.Linear) else None
        if activation is not None and not (isinstance(activation, nn.LeakyReLU) or type(activation) in _ACTIVATIONS):
            return None
        layers.append(_Layer(linear, activation))
        i += 1 if activation is None else 2
    return layers or None


def unsupported_reason(policy: DDPGPolicy) -> str | None:
    """
    Why the explicit update cannot run a policy's networks, or None when it can.

    :param policy: The model's policy
    :return: A short reason, e.g. ``"the actor's features extractor is NatureCNN"``
    """
    if not (isinstance(policy.observation_space, spaces.Box) and len(policy.observation_space.shape) == 1):
        return f"the observation space is {policy.observation_space}, not a 1-D Box"
    for name in ("actor", "critic", "actor_target", "critic_target"):
        network = getattr(policy, name)
        if type(network.features_extractor) is not FlattenExtractor:
            return f"the {name}'s features extractor is {type(network.features_extractor).__name__}"
    if policy.batch_norm:
        return "the networks have batch normalization (batch_norm)"
    if policy.critic_action_layer != 0:
        return "the action enters the critic at a hidden layer (critic_action_layer)"
    for name, network in (("actor", policy.actor.mu), ("critic", policy.critic.q_networks[0])):
        if not isinstance(network, nn.Sequential) or _layers(network) is None:
            return f"the {name} is not Linear layers with ReLU, Tanh or LeakyReLU activations"
    return None


class ExplicitUpdate:
    """
    DDPG's update on a minibatch for a model whose policy :func:`unsupported_reason` accepts; built once per model
    setup, it holds views of the model's parameters (the networks are updated in place).

    On the CPU each matrix product runs under the fastest of torch's float32 product settings for its shape
    (:func:`~sb3_ddpg_ext.ddpg.fast.fastest_precisions`, measured at the first update of each batch size and thread
    count): MKL's float32 kernels, or oneDNN's (bfloat16 products with float32 accumulation where the CPU has them).

    :param policy: The model's policy
    :param choose_products: Choose each product's setting by timing (on the CPU); False: leave the setting as it is
    """

    def __init__(self, policy: DDPGPolicy, choose_products: bool = True):
        self.actor = self._network(policy.actor)
        self.actor_target = self._network(policy.actor_target)
        self.critic = self._network(policy.critic)
        self.critic_target = self._network(policy.critic_target)
        self.obs_dim = int(policy.observation_space.shape[0])  # type: ignore[index]
        self.choose_products = choose_products and policy.device.type == "cpu"
        self.plan: dict[Product, str] = {}  # product -> precision, for the current batch size and thread count
        self._plan_key: tuple[int, int] | None = None
        self._precision = ""

    @staticmethod
    def _network(network: Actor | Critic) -> list[_Layer]:
        layers = _layers(network.mu if isinstance(network, Actor) else network.q_networks[0])  # type: ignore[arg-type]
        assert layers is not None
        return layers

    def products(self, batch_size: int) -> tuple[Product, ...]:
        """
        :param batch_size: The minibatch size
        :return: The distinct matrix products of one update (see :data:`~sb3_ddpg_ext.ddpg.fast.Product`)
        """
        found: dict[Product, None] = {}
        for layers, backward in (
            (self.actor, True),
            (self.critic, True),
            (self.actor_target, False),
            (self.critic_target, False),
        ):
            for i, layer in enumerate(layers):
                n_out, n_in = layer.weight.shape
                found[("forward", batch_size, n_in, n_out)] = None
                if backward:
                    found[("weight", n_out, batch_size, n_in)] = None
                    if i > 0:
                        found[("input", batch_size, n_out, n_in)] = None
        n_out, n_in = self.critic[0].weight.shape
        found[("columns", batch_size, n_out, n_in - self.obs_dim)] = None
        return tuple(found)

    def describe(self) -> str:
        """
        :return: Which backend runs the products of the last update, e.g. ``"explicit update; products: 7 oneDNN
            bfloat16, 4 MKL float32"`` (before the first update on the CPU: not measured yet)
        """
        if not self.choose_products:
            return "explicit update; products: torch's setting"
        if not self.plan:
            return "explicit update; products: not measured yet (at the first update)"
        counts = Counter(precision_name(precision) for precision in self.plan.values())
        return "explicit update; products: " + ", ".join(f"{count} {name}" for name, count in counts.most_common())

    def _use(self, product: Product) -> None:
        """Set the product setting the plan has for ``product`` (nothing to do off the CPU or when it is set)."""
        precision = self.plan.get(product)
        if precision is not None and precision != self._precision:
            th.set_float32_matmul_precision(precision)
            self._precision = precision

    def _forward(self, layers: list[_Layer], x: th.Tensor) -> tuple[th.Tensor, list[tuple[th.Tensor, th.Tensor, th.Tensor]]]:
        """:return: the output and, per layer, its input, pre-activation and output (for the backward pass)"""
        saved = []
        for layer in layers:
            n_out, n_in = layer.weight.shape
            self._use(("forward", x.shape[0], n_in, n_out))
            z = th.addmm(layer.bias, x, layer.weight.t()) if layer.bias is not None else x @ layer.weight.t()
            out = layer.activate(z)
            saved.append((x, z, out))
            x = out
        return x, saved

    def _backward(
        self,
        layers: list[_Layer],
        saved: list[tuple[th.Tensor, th.Tensor, th.Tensor]],
        grad: th.Tensor,
        weight_grads: bool,
        input_columns: int | None = None,
    ) -> th.Tensor | None:
        """
        Back-propagate ``grad``, the gradient of the last layer's output, through the layers.

        :param layers: The network's layers
        :param saved: What :meth:`_forward` saved
        :param grad: The gradient of the output (overwritten)
        :param weight_grads: Write the gradients of the weights and biases into their ``.grad`` (a parameter that does
            not require gradients gets ``None``, so the optimizer leaves it unchanged, as after autograd)
        :param input_columns: Return the gradient of the first layer's input columns from this one on; None: nothing
        :return: That gradient, or None
        """
        batch_size = grad.shape[0]
        for i in range(len(layers) - 1, -1, -1):
            layer, (x, z, out) = layers[i], saved[i]
            n_out, n_in = layer.weight.shape
            if layer.backward_fn is not None:
                grad = layer.backward_fn(grad, out, z)
            if weight_grads:
                weight_grad = _grad_buffer(layer.weight)
                if weight_grad is not None:
                    self._use(("weight", n_out, batch_size, n_in))
                    th.mm(grad.t(), x, out=weight_grad)
                bias_grad = None if layer.bias is None else _grad_buffer(layer.bias)
                if bias_grad is not None:
                    th.sum(grad, 0, out=bias_grad)
            if i > 0:
                self._use(("input", batch_size, n_out, n_in))
                grad = grad @ layer.weight
            elif input_columns is not None:
                self._use(("columns", batch_size, n_out, n_in - input_columns))
                return grad @ layer.weight[:, input_columns:]
        return None

    def step(self, model: "DDPG", replay_data: ReplayBufferSamples) -> th.Tensor:
        """
        One DDPG update: critic, actor, targets (see :meth:`DDPG._gradient_step`).

        :param model: The DDPG model this update was built for (its optimizers, ``gamma``, ``tau``, Polyak pairs,
            ``update_stats``)
        :param replay_data: A minibatch from the replay buffer
        :return: The critic and actor losses, then the update statistics when ``update_stats`` is on, detached
        """
        obs, next_obs = replay_data.observations.float(), replay_data.next_observations.float()  # as SB3 preprocesses
        discounts = replay_data.discounts if replay_data.discounts is not None else model.gamma
        batch = obs.shape[0]
        if self.choose_products and self._plan_key != (batch, th.get_num_threads()):
            self._plan_key = (batch, th.get_num_threads())
            self.plan = fastest_precisions(self.products(batch), th.get_num_threads())
        self._precision = th.get_float32_matmul_precision()

        # Critic: regress Q(s, a) on y = r + gamma * (1 - done) * Q'(s', mu'(s'))
        with th.no_grad():
            target_actions, _ = self._forward(self.actor_target, next_obs)
            qf_next, _ = self._forward(self.critic_target, th.cat([next_obs, target_actions], dim=1))
            y = replay_data.rewards + (1 - replay_data.dones) * discounts * qf_next
            qf, saved = self._forward(self.critic, th.cat([obs, replay_data.actions], dim=1))
            residual = qf - y
            critic_loss = residual.square().mean()
            check_loss(critic_loss, "critic", model)
            self._backward(self.critic, saved, residual.mul(2.0 / residual.numel()), weight_grads=True)
            model._regularize_critic()
            model.critic.optimizer.step()

            # Actor: ascend Q(s, mu(s)); the gradient flows back through the critic to its action input only
            actions, actor_saved = self._forward(self.actor, obs)
            q_actor, critic_saved = self._forward(self.critic, th.cat([obs, actions], dim=1))
            actor_loss = -q_actor.mean()
            check_loss(actor_loss, "actor", model)
            grad_q = th.full_like(q_actor, -1.0 / batch)
            grad_actions = self._backward(self.critic, critic_saved, grad_q, weight_grads=False, input_columns=self.obs_dim)
            assert grad_actions is not None
            self._backward(self.actor, actor_saved, grad_actions, weight_grads=True)
            if any(p.grad is not None for p in model.actor.parameters()):
                model.actor.optimizer.step()

        model._update_targets()  # target <- (1 - tau) * target + tau * online
        losses = th.stack([critic_loss, actor_loss])
        return th.cat([losses, update_statistics(qf, y, actions)]) if model.update_stats else losses
