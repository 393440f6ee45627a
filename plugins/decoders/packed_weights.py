"""MKL-packed copies of a model's float32 CPU weight matrices for the fixed row count of decoding steps.

A decoding step multiplies a few rows by every weight matrix, so its time is the time to stream
the weights from memory; MKL's packed layout streams them about twice as fast as transformers'
(in, out) Conv1D and (out, in) Linear layouts. The packed product runs the same sgemm kernel and
gives the same bits: a layer is packed only after a probe product equals its own output exactly,
and only inputs of exactly the packed row count take the packed path (prefill keeps the original).
While `packed(...)` is active the layers' forwards are swapped; leaving it restores the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

Forward = Callable[[torch.Tensor], torch.Tensor]


def available() -> bool:
    """Whether this torch build has MKL's packed sgemm."""
    return torch.backends.mkl.is_available() and hasattr(torch.ops.mkl, "_mkl_linear")


def pack(model: Any, rows: int) -> dict[Any, Forward]:
    """A packed forward for every float32 CPU Linear / Conv1D of `model` whose probe product is exact."""
    forwards: dict[Any, Forward] = {}
    if not available():
        return forwards
    for module in model.modules():
        weight = _linear_weight(module)
        if weight is not None and weight.dtype == torch.float32 and weight.device.type == "cpu":
            forward = _packed_forward(module, weight, rows)
            if forward is not None:
                forwards[module] = forward
    return forwards


@contextmanager
def packed(forwards: dict[Any, Forward]) -> Iterator[None]:
    """Run the model with the packed forwards in place of its layers' own; restored on exit."""
    before = {module: module.__dict__.get("forward") for module in forwards}
    for module, forward in forwards.items():
        module.forward = forward
    try:
        yield
    finally:
        for module, forward in before.items():
            if forward is None:
                del module.forward
            else:
                module.forward = forward


def _linear_weight(module: Any) -> torch.Tensor | None:
    """The weight as (out, in), for nn.Linear and transformers' Conv1D (a view); None for any other module."""
    if type(module) is torch.nn.Linear:
        return module.weight
    if type(module).__name__ == "Conv1D" and type(module).__module__.startswith("transformers."):
        return module.weight.t()
    return None


def _packed_forward(module: Any, weight: torch.Tensor, rows: int) -> Forward | None:
    original, bias = module.forward, module.bias
    packed_weight = torch.ops.mkl._mkl_reorder_linear_weight(weight.contiguous(), rows)

    def forward(x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        if flat.shape[0] != rows:
            return original(x)
        out = torch.ops.mkl._mkl_linear(flat, packed_weight, weight, bias, rows)
        return out.view(*x.shape[:-1], out.shape[-1])

    with torch.inference_mode():
        probe = torch.randn((rows, weight.shape[1]), generator=torch.Generator().manual_seed(0))
        if not torch.equal(forward(probe), original(probe)):
            return None
    return forward
