"""
Stopping DDPG at the first non-finite loss, before it reaches the networks: the error type and the per-loss check.

Each loss is checked before its optimizer step, which reads the loss on the host: free on a CPU, one wait for the
device per loss on a GPU.
"""

import math
from typing import TYPE_CHECKING

import torch as th

if TYPE_CHECKING:
    from sb3_ddpg_ext.ddpg.ddpg import DDPG


class NonFiniteLossError(RuntimeError):
    """Raised when a DDPG loss becomes NaN or infinite, instead of silently training a NaN policy."""


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
