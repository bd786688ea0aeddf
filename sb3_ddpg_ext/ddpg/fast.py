"""
The fast mode (``DDPG(..., fast=True)``): changes that alter DDPG's numbers by rounding only, switched on from DDPG.

- PyTorch's fused Adam (one kernel per optimizer step instead of a chain of elementwise ops), for the actor and the
  critic, when their optimizer is Adam or AdamW.
- The networks' forward passes (and so their backward passes) in bfloat16 under ``torch.autocast``, where the
  hardware runs bfloat16 natively: a CPU with AVX512-BF16 or AMX, a GPU that supports it. The parameters, their
  gradients, Adam's state, the losses, the targets ``y`` and the critic's output stay in float32: each network's
  output is cast back to float32 before anything is computed from it. Without native bfloat16, bfloat16 would be
  slower than float32, so the fast mode keeps float32 there and says so once.
"""

import contextlib
import warnings
from typing import Any

import torch as th

FUSED_OPTIMIZERS = (th.optim.Adam, th.optim.AdamW)


def native_bfloat16(device: th.device) -> bool:
    """
    Whether ``device`` runs bfloat16 matrix products natively (faster than float32).

    :param device: A torch device
    :return: True for a CPU with AVX512-BF16 or AMX tiles, or a CUDA device that supports bfloat16
    """
    if device.type == "cuda":
        return bool(th.cuda.is_bf16_supported())
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(th.cpu, name, lambda: False)()) for name in checks)
    return False


def fast_policy_kwargs(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """
    The policy keyword arguments of the fast mode: ``fused=True`` in the optimizer's keyword arguments for Adam and
    AdamW, unless the user chose ``fused`` or ``foreach``.

    :param policy_kwargs: The model's policy keyword arguments
    :return: A new dict
    """
    optimizer_kwargs = dict(policy_kwargs.get("optimizer_kwargs") or {})
    if issubclass(policy_kwargs.get("optimizer_class", th.optim.Adam), FUSED_OPTIMIZERS) and "foreach" not in optimizer_kwargs:
        optimizer_kwargs.setdefault("fused", True)
    return {**policy_kwargs, "optimizer_kwargs": optimizer_kwargs}


class Autocast:
    """
    The bfloat16 autocast of the fast mode's forward passes, or nothing: a context manager factory that the update
    calls around each network's forward pass (never around a backward pass or an optimizer step).

    :param device: The model's device
    :param enabled: Whether the fast mode is on
    :param native: Whether the device runs bfloat16 natively (see :func:`native_bfloat16`); None: detect it
    """

    def __init__(self, device: th.device, enabled: bool, native: bool | None = None):
        native = native_bfloat16(device) if native is None else native
        if enabled and not native:
            warnings.warn(
                f"DDPG fast mode: {device} has no native bfloat16 (AVX512-BF16 / AMX on a CPU), where bfloat16 would be "
                "slower than float32; the networks stay in float32 (fused Adam is still used).",
                stacklevel=3,
            )
        self.enabled = enabled and native
        self.device_type = device.type

    def __call__(self) -> contextlib.AbstractContextManager:
        """A context for one forward pass: bfloat16 autocast in the fast mode, else nothing."""
        if self.enabled:
            return th.autocast(self.device_type, dtype=th.bfloat16)
        return contextlib.nullcontext()
