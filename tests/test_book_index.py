"""The landing page: its colour table is the package's palette, its chapter list is the toc's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from strided_conv.figures import COLORS, OKABE_ITO

ROOT = Path(__file__).resolve().parents[1]
INDEX = (ROOT / "book" / "index.md").read_text(encoding="utf-8")
SWATCH = re.compile(r"^\|.*background-color:(#[0-9A-Fa-f]{6}).*?\|\s*`(\w+)`\s*\|", re.M)


def _section(title: str) -> str:
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", INDEX, re.S | re.M)
    assert match, f"the landing page has no '## {title}' section"
    return match.group(1)


def test_colour_table_states_every_role_once_with_the_package_colour():
    swatches = SWATCH.findall(_section("Colours"))
    roles = [role for _, role in swatches]
    assert sorted(roles) == sorted(COLORS), "every role of COLORS once, nothing else"
    for hex_colour, role in swatches:
        assert hex_colour.lower() == COLORS[role].lower(), f"{role}: {hex_colour} != COLORS"


def test_colours_are_stated_only_on_the_landing_page_section():
    """One statement of the colour language: swatches appear in no other section."""
    outside = INDEX.replace(_section("Colours"), "")
    assert "background-color" not in outside


def test_palette_is_okabe_ito_and_cited():
    named = set(COLORS.values()) - {COLORS["padding"], COLORS["edge"]}
    assert named <= set(OKABE_ITO.values())
    assert "{cite:p}`okabe2008cud`" in _section("Colours")
    assert "@misc{okabe2008cud," in (ROOT / "book" / "references.bib").read_text()


def _toc_chapters() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    part = re.search(r"caption: Chapters\n(.*?)(?=\n  - caption:|\Z)", toc, re.S).group(1)
    return [Path(f).name for f in re.findall(r"file:\s*(\S+)", part)]


def test_chapter_list_names_every_chapter_of_the_toc_in_order():
    intro = INDEX.split("\n## ")[0]
    listed = re.findall(r"^- \*\*\{doc\}`(\w+)`\*\*", intro, re.M)
    assert listed == _toc_chapters(), "the landing page lists the chapters of _toc.yml, in order"
    assert not re.search(r"\b(two|three|four|five|six|seven) chapters\b", intro)


@pytest.mark.parametrize("symbol", [
    "$i$", "$j$", "$t$", "$u$", "$a_j = js - p$", "$N$", "$F_N$", "$O_H$", "$s_h, s_w$",
    "$n$", "$D$", "$m$", "$k_1$", "$L_1$", "$p_2$", "$h$", "$Q, K, V$", "$r$",
])
def test_notation_table_has_the_book_wide_symbols(symbol):
    rows = [line for line in _section("Notation").splitlines() if line.startswith("| ")]
    assert any(row.split("|")[1].strip().startswith(symbol) for row in rows), symbol
