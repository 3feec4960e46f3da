"""House rules for the package source that a reviewer would otherwise check by eye."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "strided_conv"
#: Code kept verbatim from elsewhere keeps its own layout.
OWN = sorted(p for p in SRC.rglob("*.py") if "original" not in p.relative_to(SRC).parts)


@pytest.mark.parametrize("path", OWN, ids=lambda p: str(p.relative_to(SRC)))
def test_lines_fit_100_characters_and_parse(path):
    text = path.read_text(encoding="utf-8")
    ast.parse(text)
    long = [(i, len(line)) for i, line in enumerate(text.splitlines(), 1) if len(line) > 100]
    assert not long, f"{path.name}: lines longer than 100 characters (line, length): {long}"


def test_the_rule_sees_the_package():
    assert len(OWN) > 20 and not any("original" in str(p.relative_to(SRC)) for p in OWN)
