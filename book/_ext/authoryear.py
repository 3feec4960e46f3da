"""Sphinx extension: author-year labels in the bibliography, e.g. [Dumoulin and Visin, 2016].

The text cites author-year ({cite:p}); sphinxcontrib-bibtex's default label style is
alphabetic ([DV16]). This registers a pybtex style whose labels match the citations.
"""
from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _names(entry) -> str:
    persons = entry.persons.get("author", [])
    last = ["".join(p.last_names) or "".join(p.first_names) for p in persons]
    last = [n.replace("{", "").replace("}", "") for n in last]
    if not last:
        return entry.key
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        base = [f"{_names(e)}, {e.fields.get('year', 'n.d.')}" for e in entries]
        # Same authors and year (several PyTorch pages): 2025a, 2025b, ... as in print.
        seen: dict[str, int] = {}
        for label in base:
            n = base.count(label)
            if n == 1:
                yield label
            else:
                seen[label] = seen.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
