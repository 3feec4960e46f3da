"""Sphinx extension: ``cli-help`` renders a command's ``--help`` from its argparse parser.

Usage in MyST::

    ```{cli-help} strided_conv.bench.cli:build_parser
    :prog: python -m strided_conv.bench
    ```

The text is produced at build time from the parser itself, so the reference can never
drift from the program; it is wrapped at 80 columns like the rest of the book.
"""
from __future__ import annotations

import importlib
import os

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective


class CliHelp(SphinxDirective):
    required_arguments = 1
    option_spec = {"prog": directives.unchanged}

    def run(self):
        module, _, func = self.arguments[0].partition(":")
        parser = getattr(importlib.import_module(module), func)()
        if "prog" in self.options:
            parser.prog = self.options["prog"]
        old = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal width
        try:
            text = parser.format_help()
        finally:
            if old is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = old
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
