"""Shared test setup.

MPLBACKEND is removed before any notebook kernel starts: with ``Agg`` forced
from the environment, inline figures vanish from the notebooks' outputs.
"""
import os

import pytest

os.environ.pop("MPLBACKEND", None)


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: extra threads only add hand-off overhead (and contention on shared CI cores)."""
    import torch  # here, not at the top: the notebook tests do not need torch in this process

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_terminal_summary(terminalreporter):
    """Print how many calls tests/test_fuzz.py made per public name (its ``fuzz_cases``
    user property: reports carry it back from pytest-xdist workers too)."""
    lines = sorted(
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for key, value in getattr(report, "user_properties", ())
        if key == "fuzz_cases"
    )
    if lines:
        terminalreporter.write_sep("-", f"fuzz cases per public name ({len(lines)} names)")
        for line in lines:
            terminalreporter.write_line(line)
