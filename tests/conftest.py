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
