"""The code the book starts from, kept as written so its defects can be run and shown.

Nothing in here is used by the package's own layers. Each module reproduces
one source document faithfully (defects included) and says in its docstring
which defects the book demonstrates and where the package fixes them:

- :mod:`strided_conv.original.convolution` -- the NumPy ``Convolution`` layer,
  ``im2col``, ``col2im`` and ``conv_output_size`` of *Deep Learning from
  Scratch* (Koki Saitoh, MIT licence), as in the seed document.
- :mod:`strided_conv.original.downconv` -- PAUP's ``DownConv`` (SIGIR 2022,
  RecBole fork, MIT licence) and its size arithmetic.
"""
