"""strided_conv: the code of the executable book on strided convolution.

Modules, in the order of the book's chapters:

- :mod:`strided_conv.output_size` -- output-size arithmetic (chapter 1)
- :mod:`strided_conv.figures` -- the figures of every chapter, one colour language
"""
from .output_size import (
    conv_output_size,
    same_padding,
    transposed_conv_output_size,
    transposed_output_padding,
    unvisited_tail,
    window_starts,
)

__version__ = "0.1.0"

__all__ = [
    "conv_output_size",
    "same_padding",
    "transposed_conv_output_size",
    "transposed_output_padding",
    "unvisited_tail",
    "window_starts",
]
