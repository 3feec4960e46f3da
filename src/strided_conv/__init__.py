"""strided_conv: the code of the executable book on strided convolution.

Modules, in the order of the book's chapters:

- :mod:`strided_conv.output_size` -- output-size arithmetic (chapter 1)
- :mod:`strided_conv.im2col`, :mod:`strided_conv.layers`, :mod:`strided_conv.gradcheck` --
  im2col/col2im and the NumPy ``Convolution`` layer, forward and backward (chapter 2)
- :mod:`strided_conv.downconv`, :mod:`strided_conv.attention` -- PAUP's ``DownConv``
  with sizes that add up, and attention over its segments (chapter 3)
- :mod:`strided_conv.paup`, :mod:`strided_conv.rec` -- PAUP's published attention layer
  and a next-item recommender on MovieLens-100k (chapter 4)
- :mod:`strided_conv.polyphase` -- the polyphase view of stride: ``PolyphaseConvolution``,
  a layer without the col matrix, and transposed convolution read backwards (chapter 5)
- :mod:`strided_conv.bench` -- the benchmark tool, ``python -m strided_conv.bench`` (chapter 6)
- :mod:`strided_conv.figures` -- the figures of every chapter, one colour language
"""
from .output_size import (
    TEXTBOOK_RELATIONS,
    Relation,
    conv_output_size,
    count_windows_brute_force,
    cs231n_output_size,
    same_padding,
    tf_same_padding,
    transposed_conv_output_size,
    transposed_output_padding,
    unvisited_tail,
    window_starts,
)
from .im2col import (
    col2im,
    col2im_seed_style,
    conv_geometry,
    im2col,
    im2col_seed_style,
    im2col_size,
    window_coverage,
)
from .layers import Convolution, SeedStyleConvolution, conv2d_naive
from .gradcheck import numerical_gradient, relative_error
from .downconv import (
    TAIL_POLICIES,
    DownConv,
    DownConvSizes,
    NumPyDownConv,
    downconv_sizes,
    feasible_segments,
    input_dependence,
    package_outcome,
    second_conv_sizes,
    tiled_conv1d,
)
from .polyphase import (
    PolyphaseConvolution,
    conv_transpose2d_polyphase,
    phase_terms,
    pixel_shuffle,
    pixel_unshuffle,
    polyphase_components,
    polyphase_kernels,
)
from .attention import FullSelfAttention, SegmentAttention, loglog_slope, time_attention
from .attention import attention_flops
from .paup import ConvMultiHeadAttention

__version__ = "0.1.0"

__all__ = [
    "conv_output_size",
    "same_padding",
    "transposed_conv_output_size",
    "transposed_output_padding",
    "unvisited_tail",
    "window_starts",
    "tf_same_padding",
    "count_windows_brute_force",
    "cs231n_output_size",
    "Relation",
    "TEXTBOOK_RELATIONS",
    # chapter 2
    "im2col",
    "col2im",
    "im2col_seed_style",
    "col2im_seed_style",
    "im2col_size",
    "window_coverage",
    "conv_geometry",
    "Convolution",
    "SeedStyleConvolution",
    "conv2d_naive",
    "numerical_gradient",
    "relative_error",
    # chapter 3
    "DownConv",
    "DownConvSizes",
    "NumPyDownConv",
    "TAIL_POLICIES",
    "downconv_sizes",
    "tiled_conv1d",
    "second_conv_sizes",
    "feasible_segments",
    "package_outcome",
    "input_dependence",
    "SegmentAttention",
    "FullSelfAttention",
    "time_attention",
    "loglog_slope",
    "attention_flops",
    # DownConv at work
    "ConvMultiHeadAttention",
]

# the polyphase chapter
__all__ += [
    "PolyphaseConvolution",
    "polyphase_components",
    "polyphase_kernels",
    "phase_terms",
    "conv_transpose2d_polyphase",
    "pixel_shuffle",
    "pixel_unshuffle",
]
