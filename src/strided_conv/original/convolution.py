"""The seed's NumPy convolution layer, reproduced as written, defects included.

Source: the ``Convolution`` layer and the helpers ``conv_output_size``,
``im2col`` and ``col2im`` of *Deep Learning from Scratch* (Koki Saitoh,
O'Reilly Japan 2016, MIT licence), as quoted in the seed document. Only the
layout (and these docstrings) differ; every line of logic is kept, so that
chapter 2 can run it and show what goes wrong. Do not use it: the package's
:class:`strided_conv.Convolution` is the fixed layer.

Defects the chapter demonstrates, and where the package avoids them:

1. ``Convolution.forward`` computes ``out_h = 1 + int((H + 2*pad - FH) / stride)``.
   ``int()`` truncates toward zero, so when the kernel does not fit
   (numerator in ``(-stride, 0)``) it claims one output row. ``im2col``
   floors with ``//``, finds none, and fails on ``reshape(0, -1)`` before
   ``forward`` gets to use its wrong size: the user sees "cannot reshape array
   of size 0", which names neither the kernel nor the input. The package takes every size from
   :func:`strided_conv.conv_output_size` (floor) and raises a ``ValueError``
   naming the kernel and the padded input.
2. ``conv_output_size`` returns a float: ``conv_output_size(28, 5, 2, 0)`` is
   ``12.5``, not a size. The package's :func:`strided_conv.conv_output_size`
   returns the floored ``int`` (12), the size PyTorch produces.
3. ``col2im`` allocates ``(N, C, H + 2*pad + stride - 1, W + 2*pad + stride - 1)``;
   ``H + 2*pad`` suffice because no window starts past the last one that fits.
   The package's :func:`strided_conv.col2im` allocates exactly ``(N, C, H, W)``.
4. ``im2col`` and ``col2im`` call ``np.zeros`` without a dtype, so float32 input
   silently becomes float64 (twice the memory, slower products). The
   package keeps the input's dtype everywhere and refuses mixed dtypes.
"""
import numpy as np

__all__ = ["conv_output_size", "im2col", "col2im", "Convolution"]


def conv_output_size(input_size, filter_size, stride=1, pad=0):
    # Defect 2: true division, a float such as 12.5.
    return (input_size + 2*pad - filter_size) / stride + 1


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """(N, C, H, W) -> (N*out_h*out_w, C*filter_h*filter_w), one row per window."""
    N, C, H, W = input_data.shape
    out_h = (H + 2*pad - filter_h)//stride + 1
    out_w = (W + 2*pad - filter_w)//stride + 1

    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], 'constant')
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))  # defect 4: always float64

    # One strided slice per kernel offset (y, x) copies that tap of every window.
    for y in range(filter_h):
        y_max = y + stride*out_h
        for x in range(filter_w):
            x_max = x + stride*out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]

    col = col.transpose(0, 4, 5, 1, 2, 3).reshape(N*out_h*out_w, -1)
    return col


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """(N*out_h*out_w, C*filter_h*filter_w) -> input_shape, summing overlaps."""
    N, C, H, W = input_shape
    out_h = (H + 2*pad - filter_h)//stride + 1
    out_w = (W + 2*pad - filter_w)//stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)

    # Defects 3 and 4: stride - 1 rows and columns too many, and always float64.
    img = np.zeros((N, C, H + 2*pad + stride - 1, W + 2*pad + stride - 1))
    for y in range(filter_h):
        y_max = y + stride*out_h
        for x in range(filter_w):
            x_max = x + stride*out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]

    return img[:, :, pad:H + pad, pad:W + pad]


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
        self.b = b
        self.stride = stride
        self.pad = pad

        # intermediate data (used by backward)
        self.x = None
        self.col = None
        self.col_W = None

        # gradients of the weights and biases
        self.dW = None
        self.db = None

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        # Defect 1: int() truncates toward zero where im2col floors.
        out_h = 1 + int((H + 2*self.pad - FH) / self.stride)
        out_w = 1 + int((W + 2*self.pad - FW) / self.stride)

        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T

        out = np.dot(col, col_W) + self.b
        out = out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

        self.x = x
        self.col = col
        self.col_W = col_W

        return out

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)

        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout)
        self.dW = self.dW.transpose(1, 0).reshape(FN, C, FH, FW)

        dcol = np.dot(dout, self.col_W.T)
        dx = col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)

        return dx
