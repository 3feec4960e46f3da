"""Sphinx extension: every documented object of the API reference links back to its chapter.

As Dive into Deep Learning's library does ("Defined in section ..."), each docstring the
API reference renders ends with "Explained in Chapter N, <title>", chosen by the module
that defines the object. A module missing from :data:`CHAPTERS` fails the build, so a new
module cannot enter the reference without saying where the book explains it.
"""
from __future__ import annotations

from sphinx.errors import ExtensionError

#: Module (longest prefix wins) -> label of the chapter that explains it.
CHAPTERS: dict[str, str] = {
    "strided_conv.output_size": "ch-output-size",
    "strided_conv.figures.windows": "ch-output-size",
    "strided_conv.im2col": "ch-numpy-convolution",
    "strided_conv.layers": "ch-numpy-convolution",
    "strided_conv.gradcheck": "ch-numpy-convolution",
    "strided_conv.figures.im2col": "ch-numpy-convolution",
    "strided_conv.original.convolution": "ch-numpy-convolution",
    "strided_conv.downconv": "ch-downconv",
    "strided_conv.attention": "ch-downconv",
    "strided_conv.figures.segments": "ch-downconv",
    "strided_conv.original.downconv": "ch-downconv",
    "strided_conv.paup": "ch-downconv-at-work",
    "strided_conv.rec": "ch-downconv-at-work",
    "strided_conv.figures.downconv_at_work": "ch-downconv-at-work",
    "strided_conv.original.paup_attention": "ch-downconv-at-work",
    "strided_conv.polyphase": "ch-polyphase",
    "strided_conv.figures.polyphase": "ch-polyphase",
    "strided_conv.bench": "ch-performance",
    "strided_conv.figures.performance": "ch-performance",
    "strided_conv.figures": "ch-output-size",
    "strided_conv.original": "ch-numpy-convolution",
}


def chapter_of(module: str) -> str | None:
    best = max((m for m in CHAPTERS if module == m or module.startswith(m + ".")),
               key=len, default=None)
    return CHAPTERS[best] if best else None


def _defining_module(name: str) -> str:
    """The module whose own namespace defines a constant re-exported by ``strided_conv``."""
    import importlib
    import sys

    parent, _, attr = name.rpartition(".")
    obj = getattr(importlib.import_module(parent), attr)
    for mod_name in sorted(m for m in sys.modules if m.startswith("strided_conv.")):
        mod = sys.modules[mod_name]
        if getattr(mod, attr, None) is obj and attr in getattr(mod, "__all__", ()):
            return mod_name
    return parent


def _append_link(app, what, name, obj, options, lines):
    if what not in ("function", "class", "module", "data", "exception"):
        return  # methods and attributes sit inside their class's entry
    module = name if what == "module" else getattr(obj, "__module__", None) or name
    if what == "data":
        module = _defining_module(name)
    label = chapter_of(module)
    if label is None:
        raise ExtensionError(f"chapter_links: no chapter for {name} (module {module}); "
                             "add the module to CHAPTERS in book/_ext/chapter_links.py")
    lines.extend(["", f"*Explained in* :numref:`{label}`: :ref:`{label}`."])


def setup(app):
    app.connect("autodoc-process-docstring", _append_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
