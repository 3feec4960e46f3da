"""Jupyter Lab renders the book's MyST and keeps solutions hidden.

A real Jupyter Lab server (this venv, loopback only) opens one notebook prepared as
the archive prepares notebooks (``book_archive.fold_for_lab``): probe cells that use
the constructs the chapters use (admonition, theorem, exercise, a dropdown solution,
a gated solution with a code cell, a ``remove-cell`` check), followed by the first
chapter of the book. Headless Chromium renders the page; the test reads the text a
reader sees (not the hidden cell editors, not the inside of closed dropdowns).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import book_archive as ba  # noqa: E402
from test_built_site import CHROMIUM_FLAGS  # noqa: E402

SECRET = "SOLUTION-SECRET-42"
GATED = "GATED-SECRET-43"
CHECK = "CHECK-SECRET-44"


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def _code(text: str, tags=(), outputs=()) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": list(tags)},
            "outputs": list(outputs), "source": [text]}


def _probe() -> dict:
    cells = [
        _md("# Probe\n\n```{admonition} ADMONITION-TITLE\nBody with $i + 2p$.\n```\n\n"
            "```{prf:theorem} Output size\n:label: thm-probe\n\nFor every $i \\ge k$.\n```\n\n"
            "```{exercise}\n:label: ex-probe-1\n\nEXERCISE-BODY\n```\n\n"
            f"```{{solution}} ex-probe-1\n:class: dropdown\n\n{SECRET}\n```"),
        _md("```{solution-start} ex-probe-1\n:class: dropdown\n```\n\nGated solution text."),
        _code(f"print('{GATED}')"),
        _md("```{solution-end}\n```"),
        _code(f"assert '{CHECK}'", tags=["remove-cell"]),
    ]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _VisibleText(HTMLParser):
    """Text a reader sees: skips hidden widgets (the cell editors behind rendered
    Markdown, folded inputs), styles and scripts, and closed <details> but their <summary>."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        hidden = (self._hidden() or tag in ("style", "script")
                  or "lm-mod-hidden" in (a.get("class") or "").split())
        if self.stack and self.stack[-1][0] == "details-closed" and tag != "summary":
            hidden = True
        if tag == "details" and "open" not in a:
            self.stack.append(("details-closed", hidden))
            return
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        want = "details-closed" if tag == "details" else tag
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] in (tag, want):
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self._hidden():
            self.parts.append(data)


def visible_text(dom: str) -> str:
    parser = _VisibleText()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())


def test_visible_text_skips_hidden_parts():
    dom = ('<div class="lm-mod-hidden">EDITOR</div><p>SHOWN</p>'
           '<details><summary>Solution</summary><p>INSIDE</p></details>'
           '<details open><summary>S2</summary><p>OPENED</p></details><br><p>AFTER</p>')
    text = visible_text(dom)
    assert "EDITOR" not in text and "INSIDE" not in text
    assert all(w in text for w in ("SHOWN", "Solution", "S2", "OPENED", "AFTER"))


@pytest.fixture(scope="module")
def lab_dom(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("lab")
    nb = _probe()
    first = ba.toc_notebooks(ROOT)[0]
    nb["cells"] += json.loads(first.read_text())["cells"]
    ba.fold_for_lab(nb)
    (root / "probe.ipynb").write_text(json.dumps(nb))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, "jupyter lab exited"
                time.sleep(0.5)
        yield _dom(f"{base}/lab/tree/probe.ipynb?token={token}", root / "profile")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _dom(url: str, profile: Path) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless Chromium is required: apt-get install -y chromium"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1300,3000",
         "--virtual-time-budget=30000", "--dump-dom", url],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_jupyterlab_myst_is_installed_for_lab():
    """The pinned jupyterlab-myst, as a prebuilt extension Lab loads from the venv."""
    import importlib.metadata

    pin = re.search(r"^jupyterlab-myst==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin and importlib.metadata.version("jupyterlab-myst") == pin.group(1)
    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-myst"
    assert json.loads((ext / "package.json").read_text())["version"] == pin.group(1)


def test_lab_renders_myst(lab_dom):
    text = visible_text(lab_dom)
    assert "ADMONITION-TITLE" in text and "{admonition}" not in text
    assert "Theorem 1" in text and "Exercise 1" in text and "{prf:theorem}" not in text
    assert "{exercise}" not in text and "{solution" not in text


def test_lab_keeps_solutions_and_checks_hidden(lab_dom):
    text = visible_text(lab_dom)
    # The dropdown solution is in the page, inside a closed <details>.
    assert SECRET in lab_dom and SECRET not in text
    assert "Solution to" in text
    # Folded code cells show their label line, not the solution or the check.
    assert GATED not in text and CHECK not in text
    assert ba.FOLD_LABELS["solution"] in text and ba.FOLD_LABELS["check"] in text


def test_lab_renders_the_first_chapter_without_raw_directives(lab_dom):
    text = visible_text(lab_dom)
    first = ba.toc_notebooks(ROOT)[0]
    md = "".join("".join(c["source"]) for c in json.loads(first.read_text())["cells"]
                 if c["cell_type"] == "markdown")
    assert "```{" in md  # the chapter does use directives
    assert "```{" not in text
    heading = next(ln for ln in md.splitlines() if ln.startswith("# "))[2:].strip()
    assert heading in text
