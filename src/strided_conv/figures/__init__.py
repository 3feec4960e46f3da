"""Figures of the book, drawn from the package so every picture is reproducible.

One colour language across all chapters, in the spirit of Dumoulin & Visin's
``conv_arithmetic`` animations, taken from the colour-blind-safe palette of
Okabe and Ito (2008), :data:`OKABE_ITO`:

================  ==================  ===============================================
role              colour              meaning
================  ==================  ===============================================
``input``         blue                real input cells
``padding``       light grey          zeros added around the input
``window``        orange              the cells under the current kernel window
``output``        bluish green        output cells; in chapter 3, "exactly m segments"
``tail``          vermillion          input cells no window ever reaches (the floor)
``padded_tail``   sky blue            chapter 3: tail read after explicit zero padding
``wrong_count``   reddish purple      chapter 3: the original module's m + 1 segments
``error``         black               chapter 3: the original module raises
``edge``          dark grey           cell borders and text
================  ==================  ===============================================

Every figure is drawn for the page it is shown on: at most :data:`COLUMN_WIDTH_IN`
inches wide at :data:`DPI` dots per inch, with no text smaller than
:data:`MIN_FONT_PT` points. :func:`legibility_problems` checks both, and the tests
run it on every figure function.

Chapter modules (``windows``, ``im2col``, ``segments``, ``performance``) import
:data:`COLORS` from here; a notebook calls one function per figure and ends the
cell with ``;``.
"""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.text import Text

#: Okabe, M. and Ito, K. (2008), "Color Universal Design": eight colours that stay
#: distinct under the common forms of colour blindness.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Role -> colour: the book's one colour language (table above).
COLORS: dict[str, str] = {
    "input": OKABE_ITO["blue"],
    "padding": "#DDDDDD",
    "window": OKABE_ITO["orange"],
    "output": OKABE_ITO["bluish_green"],
    "tail": OKABE_ITO["vermillion"],
    "padded_tail": OKABE_ITO["sky_blue"],
    "wrong_count": OKABE_ITO["reddish_purple"],
    "error": OKABE_ITO["black"],
    "edge": "#333333",
}

#: Width of the book's content column at a 1280 px browser window, in inches.
COLUMN_WIDTH_IN: float = 7.5
#: Resolution the notebooks store figures at (matplotlib's default).
DPI: int = 100
#: Smallest font size, in points, that any figure may use.
MIN_FONT_PT: float = 9.0


def legibility_problems(fig: Figure) -> list[str]:
    """What makes ``fig`` hard to read at the page's width; empty when nothing does.

    Checks that the figure is at most :data:`COLUMN_WIDTH_IN` inches wide and that
    every visible text (titles, labels, tick labels, legends, annotations) is at
    least :data:`MIN_FONT_PT` points.

    Returns
    -------
    list of str
        One sentence per problem, naming the text that is too small.
    """
    problems = []
    width = fig.get_figwidth()
    if width > COLUMN_WIDTH_IN + 1e-9:
        problems.append(f"figure is {width:.2f} in wide, the column {COLUMN_WIDTH_IN} in")
    fig.draw_without_rendering()  # tick labels and legends exist only once drawn
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < MIN_FONT_PT:
            problems.append(f"text {text.get_text()!r} is {text.get_fontsize():g} pt")
    return problems


__all__ = ["COLORS", "OKABE_ITO", "COLUMN_WIDTH_IN", "DPI", "MIN_FONT_PT", "legibility_problems"]
