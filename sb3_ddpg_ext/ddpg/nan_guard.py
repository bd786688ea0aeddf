"""
Stopping DDPG at the first non-finite loss, before it reaches the networks: the error type, the per-loss check, and
the copy of the training state that lets a device (where a per-update check would wait for it) undo and replay a
``train()`` call that met one.
"""

import math
from typing import TYPE_CHECKING

import numpy as np
import torch as th

if TYPE_CHECKING:
    from sb3_ddpg_ext.ddpg.ddpg import DDPG


class NonFiniteLossError(RuntimeError):
    """Raised when a DDPG loss becomes NaN or infinite, instead of silently training a NaN policy."""


class TrainingSnapshot:
    """
    A copy of what DDPG's updates change, taken at the start of a train() call, so that updates that met a
    non-finite loss can be undone and replayed: the policy's parameters and buffers (networks and targets), the
    optimizers' state tensors (a state that does not exist yet is removed again), the update counter, and NumPy's
    and torch's random states. The copy buffers are kept between calls and filled by one fused copy per device and
    dtype, with no host synchronization.
    """

    def __init__(self) -> None:
        self._sources: list[th.Tensor] = []
        self._groups: list[tuple[list[th.Tensor], list[th.Tensor]]] = []  # (copies, sources) per device and dtype

    def take(self, model: "DDPG") -> None:
        """
        Copy the training state of ``model``.

        :param model: The model about to train
        """
        self.optimizers = (model.actor.optimizer, model.critic.optimizer)
        params = [(opt, param) for opt in self.optimizers for group in opt.param_groups for param in group["params"]]
        self.stateless = [(opt, param) for opt, param in params if not opt.state.get(param)]
        sources = [*model.policy.parameters(), *model.policy.buffers()]
        sources += [value for opt, param in params for value in opt.state.get(param, {}).values() if th.is_tensor(value)]
        if len(sources) != len(self._sources) or any(a is not b for a, b in zip(sources, self._sources, strict=True)):
            groups: dict[tuple[th.device, th.dtype], tuple[list[th.Tensor], list[th.Tensor]]] = {}
            for tensor in sources:
                copies, originals = groups.setdefault((tensor.device, tensor.dtype), ([], []))
                copies.append(th.empty_like(tensor, requires_grad=False))
                originals.append(tensor)
            self._sources, self._groups = sources, list(groups.values())
        with th.no_grad():
            for copies, originals in self._groups:
                th._foreach_copy_(copies, originals)
        self.n_updates = model._n_updates
        self.random_states = (np.random.get_state(), th.random.get_rng_state())
        self.cuda_random_state = th.cuda.get_rng_state(model.device) if model.device.type == "cuda" else None

    def restore(self, model: "DDPG") -> None:
        """
        Put the copied training state back into ``model``.

        :param model: The model the copy was taken from
        """
        with th.no_grad():
            for copies, originals in self._groups:
                th._foreach_copy_(originals, copies)
        for opt, param in self.stateless:
            opt.state.pop(param, None)
        model._n_updates = self.n_updates
        np.random.set_state(self.random_states[0])
        th.random.set_rng_state(self.random_states[1])
        if self.cuda_random_state is not None:
            th.cuda.set_rng_state(self.cuda_random_state, model.device)


def check_loss(loss: th.Tensor, name: str, model: "DDPG") -> None:
    """
    Raise :class:`NonFiniteLossError` when ``loss`` is NaN or infinite, before it reaches an optimizer.

    :param loss: The loss of the current update (``model._n_updates``), which is not counted when it stops
    :param name: ``"critic"`` or ``"actor"``
    :param model: The model that computed it
    """
    value = loss.item()
    if math.isfinite(value):
        return
    update = model._n_updates
    model._n_updates -= 1
    kept = "; the critic kept this update's step, whose loss was finite" if name == "actor" else ""
    raise NonFiniteLossError(
        f"DDPG's {name} loss became {value} at gradient update {update} (environment step {model.num_timesteps}). "
        f"Training stopped before it reached the networks: they, their targets and optimizers are those after "
        f"update {update - 1}{kept}. Lower the learning rates, scale rewards/observations (VecNormalize), or check "
        "the environment for NaN/inf observations or rewards."
    )
