"""The HTML book: strict build, offline equations, no external assets, no broken links.

The book is built once per session into a temporary directory with the same
strict command the README gives (``-W -n --keep-going``: any warning fails).
Pages are then opened from ``file://`` in headless Chromium, with the network
features that would phone home switched off, and the rendered DOM is searched
for MathJax's output elements.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
# Attributes that make the browser fetch something while rendering the page.
# <a href> is navigation, not an asset: links to the papers are fine.
ASSET_ATTRS = {("script", "src"), ("img", "src"), ("link", "href"), ("iframe", "src"),
               ("source", "src"), ("video", "src"), ("audio", "src"), ("embed", "src")}


@pytest.fixture(scope="session")
def site() -> Path:
    # Not pytest's tmp_path: linkchecker, run as root, drops to user "nobody",
    # who cannot enter pytest's private (0700) temporary directories.
    out = Path(tempfile.mkdtemp(prefix="strided-conv-book-"))
    out.chmod(0o755)
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", "-W", "-n", "--keep-going", ".",
         "--path-output", str(out)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, f"strict build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").is_file()
    yield html
    shutil.rmtree(out, ignore_errors=True)


class _AssetFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (tag, name) in ASSET_ATTRS and value and re.match(r"(https?:)?//", value):
                self.external.append(f"<{tag} {name}={value}>")


def external_assets(html: str) -> list[str]:
    finder = _AssetFinder()
    finder.feed(html)
    return finder.external


def test_external_asset_detector_detects():
    assert external_assets('<script src="https://cdn.example/x.js"></script>')
    assert external_assets('<link rel="stylesheet" href="//cdn.example/x.css">')
    assert not external_assets('<a href="https://arxiv.org/abs/1603.07285">paper</a>')


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def test_no_page_loads_an_external_asset(site):
    offenders = {}
    for page in _pages(site):
        found = external_assets(page.read_text(encoding="utf-8"))
        if found:
            offenders[page.name] = found
    assert not offenders


def test_mathjax_is_served_from_the_build(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


def _rendered_dom(page: Path, profile: Path) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless Chromium is required: apt-get install chromium"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
         "--virtual-time-budget=15000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_equations_are_typeset_offline(site, tmp_path):
    math_pages = [p for p in _pages(site) if 'class="math' in p.read_text(encoding="utf-8")]
    assert any(p.name == "index.html" and p.parent.name == "book" for p in math_pages)
    for page in math_pages:
        dom = _rendered_dom(page, tmp_path / "profile")
        n_math = page.read_text(encoding="utf-8").count('class="math')
        n_typeset = dom.count("<mjx-container")
        # Every math element of the static page must have become a MathJax container.
        assert n_typeset >= n_math > 0, f"{page.name}: {n_typeset} of {n_math} equations typeset"
        assert not external_assets(dom), f"{page.name}: a script injected an external asset"


def test_internal_links_are_not_broken(site):
    proc = subprocess.run(
        [str(BIN / "linkchecker"), "--no-status", "--no-warnings",
         "--ignore-url=^https?://", "--ignore-url=^mailto:", (site / "index.html").as_uri()],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"\b0 errors found", proc.stdout), proc.stdout[-2000:]


def test_archive_is_published_and_linked(site):
    """The build writes the notebooks' archive beside the HTML (book/_ext/book_archive.py);
    the landing page links it in its text, and every page's download menu offers it."""
    import zipfile

    archive = site / "strided-conv-book.zip"
    assert zipfile.is_zipfile(archive)
    landing = site / "book" / "index.html"
    assert re.search(r'<a class="[^"]*book-archive[^"]*" href="\.\./strided-conv-book\.zip"',
                     landing.read_text(encoding="utf-8"))
    menus = 0
    for page in _pages(site):
        html = page.read_text(encoding="utf-8")
        if "download-source-button" not in html:
            continue
        menus += 1
        hrefs = [re.search(r'href="([^"]+)"', tag).group(1)
                 for tag in re.findall(r"<a\s[^>]*>", html) if "download-archive-button" in tag]
        assert hrefs and (page.parent / hrefs[0]).resolve() == archive.resolve(), page.name
    chapters = re.findall(r"file:\s*(book/\S+)\s*$", (ROOT / "_toc.yml").read_text(), re.M)
    assert menus >= len(chapters)
