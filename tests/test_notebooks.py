"""Guards that make nbval's verdict mean something.

nbval only compares outputs that are stored, so a notebook saved without
outputs would pass it; these tests fail instead. They also keep every
notebook in the table of contents and on the kernel nbval runs.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
TOC = (ROOT / "_toc.yml").read_text()


def _code_cells(nb: dict) -> list[dict]:
    return [
        c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()
    ]


def test_the_book_has_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request):
    return request.param, json.loads(request.param.read_text())


def test_notebook_is_in_toc(notebook):
    path, _ = notebook
    entry = path.relative_to(ROOT).with_suffix("").as_posix()
    assert re.search(rf"file:\s*{re.escape(entry)}\s*$", TOC, re.M), f"{entry} missing from _toc.yml"


def test_kernelspec_is_python3(notebook):
    path, nb = notebook
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", path.name


def test_outputs_come_from_one_clean_run(notebook):
    """Execution counts 1, 2, 3, ... in order: stored by one run of a fresh kernel."""
    path, nb = notebook
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cell"
    counts = [c.get("execution_count") for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; regenerate with "
        f"`jupyter execute --inplace {path.relative_to(ROOT)}`"
    )
    assert any(c["outputs"] for c in cells), f"{path.name} stores no output at all"


def test_no_unexpected_errors_or_addresses(notebook):
    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb)):
        tags = cell.get("metadata", {}).get("tags", [])
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                assert "raises-exception" in tags, f"{path.name} code cell {i}: untagged error"
            text = json.dumps(out)
            assert not re.search(r"0x[0-9a-f]{8,}", text), f"{path.name} cell {i}: memory address"
            assert "<Figure size" not in text or "image/png" in out.get("data", {}), (
                f"{path.name} cell {i}: a figure repr without the image (MPLBACKEND set?)"
            )


def test_excluded_outputs_are_only_timings(notebook):
    """An nbval-ignore-output tag is allowed only on cells that time something."""
    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb)):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell["source"])
            assert re.search(r"tim(e|ing)|bench|perf_counter", src, re.I), (
                f"{path.name} code cell {i} skips comparison but measures no time"
            )


def test_plotting_cells_end_with_a_semicolon(notebook):
    """A cell that draws a figure ends with ``;``, so no object repr follows the picture."""
    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb)):
        if any("image/png" in out.get("data", {}) for out in cell["outputs"]):
            last = "".join(cell["source"]).rstrip().splitlines()[-1]
            assert last.endswith(";"), f"{path.name} code cell {i} draws but ends with {last!r}"


def _png_width_inches(b64: str) -> float:
    """Physical width of a stored PNG: pixels over the resolution in its pHYs chunk."""
    import base64
    import struct

    data = base64.b64decode(b64)
    width_px = struct.unpack(">I", data[16:20])[0]
    dpi = 100.0  # matplotlib's default when the file states none
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs":
            ppm_x, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and ppm_x:
                dpi = ppm_x * 0.0254
            break
        if kind == b"IDAT":
            break
        pos += 12 + length
    return width_px / dpi


def test_stored_figures_fit_the_column(notebook):
    """No stored figure is wider than the page's content column (7.5 in at 1280 px)."""
    from strided_conv.figures import COLUMN_WIDTH_IN

    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb)):
        for out in cell["outputs"]:
            png = out.get("data", {}).get("image/png")
            if png:
                width = _png_width_inches(png)
                assert width <= COLUMN_WIDTH_IN + 0.05, (
                    f"{path.name} code cell {i}: figure {width:.2f} in wide, "
                    f"column {COLUMN_WIDTH_IN} in"
                )


def test_code_and_output_lines_fit_the_page(notebook):
    """Code and text output lines are at most 80 characters: the page does not scroll."""
    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb)):
        lines = "".join(cell["source"]).splitlines()
        for out in cell["outputs"]:
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            if "image/png" not in out.get("data", {}) and "text/html" not in out.get("data", {}):
                lines += "".join(text).splitlines()
        wide = [line for line in lines if len(line) > 80]
        assert not wide, f"{path.name} code cell {i}: {len(wide)} lines over 80: {wide[0]!r}"
