"""
The fast mode (``DDPG(..., fast=True)``): changes that alter DDPG's numbers by rounding only, switched on from DDPG.

- PyTorch's fused Adam (one kernel per optimizer step instead of a chain of elementwise ops), for the actor and the
  critic, when their optimizer is Adam or AdamW.
- For MLP policies, the update without autograd (:mod:`sb3_ddpg_ext.ddpg.explicit_update`), whose matrix products
  each run under the fastest of torch's float32 product settings for their shape, measured once per process
  (:func:`fastest_precisions`): MKL's float32 kernels for the small products, oneDNN's (bfloat16 with float32
  accumulation where the CPU has them) for the large ones, as the timing says.
- For other policies (autograd), float32 matrix products with lower-precision internals during ``train()``,
  PyTorch's ``torch.set_float32_matmul_precision("medium")``: bfloat16 products with float32 accumulation on a CPU
  where PyTorch's oneDNN has such kernels (checked by a probe product, not by CPU flags: see
  :func:`native_fast_matmul`), TensorFloat-32 on a CUDA GPU of compute capability 8.0 or newer. Where the hardware
  has no such native path the fast mode keeps full-precision products and says so once.
- Every tensor stays float32 (parameters, activations, gradients, losses, targets, Adam's state); only the inputs of
  a product are rounded inside its kernel. The previous product setting is restored when ``train()`` returns, so
  nothing outside the update changes.
- Adam's moment estimates below float32's smallest normal number (subnormals) are set to zero every
  ``FLUSH_INTERVAL`` updates. Units that stop receiving gradient (a dead ReLU) leave their first moment decaying by
  ``beta1`` per step into the subnormal range, where it stays (0.9 times a few multiples of the smallest subnormal
  rounds back to itself): 40-45 % of the hidden layers' moments after 1,000 Pendulum-v1 updates. Arithmetic on
  subnormals is slow on x86 CPUs (one fused Adam step of a 256-256 critic: 215 us with them, 71 us without), and
  ``torch.set_flush_denormal`` cannot help: it sets the calling thread only, not the intra-op worker threads. An
  update that small moves no parameter: ``lr * m / (sqrt(v) + eps)`` is below 1e-30.

Measured against ``torch.autocast(dtype=torch.bfloat16)`` of the forward passes (the first version of this mode):
the same speed at 400-300 and less rounding (no bfloat16 activations or casts); see benchmarks/PROFILE.md.
"""

import contextlib
import functools
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch as th

FUSED_OPTIMIZERS = (th.optim.Adam, th.optim.AdamW)
FLUSH_INTERVAL = 100
_SMALLEST_NORMAL = th.finfo(th.float32).tiny


def native_fast_matmul(device: th.device) -> bool:
    """
    Whether ``device`` runs float32 matrix products with lower-precision internals under
    ``torch.set_float32_matmul_precision("medium")``.

    :param device: A torch device
    :return: For a CUDA GPU: compute capability >= 8.0 (TF32). For a CPU: whether a probe product actually comes out
        rounded like a bfloat16 one (:func:`cpu_products_round`); CPU flags are not enough: oneDNN 3.12 took its
        bfloat16 kernels on one AVX512-BF16 VM and kept float32 kernels (``brg_matmul:avx512_core``) on another
    """
    if device.type == "cuda":
        return th.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "cpu":
        return cpu_products_round()
    return False


@functools.cache
def cpu_products_round() -> bool:
    """
    Whether a float32 product on this CPU is rounded like a bfloat16 one at ``"medium"`` matmul precision: one
    64 x 256 x 64 product at both precisions (microseconds, once per process); float32 kernels differ by ~1e-6
    relative, bfloat16 inputs by ~1e-3 or more.

    :return: True where PyTorch's oneDNN uses bfloat16 kernels for float32 products
    """
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    if not any(bool(getattr(th.cpu, name, lambda: False)()) for name in checks):
        return False
    generator = th.Generator().manual_seed(0)
    a, b = th.randn(64, 256, generator=generator), th.randn(256, 64, generator=generator)
    previous = th.get_float32_matmul_precision()
    try:
        th.set_float32_matmul_precision("highest")
        exact = a @ b
        th.set_float32_matmul_precision("medium")
        rounded = a @ b
    finally:
        th.set_float32_matmul_precision(previous)
    return bool((rounded - exact).abs().max() > 1e-4 * exact.abs().max())


# One matrix product of the explicit update: (kind, m, k, n), an (m, k) by (k, n) product. Kinds, in the layouts the
# update uses (x: a layer's input, W: its (out, in) weight, g: the gradient of its output):
# "forward" x @ W.t() plus bias, "input" g @ W, "weight" g.t() @ x, "columns" g @ W[:, columns] (a strided view).
Product = tuple[str, int, int, int]
PRECISIONS = ("highest", "medium")  # torch's float32 product settings: MKL, and oneDNN (bfloat16 where it rounds)


def _product_call(product: Product, generator: th.Generator) -> Callable[[], th.Tensor]:
    kind, m, k, n = product
    if kind == "forward":
        x, weight, bias = th.randn(m, k, generator=generator), th.randn(n, k, generator=generator), th.randn(n)
        return lambda: th.addmm(bias, x, weight.t())
    if kind == "input":
        grad, weight = th.randn(m, k, generator=generator), th.randn(k, n, generator=generator)
        return lambda: grad @ weight
    if kind == "weight":
        grad, x = th.randn(k, m, generator=generator), th.randn(k, n, generator=generator)
        return lambda: grad.t() @ x
    grad, weight = th.randn(m, k, generator=generator), th.randn(k, n + 3, generator=generator)
    return lambda: grad @ weight[:, 3:]


def precision_name(precision: str) -> str:
    """
    :param precision: A float32 product setting (:data:`PRECISIONS`)
    :return: What runs the CPU's products under it here: ``"MKL float32"``, ``"oneDNN bfloat16"`` or, where oneDNN
        keeps float32 kernels, ``"oneDNN float32"``
    """
    if precision == "highest":
        return "MKL float32"
    return "oneDNN bfloat16" if cpu_products_round() else "oneDNN float32"


@functools.cache
def fastest_precisions(products: tuple[Product, ...], threads: int, rounds: int = 5) -> dict[Product, str]:
    """
    The fastest of torch's float32 product settings (:data:`PRECISIONS`) for each product, by timing: each product at
    each setting, alternating, ``rounds`` times; the smallest median wins. Small products usually run faster under
    MKL and large ones under oneDNN's bfloat16 kernels where the CPU has them, but by how much depends on the CPU,
    the thread count and the shapes, so it is measured, once per process for each set of shapes and thread count
    (a 400-300 model at batch 256: ~0.3 s).

    :param products: The products of an update
    :param threads: The torch thread count the update runs with (part of the cache key)
    :param rounds: Timed rounds per product and setting
    :return: product -> the setting for ``torch.set_float32_matmul_precision``
    """
    generator = th.Generator().manual_seed(0)
    previous = th.get_float32_matmul_precision()
    choice = {}
    try:
        for product in products:
            call = _product_call(product, generator)
            times: dict[str, list[float]] = {precision: [] for precision in PRECISIONS}
            for round_index in range(rounds + 1):
                for precision in PRECISIONS:
                    th.set_float32_matmul_precision(precision)
                    start = time.perf_counter()
                    for _ in range(3):
                        call()
                    if round_index > 0:  # round 0 warms up
                        times[precision].append(time.perf_counter() - start)
            choice[product] = min(PRECISIONS, key=lambda precision: statistics.median(times[precision]))
    finally:
        th.set_float32_matmul_precision(previous)
    return choice


def fused_setting(optimizer: th.optim.Optimizer, optimizer_kwargs: dict[str, Any], fast: bool) -> dict[str, Any]:
    """
    The ``fused`` setting of a model's optimizer: ``True`` in the fast mode for Adam and AdamW unless the user chose
    ``fused`` or ``foreach`` in ``optimizer_kwargs``, else what the optimizer was built with (the user's choice).

    :param optimizer: The optimizer, built from the user's ``optimizer_kwargs``
    :param optimizer_kwargs: The user's ``optimizer_kwargs``
    :param fast: Whether the fast mode is on
    :return: ``{"fused": value}``, or nothing for an optimizer without that setting
    """
    if "fused" not in optimizer.defaults:
        return {}
    chosen = "fused" in optimizer_kwargs or "foreach" in optimizer_kwargs
    if fast and isinstance(optimizer, FUSED_OPTIMIZERS) and not chosen:
        return {"fused": True}
    return {"fused": optimizer.defaults["fused"]}


class FastMatmul:
    """
    The fast mode's matrix-product precision, or nothing: a context manager factory that ``train()`` enters around
    its updates.

    :param device: The model's device
    :param enabled: Whether the fast mode is on
    :param native: Whether the device has a native fast path (see :func:`native_fast_matmul`); None: detect it
    """

    def __init__(self, device: th.device, enabled: bool, native: bool | None = None):
        native = native_fast_matmul(device) if native is None else native
        if enabled and not native:
            warnings.warn(
                f"DDPG fast mode: {device} does not run float32 matrix products with bfloat16 (CPU, oneDNN) or TF32 "
                "(CUDA >= 8.0) internals here; they stay in full float32 precision (fused Adam and the subnormal "
                "flush are still used).",
                stacklevel=3,
            )
        self.enabled = enabled and native

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        """Matrix products with lower-precision internals inside the block in the fast mode; else nothing changes."""
        if not self.enabled:
            yield
            return
        previous = th.get_float32_matmul_precision()
        th.set_float32_matmul_precision("medium")
        try:
            yield
        finally:
            th.set_float32_matmul_precision(previous)


def flush_subnormal_state(optimizer: th.optim.Optimizer) -> None:
    """
    Set the float32 entries of an optimizer's state whose magnitude is below the smallest normal number to zero.

    :param optimizer: An optimizer (its per-parameter state tensors are changed in place)
    """
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, th.Tensor) and value.dtype == th.float32 and value.dim() > 0:
                value.masked_fill_(value.abs() < _SMALLEST_NORMAL, 0.0)
