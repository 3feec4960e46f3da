r"""The benchmark cases: convolution shapes, FLOP counts, buffer sizes, inputs.

FLOP counts (one multiply-add = 2 FLOP):

- forward: :math:`2 N F_N O_H O_W C F_H F_W` (one GEMM of
  ``(N*OH*OW, C*FH*FW) @ (C*FH*FW, FN)``);
- backward: ``dW`` and ``dx`` are one GEMM each of the same size, so
  :math:`2 \times` the forward (``db`` and the scatter of ``col2im`` add
  only :math:`O(N F_N O_H O_W)` and :math:`O(N C F_H F_W O_H O_W)` additions, not counted).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .._validation import check_int
from ..output_size import conv_output_size

__all__ = ["ConvShape", "CONV_SHAPES", "TINY_SHAPES", "SWEEP_SHAPES", "TINY_SWEEP_SHAPES",
           "conv_inputs"]


@dataclass(frozen=True)
class ConvShape:
    """One Conv2d case: input ``(N, C, H, W)``, ``FN`` filters ``FH x FW``, stride, pad."""

    N: int
    C: int
    H: int
    W: int
    FN: int
    FH: int
    FW: int
    stride: int = 1
    pad: int = 0

    def __post_init__(self) -> None:
        for name in ("N", "C", "H", "W", "FN", "FH", "FW", "stride"):
            check_int(name, getattr(self, name), 1)
        check_int("pad", self.pad, 0)
        self.out_hw  # raises if no window fits

    @property
    def out_hw(self) -> tuple[int, int]:
        """``(OH, OW)`` from chapter 1's :func:`~strided_conv.conv_output_size`."""
        return (conv_output_size(self.H, self.FH, self.stride, self.pad),
                conv_output_size(self.W, self.FW, self.stride, self.pad))

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        """Forward GEMM ``(M, K, N)``: ``M = N*OH*OW`` rows, ``K = C*FH*FW``, ``FN`` columns."""
        oh, ow = self.out_hw
        return (self.N * oh * ow, self.C * self.FH * self.FW, self.FN)

    def flops(self, pass_: str) -> int:
        """FLOP of ``"forward"`` (``2MKN``) or ``"backward"`` (twice that: dW and dx)."""
        m, k, n = self.gemm_mkn
        factor = {"forward": 2, "backward": 4}.get(pass_)
        if factor is None:
            raise ValueError(f"pass_ must be 'forward' or 'backward', got {pass_!r}")
        return factor * m * k * n

    def col_bytes(self, dtype: np.dtype | type) -> int:
        """Bytes of the im2col buffer: ``N*OH*OW * C*FH*FW`` elements."""
        m, k, _ = self.gemm_mkn
        return m * k * np.dtype(dtype).itemsize

    def padded_bytes(self, dtype: np.dtype | type) -> int:
        """Bytes of the zero-padded input ``(N, C, H + 2p, W + 2p)``."""
        return (self.N * self.C * (self.H + 2 * self.pad) * (self.W + 2 * self.pad)
                * np.dtype(dtype).itemsize)

    def out_bytes(self, dtype: np.dtype | type) -> int:
        """Bytes of the output ``(N, FN, OH, OW)``."""
        m, _, n = self.gemm_mkn
        return m * n * np.dtype(dtype).itemsize

    def as_dict(self) -> dict[str, int]:
        """The fields plus ``OH``, ``OW`` and the GEMM sizes, for the JSON."""
        oh, ow = self.out_hw
        m, k, n = self.gemm_mkn
        return {**asdict(self), "OH": oh, "OW": ow, "gemm_m": m, "gemm_k": k, "gemm_n": n}


#: The issue's shapes. S3 halves the output with stride 2; S4 is a ResNet-style stem.
CONV_SHAPES: dict[str, ConvShape] = {
    "S1": ConvShape(8, 3, 32, 32, 16, 3, 3, stride=1, pad=1),
    "S2": ConvShape(32, 64, 32, 32, 64, 3, 3, stride=1, pad=1),
    "S3": ConvShape(32, 64, 32, 32, 128, 3, 3, stride=2, pad=1),
    "S4": ConvShape(16, 3, 224, 224, 64, 7, 7, stride=2, pad=3),
}

#: Shapes for ``--tiny`` (the smoke test): odd sizes, stride 2 on a size it does not divide.
TINY_SHAPES: dict[str, ConvShape] = {
    "T1": ConvShape(2, 3, 8, 8, 4, 3, 3, stride=1, pad=1),
    "T2": ConvShape(2, 4, 9, 9, 6, 3, 3, stride=2, pad=1),
}


#: The polyphase chapter's sweep of the input channels C (``--suite polyphase``):
#: S2's geometry (3x3, stride 1, 32x32, 64 filters) and S4's (7x7, stride 2, 64
#: filters) on 56x56 images, batch 16. Few channels make each shifted product thin.
SWEEP_SHAPES: dict[str, ConvShape] = {
    **{f"k3s1-C{c}": ConvShape(16, c, 32, 32, 64, 3, 3, stride=1, pad=1)
       for c in (1, 2, 4, 8, 16, 32, 64, 128)},
    **{f"k7s2-C{c}": ConvShape(16, c, 56, 56, 64, 7, 7, stride=2, pad=3)
       for c in (1, 3, 8, 16, 32, 64)},
}

#: The sweep for ``--tiny``: two channel counts per geometry, small images.
TINY_SWEEP_SHAPES: dict[str, ConvShape] = {
    **{f"k3s1-C{c}": ConvShape(2, c, 8, 8, 4, 3, 3, stride=1, pad=1) for c in (1, 4)},
    **{f"k7s2-C{c}": ConvShape(2, c, 11, 11, 4, 7, 7, stride=2, pad=3) for c in (1, 4)},
}


def conv_inputs(shape: ConvShape, dtype: np.dtype | type, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded ``x``, ``W``, ``b`` and upstream gradient ``dout`` in ``dtype``.

    Weights are scaled by :math:`1/\\sqrt{C F_H F_W}` so outputs stay of order 1
    in every shape, which keeps the float32 tolerances of the checks meaningful.
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    s = shape
    oh, ow = s.out_hw
    fan_in = s.C * s.FH * s.FW
    return {
        "x": rng.standard_normal((s.N, s.C, s.H, s.W)).astype(dtype),
        "W": (rng.standard_normal((s.FN, s.C, s.FH, s.FW)) / np.sqrt(fan_in)).astype(dtype),
        "b": rng.standard_normal(s.FN).astype(dtype),
        "dout": rng.standard_normal((s.N, s.FN, oh, ow)).astype(dtype),
    }
