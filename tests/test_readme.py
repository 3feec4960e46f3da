"""The README's commands are the ones CI runs, and they work on an ordinary machine.

- The set-up command installs PyTorch's CPU build: ``requirements-nodeps.txt`` (with
  ``--no-deps``, first) holds PyTorch's CPU index and the ``+cpu`` pin for Linux;
  ``requirements.txt`` repeats the pin but names no extra index, so pip asks PyTorch's
  index about torch only, not about every package.
- The test command's prerequisite (Chromium) is complete and copy-pasteable.
- The publishing workflow runs ``.ci/run`` and the README's publish command, and
  actionlint passes on it.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _section(heading: str) -> str:
    m = re.search(rf"^## {heading}.*?$(.*?)(?=^## |\Z)", README, re.S | re.M | re.I)
    assert m, f"README has no section '## {heading}'"
    return m.group(1)


def _command(heading: str) -> str:
    m = re.search(r"```(?:bash|sh)\n(.+?)\n```", _section(heading), re.S)
    assert m, f"README section {heading!r} has no bash block"
    return m.group(1).strip()


def _requirements(path: Path) -> list[Requirement]:
    reqs = []
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            reqs.append(Requirement(line))
    return reqs


def _torch_pins(path: Path) -> dict[str, str]:
    """The torch requirement each platform gets from ``path``: {sys_platform: specifier}."""
    pins = {}
    for platform in ("linux", "darwin"):
        env = {**default_environment(), "sys_platform": platform}
        chosen = [str(r.specifier) for r in _requirements(path)
                  if r.name == "torch" and (r.marker is None or r.marker.evaluate(env))]
        assert len(chosen) == 1, f"{path.name}: {platform} gets torch {chosen}"
        pins[platform] = chosen[0]
    return pins


# ------------------------------------------------------------------ set-up and build
def test_setup_command_is_one_line_and_strict():
    cmd = _command("Set up and build")
    assert "\n" not in cmd
    assert "jupyter-book build -W -n --keep-going ." in cmd


def test_setup_installs_the_cpu_build_first_then_the_rest():
    parts = [p.strip() for p in _command("Set up and build").split("&&")]
    nodeps = ".venv/bin/pip install --no-deps -r requirements-nodeps.txt"
    rest = ".venv/bin/pip install --no-warn-conflicts -r requirements.txt"
    assert nodeps in parts and rest in parts and parts.index(nodeps) < parts.index(rest)


def test_ci_installs_with_the_readme_commands():
    for part in _command("Set up and build").split("&&"):
        if "pip install" in part:
            assert part.strip() in CI, part


def test_cpu_wheel_mechanism():
    nodeps, reqs = ROOT / "requirements-nodeps.txt", ROOT / "requirements.txt"
    # PyTorch's CPU index is named only where torch is installed, with --no-deps.
    assert f"--extra-index-url {CPU_INDEX}" in nodeps.read_text().splitlines()
    assert not re.search(r"^\s*(--extra-index-url|--index-url|-i)\b", reqs.read_text(), re.M)
    pins = _torch_pins(nodeps)
    assert pins == _torch_pins(reqs)
    linux, mac = Version(pins["linux"].lstrip("=")), Version(pins["darwin"].lstrip("="))
    assert linux.local == "cpu" and mac.local is None and linux.public == mac.public


def test_this_venv_has_the_cpu_build():
    import torch

    assert torch.version.cuda is None
    if sys.platform == "linux":
        assert torch.__version__ == _torch_pins(ROOT / "requirements.txt")["linux"].lstrip("=")


def test_the_local_wheel_matches_the_linux_pin():
    """Where PyTorch's index is unreachable, the wheel in PIP_FIND_LINKS is what pip takes."""
    folders = os.environ.get("PIP_FIND_LINKS", "").split()
    if not folders:
        pytest.skip("no PIP_FIND_LINKS here: pip takes torch from PyTorch's CPU index")
    wanted = Version(_torch_pins(ROOT / "requirements-nodeps.txt")["linux"].lstrip("="))
    found = [parse_wheel_filename(p.name)[1] for f in folders for p in Path(f).glob("torch-*.whl")]
    assert wanted in found, found


# ------------------------------------------------------------------------- tests
def test_ci_runs_the_readme_test_command():
    test_cmd = _command("Run all tests")
    assert "\n" not in test_cmd, "the test command must be one line"
    assert test_cmd in CI


def test_chromium_line_is_complete_and_needs_root():
    section = _section("Requirements")
    assert _command("Requirements") == "apt-get update && apt-get install -y chromium"
    assert re.search(r"\bas root\b", section) and "sudo" in section
    # .ci/run installs it the same way on a fresh machine.
    assert re.search(r"apt-get update", CI) and re.search(r"apt-get install -y .*chromium", CI)


def test_every_command_says_how_long_it_takes():
    for heading in ("Requirements", "Set up and build", "Run all tests", "After editing"):
        assert re.search(r"\d+ (s|min)\b", _section(heading)), heading


# ----------------------------------------------------------------------- publish
def test_publish_command_builds_html_and_archive():
    cmd = _command("Publish")
    assert "\n" not in cmd
    assert re.search(r"jupyter-book build( --all)? -W -n --keep-going \.$", cmd)
    assert "strided-conv-book.zip" in _section("Publish")


def test_workflow_runs_ci_builds_as_published_and_deploys():
    assert WORKFLOWS
    wf = yaml.safe_load(WORKFLOWS[0].read_text())
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    runs = [s.get("run", "") for s in build["steps"]]
    assert "bash .ci/run" in runs
    assert _command("Publish") in runs
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    assert any("deploy-pages" in s.get("uses", "") for s in deploy["steps"])
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def _actionlint(*paths: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "actionlint"
    return subprocess.run([str(exe), "-no-color", *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_actionlint_passes_on_the_workflows():
    proc = _actionlint(*WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_can_fail(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("github.ref ==", "github.nosuchthing =="))
    proc = _actionlint(broken)
    assert proc.returncode != 0 and "nosuchthing" in proc.stdout


def test_readme_lab_command_and_archive_commands_are_runnable():
    """The archive README's commands name files that the archive holds."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import book_archive as ba

    readme = ba._readme([Path("a.ipynb")], [], "w.whl", (ROOT / "requirements-nodeps.txt").read_text())
    blocks = re.findall(r"```bash\n(.+?)\n```", readme, re.S)
    install = blocks[0].splitlines()
    assert install[1:] == [".venv/bin/pip install --no-deps -r requirements-nodeps.txt",
                           ".venv/bin/pip install --no-warn-conflicts -r requirements.txt"]
    assert shlex.split(blocks[1])[-1] == f"{ba.NOTEBOOK_DIR}/"


def test_recommender_run_description_matches_the_committed_file():
    import json

    results = json.loads((ROOT / "book" / "rec_results.json").read_text())
    words = {16: "sixteen", 20: "twenty", 24: "twenty-four"}
    text = " ".join(_section("Re-run the recommender").split())
    assert f"made in {words[len(results['parts'])]} parts" in text
    hours = results["process_seconds"] / 3600
    assert f"about {hours:.1f} hours in all" in text
    for run in results["runs"]:  # every run the file holds, the commands make
        m = re.search(rf"--max-len {run['max_len']} --seeds ([\d ]+)\$FLAGS", text)
        assert m and str(run["seed"]) in m.group(1).split(), run["max_len"]
