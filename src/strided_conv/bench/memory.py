"""Peak extra memory of one call, measured with :mod:`tracemalloc`.

NumPy reports every array buffer it allocates to ``tracemalloc``, so the peak
traced memory during a call, minus what was traced just before it, is the
largest amount of *new* memory the call held at any moment: temporaries (the
padded input, the col buffer, a transposed copy of it, the GEMM result) plus
whatever it keeps (the cached col for backward, the output).

PyTorch's CPU allocator does not report to ``tracemalloc``, and the process's
resident size is no substitute (the C allocator keeps freed pages, so it shows
the largest footprint ever, not this call's), so the torch rows are recorded as
*not measured*.
"""
from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["peak_extra_bytes", "peak_repeated_call_bytes", "TORCH_MEMORY_NOTE"]

TORCH_MEMORY_NOTE = (
    "not measured: PyTorch's CPU allocator is invisible to tracemalloc, and the "
    "resident set size keeps freed pages, so it cannot isolate one call"
)


@contextmanager
def _tracing() -> Iterator[None]:
    """Trace allocations inside the block; leave tracing as it was found."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        yield
    finally:
        if not was_tracing:
            tracemalloc.stop()


def peak_extra_bytes(fn: Callable[[], object]) -> int:
    """Bytes of the highest traced memory during ``fn()`` above the level before it.

    The result of ``fn`` is kept alive until the peak is read, so the output
    counts as part of the call's memory, as it does in a network. Memory
    allocated before the call (inputs, a previous call's cache) is not traced,
    so freeing it during the call does not hide the call's own allocations.
    """
    with _tracing():
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    return max(0, peak - before)


def peak_repeated_call_bytes(fn: Callable[[], object]) -> int:
    """Peak traced memory during a *second* call of ``fn``, above the level before the first.

    This is what a training loop sees: whatever the first call left behind
    (a layer's cached col matrix) is still alive while the second call builds
    its own. A layer that replaces its cache only after building the new one
    holds two col buffers at that moment; one that releases or reuses it, one.
    """
    with _tracing():
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        del result
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    return max(0, peak - before)
