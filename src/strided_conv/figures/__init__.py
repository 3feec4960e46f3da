"""Figures of the book, drawn from the package so every picture is reproducible.

One colour language across all chapters, in the spirit of Dumoulin & Visin's
``conv_arithmetic`` animations:

=============  =======================================================
``input``      real input cells
``padding``    zeros added around the input
``window``     the cells under the current kernel window
``output``     output cells
``tail``       input cells no window ever reaches (lost to the floor)
=============  =======================================================

Chapter modules (``windows``, ``im2col``, ``segments``, ``performance``) import
:data:`COLORS` from here; a notebook calls one function per figure and ends the
cell with ``;``.
"""
from __future__ import annotations

COLORS: dict[str, str] = {
    "input": "#4C72B0",    # blue
    "padding": "#D9D9D9",  # light grey
    "window": "#F2A541",   # orange
    "output": "#55A868",   # green
    "tail": "#C44E52",     # red
    "edge": "#333333",     # cell borders and text
}

__all__ = ["COLORS"]
