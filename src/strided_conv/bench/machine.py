"""What the numbers were measured on: CPU, library versions, BLAS kernels, threads.

A timing without its machine is not reproducible: OpenBLAS picks its kernels by
CPU (``architecture`` in :func:`threadpoolctl.threadpool_info`, which the
environment variable ``OPENBLAS_CORETYPE`` can override), and every BLAS and
OpenMP pool has its own thread count. All of it is recorded with the results.
"""
from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import threadpoolctl
import torch

__all__ = ["cpu_model", "machine_info", "load_average", "torch_conv_kernels"]


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first ``model name`` line of ``/proc/cpuinfo``, else :func:`platform.processor`."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _pool(info: dict[str, Any]) -> dict[str, Any]:
    """The fields of one threadpoolctl entry that matter for a timing (no file paths)."""
    keys = ("user_api", "internal_api", "prefix", "version", "num_threads",
            "threading_layer", "architecture")
    return {k: info.get(k) for k in keys}


def machine_info() -> dict[str, Any]:
    """CPU, cores, versions, BLAS/OpenMP pools and torch threads, as JSON-ready values.

    Call it *inside* the thread limits of the run, so the recorded thread
    counts are the ones the timings used.
    """
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "threadpools": [_pool(p) for p in threadpoolctl.threadpool_info()],
        "torch_num_threads": torch.get_num_threads(),
        "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "torch_mkldnn": bool(torch.backends.mkldnn.is_available()),
        "executable": Path(sys.executable).name,
    }


@contextlib.contextmanager
def _quiet_stderr_fd() -> Iterator[None]:
    """Silence file descriptor 2 (the profiler's C++ side prints start/stop lines there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def torch_conv_kernels(dtype: str) -> list[str]:
    """The ATen operators one small ``conv2d`` forward+backward runs in ``dtype``.

    Shows which kernel family PyTorch picked on this machine, e.g.
    ``aten::mkldnn_convolution`` (oneDNN, direct convolution) for float32 and
    ``aten::_slow_conv2d_forward`` (im2col + GEMM) for float64.
    """
    dt = getattr(torch, dtype)
    x = torch.randn(2, 4, 8, 8, dtype=dt, requires_grad=True)
    w = torch.randn(4, 4, 3, 3, dtype=dt, requires_grad=True)
    with _quiet_stderr_fd(), torch.autograd.profiler.profile() as prof:
        torch.nn.functional.conv2d(x, w, padding=1).sum().backward()
    return sorted({e.name for e in prof.function_events if "conv" in e.name})
