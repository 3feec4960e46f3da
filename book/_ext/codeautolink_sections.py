"""Sphinx extension: let sphinx-codeautolink walk pages with exercises and theorems.

sphinx-exercise and sphinx-proof put a directive's body in a ``section`` node that
has no title. sphinx-codeautolink (0.19) pushes a title when it visits a title node
and pops one whenever it leaves a section, so every untitled section pops a heading
that is not its own; a page section holding two such directives empties the stack
and the build stops with ``IndexError: pop from empty list``. This patch makes the
analyser ignore sections without a title, so its heading stack stays correct.
"""
from __future__ import annotations

from docutils import nodes
from sphinx_codeautolink.extension.block import CodeBlockAnalyser

_visit_section = CodeBlockAnalyser.visit_section
_depart_section = CodeBlockAnalyser.depart_section


def _has_title(node: nodes.section) -> bool:
    return any(isinstance(child, nodes.title) for child in node.children)


def visit_section(self, node: nodes.section) -> None:
    if _has_title(node):
        _visit_section(self, node)


def depart_section(self, node: nodes.section) -> None:
    if _has_title(node):
        _depart_section(self, node)


CodeBlockAnalyser.visit_section = visit_section
CodeBlockAnalyser.depart_section = depart_section


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
