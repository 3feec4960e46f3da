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


# --- The apparatus of a book: numbered figures, exercises with closed solutions, no
# --- sideways scrolling, an API reference for every public name.

def _soup(page: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def _chapter_pages(site: Path) -> list[Path]:
    """Pages made from notebooks: they have cell outputs."""
    return [p for p in _pages(site) if 'class="cell_output' in p.read_text(encoding="utf-8")]


def test_every_figure_is_numbered_and_captioned(site):
    pages = _chapter_pages(site)
    assert pages, "no notebook page in the build"
    bare = []
    for page in pages:
        main = _soup(page).find("main") or _soup(page)
        for img in main.find_all("img"):
            fig = img.find_parent("figure")
            number = fig.find(class_="caption-number") if fig else None
            text = fig.find("figcaption").get_text(" ", strip=True) if fig else ""
            if number is None or len(text) <= len(number.get_text(strip=True)) + 10:
                bare.append(f"{page.name}: {img.get('src', '')[-20:]}")
    assert not bare, "figures without a numbered caption: " + ", ".join(bare)


def test_every_exercise_has_a_solution_closed_by_default(site):
    n_exercises = 0
    for page in _chapter_pages(site):
        soup = _soup(page)
        exercises = [d for d in soup.find_all("div") if "exercise" in d.get("class", [])]
        solutions = [d for d in soup.find_all("div") if "solution" in d.get("class", [])]
        n_exercises += len(exercises)
        solved = set()
        for sol in solutions:
            classes = sol.get("class", [])
            assert "dropdown" in classes and "toggle-shown" not in classes, (
                f"{page.name}: a solution is open by default ({' '.join(classes)})"
            )
            for a in sol.find_all("a", href=True):
                solved.add(a["href"].split("#")[-1])
        for ex in exercises:
            assert ex.get("id") in solved, f"{page.name}: exercise {ex.get('id')} has no solution"
    assert n_exercises > 0, "the book has no {exercise} blocks"


def test_reference_documents_every_public_name(site):
    import strided_conv

    html = (site / "book" / "reference.html").read_text(encoding="utf-8")
    missing = [n for n in strided_conv.__all__ if f'id="strided_conv.{n}"' not in html]
    assert not missing, f"the API reference lacks {missing}"
    soup = _soup(site / "book" / "reference.html")
    unlinked = []
    for name in strided_conv.__all__:
        entry = soup.find(id=f"strided_conv.{name}").find_parent("dl")
        body = entry.find("dd", recursive=False)
        link = next((a for a in body.find_all("a", href=True, recursive=True)
                     if a.find_parent("p") is not None and "#ch-" in a["href"]
                     and "Explained in" in a.find_parent("p").get_text()),
                    None) if body else None
        if link is None:
            unlinked.append(name)
    assert not unlinked, f"entries that do not link to the chapter explaining them: {unlinked}"


_OVERFLOW_SCRIPT = """
<script>
window.addEventListener('load', () => {
  const out = [];
  for (const pre of document.querySelectorAll('main pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      out.push((pre.textContent.trim().split('\\n')[0] || '').slice(0, 100));
    }
  }
  const el = document.createElement('div');
  el.id = 'overflow-report';
  el.textContent = JSON.stringify(out);
  document.body.appendChild(el);
});
</script>
"""


def test_no_code_or_output_block_scrolls_sideways(site, tmp_path):
    """At a 1280 px window every code and output block fits its column.

    A copy of each page with a small measuring script is opened in headless
    Chromium; the script lists every ``<pre>`` whose content is wider than its box.
    """
    import json

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless Chromium is required: apt-get install chromium"
    offenders = {}
    for page in _chapter_pages(site):
        probe = page.with_name(page.stem + ".overflow-probe.html")
        probe.write_text(page.read_text(encoding="utf-8").replace(
            "</body>", _OVERFLOW_SCRIPT + "</body>"), encoding="utf-8")
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
             "--window-size=1280,1000", "--virtual-time-budget=10000", "--dump-dom",
             probe.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
        probe.unlink()
        found = re.search(r'<div id="overflow-report">(.*?)</div>', proc.stdout, re.S)
        assert found, f"{page.name}: the measuring script did not run"
        wide = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")
                          .replace("&lt;", "<").replace("&gt;", ">"))
        if wide:
            offenders[page.name] = wide
    assert not offenders, "blocks wider than the column (page: first lines): " + str(offenders)
def test_chapter_1_animations_are_embedded_and_self_contained(site):
    """Chapter 1 opens with two sliding-window animations that play offline.

    Each is a numbered figure holding matplotlib's JavaScript player with every
    frame embedded as a PNG data URI; nothing on the page comes from the network
    (matplotlib's own template would link Font Awesome from a CDN).
    """
    html = (site / "book" / "output_size.html").read_text(encoding="utf-8")
    assert not external_assets(html)
    assert "maxcdn" not in html and "bootstrapcdn" not in html
    scripts = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html)
    assert scripts and not [s for s in scripts if re.match(r"(https?:)?//", s)]
    for anim_id, fig_name in (("windows_1d", "fig-output-size-animation-1d"),
                              ("windows_2d", "fig-output-size-animation-2d")):
        figure = re.search(rf'<figure[^>]*id="{fig_name}".*?</figure>', html, re.S)
        assert figure, f"{fig_name} is not a figure"
        body = figure.group(0)
        assert re.search(r'<span class="caption-number">Fig\. 1\.\d+ </span>', body)
        assert re.search(rf'<img id="_anim_img{anim_id}"\s*/?>', body)
        for control in ("play_animation", "pause_animation", "next_frame", "previous_frame"):
            assert f"anim{anim_id}.{control}()" in body
        player = re.search(rf'var img_id = "_anim_img{anim_id}";(.*?)setTimeout', body, re.S)
        assert player, f"{anim_id}: no player script"
        frames = re.findall(r'frames\[(\d+)\] = "data:image/png;base64,', player.group(1))
        assert len(frames) >= 2 and [int(f) for f in frames] == list(range(len(frames)))
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
