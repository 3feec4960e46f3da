"""The book's download: one zip that runs the notebooks away from the repository.

The archive is built by the same function the book build calls
(``book/_ext/book_archive.py``), unpacked into a temporary directory outside the
repository, and its package is installed from the archive's own ``requirements.txt``
line into a fresh virtual environment that cannot import ``src/``: the venv reaches
the shared environment's third-party packages through a ``.pth`` path entry, which
adds their directory but does not run the ``.pth`` files inside it, so the editable
install that maps ``strided_conv`` to ``src/`` is not active. nbval then re-runs
notebooks from the unpacked folder (see ``_nbval_selection`` for which).
"""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import site
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import book_archive as ba  # noqa: E402

TOP = ba.ARCHIVE_STEM
DATA_SUFFIXES = (".json", ".csv", ".npz", ".npy", ".txt", ".inter")


def _env() -> dict[str, str]:
    # PYTHONPATH=src (a developer's shell) would make src/ importable again; a forced
    # matplotlib backend drops the figures from the outputs (tests/conftest.py).
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / ba.ARCHIVE_NAME
    ba.build_archive(ROOT, out)
    return out


@pytest.fixture(scope="module")
def members(archive) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture(scope="module")
def unpacked(archive, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("reader")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    folder = dest / TOP
    assert ROOT not in folder.parents
    return folder


def _code(nb_bytes: bytes) -> list[str]:
    nb = json.loads(nb_bytes)
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


# ------------------------------------------------------------------ what is inside
def test_notebooks_come_from_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    listed = [ROOT / f"{doc}.ipynb" for doc in re.findall(r"file:\s*(\S+)\s*$", toc, re.M)]
    assert ba.toc_notebooks(ROOT) == [p for p in listed if p.is_file()]


def test_a_shorter_toc_gives_fewer_notebooks(tmp_path):
    first = ba.toc_notebooks(ROOT)[0]
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/index\nchapters:\n"
        f"  - file: {first.relative_to(ROOT).with_suffix('').as_posix()}\n"
    )
    assert ba.toc_notebooks(ROOT, toc) == [first]


def test_archive_holds_every_notebook_data_file_and_the_wheel(members):
    names = set(members)
    for nb in ba.toc_notebooks(ROOT):
        assert f"{TOP}/{ba.NOTEBOOK_DIR}/{nb.name}" in names
    for data in sorted((ROOT / "book").glob("*.json")):
        assert members[f"{TOP}/{ba.NOTEBOOK_DIR}/{data.name}"] == data.read_bytes()
    for name in ("README.md", "requirements.txt", "requirements-nodeps.txt", "nbval_sanitize.cfg"):
        assert f"{TOP}/{name}" in names
    assert [n for n in names if re.fullmatch(rf"{TOP}/strided_conv-[^/]+\.whl", n)]


def test_every_data_file_a_notebook_names_is_beside_it(members):
    """A string literal in a notebook naming a file of book/ must be in notebooks/."""
    book_files = {p.name for p in (ROOT / "book").iterdir() if p.is_file()}
    missing = []
    for name, payload in members.items():
        if not name.endswith(".ipynb"):
            continue
        for src in _code(payload):
            for lit in re.findall(r"""["']([\w./-]+)["']""", src):
                base = Path(lit).name
                if base.endswith(DATA_SUFFIXES) and base in book_files:
                    if f"{TOP}/{ba.NOTEBOOK_DIR}/{base}" not in members:
                        missing.append((name, lit))
    assert not missing


def test_notebooks_are_the_books_own(members):
    """Same cells and outputs; only the Lab folding flags (``fold_for_lab``) may differ."""
    for nb_path in ba.toc_notebooks(ROOT):
        ours = json.loads(nb_path.read_text())
        theirs = json.loads(members[f"{TOP}/{ba.NOTEBOOK_DIR}/{nb_path.name}"])
        for cell in theirs["cells"]:
            cell.get("metadata", {}).pop("jupyter", None)
            if cell["source"] and cell["source"][0].rstrip("\n") in ba.FOLD_LABELS.values():
                cell["source"] = cell["source"][1:]
        for cell in ours["cells"]:
            cell.get("metadata", {}).pop("jupyter", None)
        assert theirs == ours, nb_path.name


def test_what_the_html_hides_is_folded_in_lab():
    nb = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "source": ["import os"]},
        {"cell_type": "markdown", "source": ["```{solution-start} ex-x-1\n:class: dropdown\n```"]},
        {"cell_type": "code", "metadata": {}, "source": ["print(3)"]},
        {"cell_type": "markdown", "source": ["```{solution-end}\n```"]},
        {"cell_type": "code", "metadata": {}, "source": ["print(4)"]},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": ["assert 3"]},
    ]}
    assert ba.fold_for_lab(nb)
    both = {"source_hidden": True, "outputs_hidden": True}
    assert nb["cells"][0]["metadata"]["jupyter"] == {"source_hidden": True}
    assert nb["cells"][2]["metadata"]["jupyter"] == both
    assert "jupyter" not in nb["cells"][4]["metadata"]
    assert nb["cells"][5]["metadata"]["jupyter"] == both
    # Folded cells show their first line: a label, not the solution or the check.
    assert nb["cells"][2]["source"] == [ba.FOLD_LABELS["solution"] + "\n", "print(3)"]
    assert nb["cells"][5]["source"][0] == ba.FOLD_LABELS["check"] + "\n"
    assert nb["cells"][0]["source"] == ["import os"]
    assert not ba.fold_for_lab(nb)  # idempotent


def test_no_movielens_data_in_the_archive(members):
    """MovieLens' licence forbids redistribution: the reader installs it (recbole) instead."""
    assert not [n for n in members if re.search(r"ml-\d|movielens|\.inter$", n, re.I)]
    for name, payload in members.items():
        if name.endswith(".whl"):
            with zipfile.ZipFile(__import__("io").BytesIO(payload)) as whl:
                assert not [n for n in whl.namelist() if re.search(r"ml-\d|\.inter$", n)]


def _requirement_lines(text: str) -> list[str]:
    return [ln.split(" #")[0].strip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def test_reader_requirements_are_pinned_and_name_the_wheel(members):
    lines = _requirement_lines(members[f"{TOP}/requirements.txt"].decode())
    wheel_lines = [ln for ln in lines if ln.endswith(".whl")]
    assert len(wheel_lines) == 1 and f"{TOP}/{wheel_lines[0][2:]}" in members
    for ln in lines:
        assert ln in wheel_lines or re.fullmatch(r"[A-Za-z0-9_.-]+==\S+( ; .+)?", ln), ln
    nodeps = members[f"{TOP}/requirements-nodeps.txt"].decode()
    assert nodeps == (ROOT / "requirements-nodeps.txt").read_text()
    torch_lines = [ln for ln in _requirement_lines(nodeps) if ln.startswith("torch")]
    assert torch_lines and all(ln in lines for ln in torch_lines)
    names = {re.split(r"[=<>; ]", ln)[0] for ln in lines}
    assert set(ba.READER_TOOLS) <= names
    # Data-only packages come from requirements-nodeps.txt alone: listed here, pip
    # would install their dependencies (recbole: ray, tensorboard, ...).
    assert not (ba.nodeps_names(nodeps) - set(ba.WITH_DEPENDENCIES)) & names


def test_an_unpinnable_import_fails_the_build(tmp_path, monkeypatch):
    monkeypatch.setattr(ba, "imported_modules", lambda root, nbs: {"no_such_module_xyz"})
    with pytest.raises(ba.ArchiveError, match="no_such_module_xyz"):
        ba.reader_requirements(ROOT, [], "x.whl")


def test_wheel_declares_what_the_package_imports(members):
    """``pip install`` of the wheel alone must bring every third-party import of src/."""
    import importlib.metadata
    import io

    wheel = next(p for n, p in members.items() if n.endswith(".whl"))
    with zipfile.ZipFile(io.BytesIO(wheel)) as whl:
        meta_name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(whl.read(meta_name).decode())
        packaged = {n for n in whl.namelist() if n.endswith(".py")}
    sources = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("*.py")}
    assert sources <= packaged
    declared = {ba._norm(re.split(r"[=<>!~;\s\[(]", r)[0]) for r in meta.get_all("Requires-Dist")}
    owners = importlib.metadata.packages_distributions()
    modules = ba.imported_modules(ROOT, [])
    needed = {ba._norm(d) for m in modules for d in owners[m]}
    assert needed <= declared, sorted(needed - declared)


# --------------------------------------------------------- the reader's environment
@pytest.fixture(scope="module")
def reader_python(unpacked, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)],
                   check=True, env=_env())
    py = venv / "bin" / "python"
    venv_site = Path(subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    # Directory entries only: the .pth files inside (the editable src/ mapping) do not run.
    (venv_site / "shared-venv.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    req = (unpacked / "requirements.txt").read_text()
    wheel_line = next(ln for ln in _requirement_lines(req) if ln.endswith(".whl"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(venv_site), wheel_line],
        cwd=unpacked, capture_output=True, text=True, env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    return py


def test_reader_venv_imports_the_wheel_not_src(reader_python, unpacked):
    probe = ("import json, sys, strided_conv; "
             "print(json.dumps([strided_conv.__file__, sys.path]))")
    out = subprocess.run([str(reader_python), "-c", probe], cwd=unpacked, check=True,
                         capture_output=True, text=True, env=_env()).stdout
    file, path = json.loads(out)
    assert Path(file).is_relative_to(reader_python.parent.parent), file
    assert not [p for p in path if p.rstrip("/").endswith("/src")], path


def _check_command(unpacked: Path) -> list[str]:
    """The archive README's nbval command, as a reader would run it."""
    readme = (unpacked / "README.md").read_text()
    cmd = next(ln for ln in re.findall(r"```bash\n(.+?)\n```", readme, re.S)
               if "--nbval" in ln)
    argv = shlex.split(cmd)
    assert argv[:3] == [".venv/bin/python", "-m", "pytest"] and argv[-1] == "notebooks/"
    return argv[1:-1]


def _nbval_selection(unpacked: Path) -> list[Path]:
    """Which notebooks nbval re-runs from the archive in the normal suite.

    All of them if ``BOOK_ARCHIVE_ALL=1`` (about two minutes more on 2 cores, beyond
    the suite's own nbval run of the same notebooks from book/). Otherwise the ones
    the archive's layout can break beyond an import: every notebook that reads a
    data file shipped beside it, plus the first notebook of the toc. Every other
    notebook gets its import cells run (``test_every_notebook_imports_in_the_reader_venv``).
    """
    notebooks = [unpacked / ba.NOTEBOOK_DIR / p.name for p in ba.toc_notebooks(ROOT)]
    if os.environ.get("BOOK_ARCHIVE_ALL") == "1":
        return notebooks
    # From the repository, not the archive: a file missing from the archive must not
    # drop its reader from the selection.
    data = {p.name for p in (ROOT / "book").glob("*.json")}
    chosen = [notebooks[0]]
    for nb in notebooks[1:]:
        if any(name in src for src in _code(nb.read_bytes()) for name in data):
            chosen.append(nb)
    return chosen


def test_nbval_selection_includes_the_data_readers(unpacked):
    chosen = {p.name for p in _nbval_selection(unpacked)}
    for nb in (unpacked / ba.NOTEBOOK_DIR).glob("*.ipynb"):
        if any("bench_results.json" in src for src in _code(nb.read_bytes())):
            assert nb.name in chosen


def test_notebooks_reproduce_their_outputs_from_the_archive(reader_python, unpacked):
    chosen = _nbval_selection(unpacked)
    argv = [str(reader_python), *_check_command(unpacked), "-p", "no:randomly",
            "-p", "no:cacheprovider", *(str(p.relative_to(unpacked)) for p in chosen)]
    proc = subprocess.run(argv, cwd=unpacked, capture_output=True, text=True, env=_env(),
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert re.search(r"\b\d+ passed", proc.stdout) and " failed" not in proc.stdout


def test_every_notebook_imports_in_the_reader_venv(reader_python, unpacked):
    """Each notebook's import statements, run in the reader's venv from notebooks/."""
    statements = []
    for nb in sorted((unpacked / ba.NOTEBOOK_DIR).glob("*.ipynb")):
        for src in _code(nb.read_bytes()):
            from IPython.core.inputtransformer2 import TransformerManager

            tree = ast.parse(TransformerManager().transform_cell(src))
            statements += [ast.unparse(n) for n in tree.body
                           if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert statements
    proc = subprocess.run([str(reader_python), "-c", "\n".join(dict.fromkeys(statements))],
                          cwd=unpacked / ba.NOTEBOOK_DIR, capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
