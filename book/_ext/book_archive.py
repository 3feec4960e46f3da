"""Sphinx extension: one zip that runs the book's notebooks on any machine.

``jupyter-book build .`` writes ``strided-conv-book.zip`` next to the HTML
(``_build/html/``) and links it from every page's download menu and, through the
``book-archive`` role, from the landing page. The archive holds

- every notebook of ``_toc.yml``, in one folder ``notebooks/`` (as in ``book/``),
  with every ``book/*.json`` beside them, so a notebook finds its data file next
  to itself;
- the ``strided_conv`` package as a wheel built from ``src/`` (offline: pip with
  the venv's setuptools, no build isolation, no index);
- ``requirements-nodeps.txt`` (copied from the repository: PyTorch's CPU build and
  the packages installed without their dependencies) and a ``requirements.txt``
  that pins every third-party package the notebooks and the package import, at the
  version the book was built and tested with, and installs the package from the
  wheel in the archive;
- ``nbval_sanitize.cfg`` (from ``tests/``) and a short ``README.md``.

The same function, :func:`build_archive`, is what the tests call.
"""
from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ARCHIVE_STEM = "strided-conv-book"
ARCHIVE_NAME = f"{ARCHIVE_STEM}.zip"
NOTEBOOK_DIR = "notebooks"
# Fixed timestamp for every member: the archive's bytes depend on its content only.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# What a reader needs besides the imports: the notebook server with MyST rendering,
# the kernel, and the tools that re-check every stored output.
READER_TOOLS = ("jupyterlab", "jupyterlab-myst", "ipykernel", "pytest", "nbval")
# Packages of requirements-nodeps.txt whose dependencies the reader does need: they are
# repeated (same markers) in the archive's requirements.txt, which brings those
# dependencies. The others there (recbole: only a data file it ships is read) must not
# be, or pip would install their dependencies.
WITH_DEPENDENCIES = ("torch",)
_PACKAGE_MODULE = "strided_conv"


class ArchiveError(RuntimeError):
    """The archive cannot be built as promised (a missing notebook, an unpinnable import)."""


# --------------------------------------------------------------------------- contents
def toc_notebooks(root: Path, toc_path: Path | None = None) -> list[Path]:
    """Every ``.ipynb`` listed in ``_toc.yml``, in reading order.

    Parameters
    ----------
    root : Path
        The book's source directory (the repository root, where ``_toc.yml`` is).
    toc_path : Path, optional
        The table of contents; ``root / "_toc.yml"`` by default.
    """
    from sphinx_external_toc.api import FileItem, GlobItem
    from sphinx_external_toc.parsing import parse_toc_yaml

    site_map = parse_toc_yaml(toc_path or root / "_toc.yml")
    order: list[str] = []

    def walk(docname: str) -> None:
        order.append(docname)
        for tree in site_map[docname].subtrees:
            for item in tree.items:
                if isinstance(item, GlobItem):
                    raise ArchiveError(f"_toc.yml: glob entry {item!r} is not supported; list files")
                if isinstance(item, FileItem):
                    walk(str(item))

    walk(site_map.root.docname)
    # An entry may name its file with or without the suffix.
    paths = [root / (doc if doc.endswith(".ipynb") else f"{doc}.ipynb") for doc in order]
    return [p for p in paths if p.is_file()]


def data_files(root: Path) -> list[Path]:
    """The data files the notebooks read: every ``book/*.json``."""
    return sorted((root / "book").glob("*.json"))


# Cell tags with which the HTML hides a cell's input and/or output (MyST-NB), and the
# JupyterLab metadata flags that fold the same parts in Lab.
_TAG_FOLDS = {
    "remove-cell": ("source_hidden", "outputs_hidden"),
    "hide-cell": ("source_hidden", "outputs_hidden"),
    "remove-input": ("source_hidden",),
    "hide-input": ("source_hidden",),
    "remove-output": ("outputs_hidden",),
    "hide-output": ("outputs_hidden",),
}


FOLD_LABELS = {
    "solution": "# Solution code, folded: click the dots to show it.",
    "check": "# Checks of this page's numbers, hidden in the HTML book: click the dots to show.",
}


def _lines(source) -> list[str]:
    return source.splitlines(keepends=True) if isinstance(source, str) else list(source)


def fold_for_lab(nb: dict) -> bool:
    """Fold in JupyterLab what the HTML book hides; return whether anything changed.

    JupyterLab ignores MyST-NB's cell tags, so the closing ``remove-cell`` that asserts
    the solutions' numbers, and the code cells of a gated solution (``solution-start``
    .. ``solution-end``: in the HTML one closed dropdown; jupyterlab-myst closes only
    the dropdown of the opening Markdown cell), would be in plain view. JupyterLab
    folds a cell whose ``metadata.jupyter`` has ``source_hidden`` / ``outputs_hidden``
    (the reader clicks the fold to open it), so those flags are set here from the tags
    and for every code cell inside a gated solution. A folded cell still shows its
    first line, so solution and check cells get a comment line first (a comment:
    outputs, and so nbval, are unchanged).
    """
    inside, changed = False, False
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(r"\{solution-start\}", src):
            inside = True
        if cell["cell_type"] == "code":
            tags = cell.get("metadata", {}).get("tags", [])
            folds = {flag for tag in tags for flag in _TAG_FOLDS.get(tag, ())}
            if inside:
                folds |= {"source_hidden", "outputs_hidden"}
            for flag in sorted(folds):
                flags = cell.setdefault("metadata", {}).setdefault("jupyter", {})
                if flags.get(flag) is not True:
                    flags[flag] = True
                    changed = True
            # A folded cell still shows its first line: make it a label, not a solution.
            label = (FOLD_LABELS["solution"] if inside else
                     FOLD_LABELS["check"] if "remove-cell" in tags else None)
            # (Not above a cell that shows a traceback: its line numbers would shift.)
            errors = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            if label and not errors and not src.startswith(label):
                cell["source"] = [label + "\n", *_lines(cell["source"])]
                changed = True
        if cell["cell_type"] == "markdown" and re.search(r"\{solution-end\}", src):
            inside = False
    return changed


def _notebook_bytes(path: Path) -> bytes:
    nb = json.loads(path.read_text(encoding="utf-8"))
    if not fold_for_lab(nb):
        return path.read_bytes()
    # nbformat's own layout (indent 1, non-ASCII kept), so a diff shows only the flags.
    return (json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def build_wheel(root: Path, out_dir: Path) -> Path:
    """Build the package's wheel from a clean copy of ``src/`` with no network.

    The copy keeps build droppings (``build/``, ``*.egg-info``) out of the
    repository. pip runs with ``--no-build-isolation --no-index``: setuptools comes
    from the running environment (pinned in ``requirements.txt``), nothing is fetched.
    """
    with tempfile.TemporaryDirectory(prefix="strided-conv-wheel-") as tmp:
        stage = Path(tmp) / "src-copy"
        stage.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy2(root / name, stage / name)
        shutil.copytree(root / "src", stage / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        out_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--no-index", "--quiet", "--wheel-dir", str(out_dir), str(stage)],
            capture_output=True, text=True,
            env={**_clean_env(), "SOURCE_DATE_EPOCH": "315532800"},
        )
        if proc.returncode != 0:
            raise ArchiveError(f"building the wheel failed:\n{proc.stdout}\n{proc.stderr}")
    wheels = sorted(out_dir.glob("strided_conv-*.whl"))
    if len(wheels) != 1:
        raise ArchiveError(f"expected one strided_conv wheel in {out_dir}, found {wheels}")
    return wheels[0]


def _clean_env() -> dict[str, str]:
    # PYTHONPATH=src (set while developing) must not leak into the build.
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


# ----------------------------------------------------------------------- requirements
def imported_modules(root: Path, notebooks: list[Path]) -> set[str]:
    """Top-level third-party modules imported by the notebooks' code and by ``src/``."""
    from IPython.core.inputtransformer2 import TransformerManager

    sources = [p.read_text(encoding="utf-8") for p in sorted((root / "src").rglob("*.py"))]
    to_python = TransformerManager().transform_cell  # magics and shell escapes -> Python
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                sources.append(to_python("".join(cell["source"])))
    modules: set[str] = set()
    for src in sources:
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != _PACKAGE_MODULE}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project(requirement: str) -> str:
    return _norm(re.split(r"[=<>!~;\s\[@]", requirement.strip())[0])


def nodeps_names(nodeps_text: str) -> set[str]:
    """Normalized project names listed in ``requirements-nodeps.txt``."""
    names = set()
    for line in nodeps_text.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(_project(line))
    return names


def reader_requirements(root: Path, notebooks: list[Path], wheel_name: str) -> str:
    """The archive's ``requirements.txt``: exact pins plus the package's wheel.

    Every third-party module imported by a notebook or by the package is mapped to
    its distribution and pinned at the version installed here (the environment the
    book was built and tested in). Packages of ``requirements-nodeps.txt`` (PyTorch's
    CPU build) are repeated with their markers, so this file alone never resolves
    torch to a CUDA build.
    """
    nodeps_text = (root / "requirements-nodeps.txt").read_text()
    nodeps = nodeps_names(nodeps_text)
    owners = importlib.metadata.packages_distributions()
    dists: set[str] = set(READER_TOOLS)
    for module in sorted(imported_modules(root, notebooks)):
        if module not in owners:
            raise ArchiveError(
                f"module {module!r} is imported by the book but installed by no distribution "
                "here: install it and pin it in requirements.txt"
            )
        dists.update(owners[module])
    lines = [
        "# Everything the notebooks need, pinned to the versions the book was tested with.",
        "# Install requirements-nodeps.txt first (see README.md), then this file.",
    ]
    for line in nodeps_text.splitlines():
        req = line.split("#")[0].strip()
        if req and not req.startswith("-") and _project(req) in WITH_DEPENDENCIES:
            lines.append(req)
    for dist in sorted(dists, key=_norm):
        if _norm(dist) in nodeps:
            continue
        lines.append(f"{_norm(dist)}=={importlib.metadata.version(dist)}")
    lines += ["# The book's own code, from this folder.", f"./{wheel_name}"]
    return "\n".join(lines) + "\n"


README_TEMPLATE = """\
# Strided Convolution, Executably: the notebooks

This folder runs every notebook of the book on your own machine, offline once
installed: {n_notebooks} notebooks in `notebooks/` (with the data files they
read beside them), the book's `strided_conv` package as a wheel, and the exact
package versions the book was tested with. No GPU is needed.

## Install (Linux or macOS, Python 3.11)

```bash
python3.11 -m venv .venv
.venv/bin/pip install --no-deps -r requirements-nodeps.txt
.venv/bin/pip install --no-warn-conflicts -r requirements.txt
```

Run these in this folder (`requirements.txt` names the wheel by a path relative
to it). The first `pip install` takes PyTorch's CPU build (on Linux
`torch==2.13.0+cpu` from PyTorch's CPU index, on macOS PyPI's `torch`, which is
the CPU build there){nodeps_note}; the second installs everything else from PyPI
at the versions the book was tested with.

## Read and run

```bash
.venv/bin/jupyter lab notebooks/
```

Open the chapters in order; "Run > Run All Cells" re-computes every output.
Jupyter Lab renders the book's MyST markup (through jupyterlab-myst):
admonitions, equations, theorems, exercises, and solutions folded until clicked.
What only the HTML book resolves shows in Lab as its label: a number filled in
from a cell (`{{glue:text}}`) as the name of the value, a reference to another
chapter (`{{numref}}`) or a citation (`{{cite:p}}`) as its key.
If `MPLBACKEND` is set in your environment, unset it: a forced backend removes
the figures from the outputs.

Each kernel start logs `Kernel is running over TCP without encryption`: the
kernel listens on 127.0.0.1 only and checks a key that only your account can
read, so nothing leaves your machine; other accounts on it could read the
traffic. On a shared machine start Lab with `--KernelManager.transport=ipc`
(Unix sockets in your private runtime directory) and the warning is gone.

## Check that every output is reproduced

```bash
.venv/bin/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg notebooks/
```

nbval re-runs each notebook in a fresh kernel and compares every output with
the stored one (timing cells are tagged `nbval-ignore-output`).

## Contents

{contents}
"""


def _readme(notebooks: list[Path], data: list[Path], wheel: str, nodeps_text: str) -> str:
    others = sorted(nodeps_names(nodeps_text) - set(WITH_DEPENDENCIES))
    nodeps_note = (f", and {', '.join(others)} without its dependencies (only a data file it"
                   " ships is read)" if others else "")
    rows = [f"- `notebooks/{p.name}`" for p in notebooks]
    rows += [f"- `notebooks/{p.name}` (data)" for p in data]
    rows += [f"- `{wheel}`: the `strided_conv` package",
             "- `requirements-nodeps.txt`, `requirements.txt`: what to install",
             "- `nbval_sanitize.cfg`: masks memory addresses and temporary paths for nbval"]
    return README_TEMPLATE.format(n_notebooks=len(notebooks), nodeps_note=nodeps_note,
                                  contents="\n".join(rows))


def build_archive(root: Path, out_zip: Path, toc_path: Path | None = None) -> list[str]:
    """Write the archive to ``out_zip``; return its member names.

    Raises
    ------
    ArchiveError
        If the toc lists no notebook, two notebooks share a file name, the wheel does
        not build, or an imported module cannot be pinned.
    """
    root = Path(root).resolve()
    notebooks = toc_notebooks(root, toc_path)
    if not notebooks:
        raise ArchiveError("_toc.yml lists no notebook")
    data = data_files(root)
    names = [p.name for p in notebooks + data]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ArchiveError(f"two files would share one name in {NOTEBOOK_DIR}/: {dupes}")
    nodeps_text = (root / "requirements-nodeps.txt").read_text()

    with tempfile.TemporaryDirectory(prefix="strided-conv-archive-") as tmp:
        wheel = build_wheel(root, Path(tmp))
        members: dict[str, bytes] = {
            "README.md": _readme(notebooks, data, wheel.name, nodeps_text).encode(),
            "requirements-nodeps.txt": nodeps_text.encode(),
            "requirements.txt": reader_requirements(root, notebooks, wheel.name).encode(),
            "nbval_sanitize.cfg": (root / "tests" / "nbval_sanitize.cfg").read_bytes(),
            wheel.name: wheel.read_bytes(),
        }
        for nb in notebooks:
            members[f"{NOTEBOOK_DIR}/{nb.name}"] = _notebook_bytes(nb)
        for path in data:
            members[f"{NOTEBOOK_DIR}/{path.name}"] = path.read_bytes()

    out_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = out_zip.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in members.items():
            info = zipfile.ZipInfo(f"{ARCHIVE_STEM}/{name}", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, payload)
    partial.replace(out_zip)
    return [f"{ARCHIVE_STEM}/{name}" for name in members]


# ----------------------------------------------------------------------------- Sphinx
def _relative_archive_uri(docname: str) -> str:
    # Pages are written to <docname>.html, the archive to the output root.
    return "../" * docname.count("/") + ARCHIVE_NAME


def _archive_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{book-archive}`text``: a link to the archive, relative to the current page."""
    from docutils import nodes

    env = inliner.document.settings.env
    node = nodes.reference(rawtext, text, refuri=_relative_archive_uri(env.docname),
                           classes=["book-archive"])
    return [node], []


def _add_download_button(app, pagename, templatename, context, doctree):
    """Put the archive first in sphinx-book-theme's download menu of every page."""
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].insert(0, {
                "type": "link",
                "url": context["pathto"](ARCHIVE_NAME, 1),
                "text": ".zip",
                "tooltip": "Download all notebooks, the package and the data (runs offline)",
                "icon": "fas fa-file-archive",
                "label": "download-archive-button",
            })


def _write_archive(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    toc = getattr(app.config, "external_toc_path", None)
    toc_path = Path(app.srcdir) / toc if toc else None
    members = build_archive(Path(app.srcdir), Path(app.outdir) / ARCHIVE_NAME, toc_path)
    logging.getLogger(__name__).info(f"book archive: {ARCHIVE_NAME} ({len(members)} files)")


def setup(app):
    app.add_role("book-archive", _archive_role)
    # After sphinx-book-theme has built its header buttons (priority 501).
    app.connect("html-page-context", _add_download_button, priority=502)
    app.connect("build-finished", _write_archive)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
