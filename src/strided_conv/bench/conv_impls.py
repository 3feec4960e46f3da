"""The Conv2d implementations under test, registered in one table.

Each entry of :data:`CONV_IMPLS` maps a name to a :class:`ConvImpl`: a factory
that takes the case's NumPy arrays and returns a *runner* with two methods,

- ``forward()`` -- one forward pass on the stored input, returns the output;
- ``backward()`` -- one backward pass with the stored upstream gradient, after
  at least one ``forward()``, returns ``(dx, dW, db)``.

Runners keep their inputs in their own format (NumPy arrays or tensors that
require grad), so the timed call does nothing but the convolution. To add an
implementation, add one entry.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..layers import Convolution, SeedStyleConvolution, conv2d_naive
from ..polyphase import PolyphaseConvolution
from ..original import convolution as original

__all__ = ["ConvImpl", "CONV_IMPLS", "REFERENCE", "TorchConvRunner", "LayerRunner",
           "NaiveRunner"]

REFERENCE = "torch"


class TorchConvRunner:
    """``torch.nn.functional.conv2d`` with autograd on the CPU, as a training step runs it."""

    def __init__(self, x: np.ndarray, W: np.ndarray, b: np.ndarray, dout: np.ndarray,
                 stride: int, pad: int) -> None:
        self.x, self.W, self.b = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
        self.dout = torch.tensor(dout)
        self.stride, self.pad = stride, pad
        self.out: torch.Tensor | None = None

    def forward(self) -> torch.Tensor:
        self.out = F.conv2d(self.x, self.W, self.b, stride=self.stride, padding=self.pad)
        return self.out

    def backward(self) -> tuple[torch.Tensor, ...]:
        if self.out is None:
            raise RuntimeError("backward() needs a forward() first")
        # autograd.grad returns fresh gradients (no accumulation into .grad), and
        # retain_graph lets every repetition reuse the one forward graph.
        return torch.autograd.grad(self.out, (self.x, self.W, self.b), self.dout,
                                   retain_graph=True)


class LayerRunner:
    """Any layer with the seed's interface: ``forward(x)``, ``backward(dout) -> dx``,
    ``.dW``, ``.db``."""

    def __init__(self, layer: Any, x: np.ndarray, dout: np.ndarray) -> None:
        self.layer, self.x, self.dout = layer, x, dout

    def forward(self) -> np.ndarray:
        return self.layer.forward(self.x)

    def backward(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dx = self.layer.backward(self.dout)
        return dx, self.layer.dW, self.layer.db


class NaiveRunner:
    """:func:`~strided_conv.layers.conv2d_naive`: seven Python loops, forward only."""

    def __init__(self, x, W, b, dout, stride, pad) -> None:
        self.args = (x, W, b)
        self.stride, self.pad = stride, pad

    def forward(self) -> np.ndarray:
        return conv2d_naive(*self.args, stride=self.stride, pad=self.pad)

    def backward(self):
        raise NotImplementedError("the naive loops have no backward pass")


@dataclass(frozen=True)
class ConvImpl:
    """One registered implementation.

    Attributes
    ----------
    factory : callable
        ``factory(x, W, b, dout, stride, pad) -> runner``.
    description : str
        One line for the chapter's tables.
    max_forward_flops : float
        Cases with more forward FLOP are skipped (the naive loops would take hours).
    numpy_memory : bool
        Whether tracemalloc sees its allocations (True for NumPy code).
    has_backward : bool
        False for forward-only implementations (the naive loops).
    slow : bool
        Seconds per call: timed ``naive_repeats`` times instead of ``repeats``.
    dtypes : tuple of str
        The dtypes it runs in (the seed's original computes in float64 whatever
        it is given, so it only runs in float64; in float32 the dtype check
        would, rightly, stop the run).
    """

    factory: Callable[..., Any]
    description: str
    max_forward_flops: float = float("inf")
    numpy_memory: bool = True
    has_backward: bool = True
    slow: bool = False
    dtypes: tuple[str, ...] = ("float32", "float64")


def _torch_factory(x, W, b, dout, stride, pad):
    return TorchConvRunner(x, W, b, dout, stride, pad)


def _layer_factory(layer_class):
    def factory(x, W, b, dout, stride, pad):
        return LayerRunner(layer_class(W, b, stride=stride, pad=pad), x, dout)
    return factory


#: Forward FLOP of S1 is 7.1e6; S2 is 2.4e9. The naive loops run up to 2e7 (S1, tiny shapes).
NAIVE_MAX_FLOPS = 2e7

CONV_IMPLS: dict[str, ConvImpl] = {
    REFERENCE: ConvImpl(_torch_factory, "PyTorch conv2d with autograd (CPU)",
                        numpy_memory=False),
    "vectorized": ConvImpl(_layer_factory(Convolution),
                           "strided_conv.Convolution: one strided-view copy, batched GEMM"),
    "seed_style": ConvImpl(_layer_factory(SeedStyleConvolution),
                           "strided_conv.SeedStyleConvolution: the seed's loops, dtype kept"),
    "original": ConvImpl(_layer_factory(original.Convolution),
                         "strided_conv.original.convolution.Convolution: the seed as written",
                         dtypes=("float64",)),
    "polyphase": ConvImpl(_layer_factory(PolyphaseConvolution),
                          "strided_conv.PolyphaseConvolution: polyphase identity, blocked "
                          "shifted products, no col"),
    "naive": ConvImpl(NaiveRunner, "strided_conv.conv2d_naive: seven Python loops",
                      max_forward_flops=NAIVE_MAX_FLOPS, has_backward=False, slow=True),
}
