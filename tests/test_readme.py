"""The README's two commands are the ones CI runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command(heading_word: str) -> str:
    readme = (ROOT / "README.md").read_text()
    m = re.search(rf"{heading_word}.*?```(?:bash|sh)\n(.+?)\n```", readme, re.S | re.I)
    assert m, f"README has no code block after a line mentioning {heading_word!r}"
    return m.group(1).strip()


def test_ci_runs_the_readme_test_command():
    test_cmd = _command("Run all tests")
    assert "\n" not in test_cmd, "the test command must be one line"
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_build_command_is_one_line_and_strict():
    build_cmd = _command("Set up and build")
    assert "\n" not in build_cmd
    assert "pip install -r requirements.txt" in build_cmd
    assert "jupyter-book build -W -n --keep-going ." in build_cmd
