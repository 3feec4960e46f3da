"""The original DownConv, run for real, against the arithmetic that reproduces it."""
from __future__ import annotations

import numpy as np
import pytest

from strided_conv.original.downconv import OUTCOMES, DownConv, original_sizes, run_original


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_defaults_give_four_segments_and_print_nothing():
    run = run_original()
    assert (run.n_segments, run.printed, run.outcome) == (4, "", "ok")
    assert [tuple(np.flatnonzero(r)[[0, -1]]) for r in run.depends] == \
           [(0, 49), (50, 99), (100, 149), (150, 199)]
    assert sum(p.numel() for p in DownConv().parameters()) == 3908


def test_m_plus_one_segments_are_only_printed():
    run = run_original(200, 25, 10)  # L1 = 20 < m: k2 = 1, padding 3
    assert run.n_segments == 26
    assert run.printed == "size_erroe, x2a.size_26 do not equals to m_segments_25\n"
    assert original_sizes(200, 25, 10).n_segments == 26


def test_a_segment_of_pure_padding():
    sizes = original_sizes(200, 12, 10)
    assert (sizes.k2, sizes.padding, sizes.pure_padding_segments) == (2, 2, (0, 11))
    run = run_original(200, 12, 10)
    assert run.outcome == "pure padding"
    assert not run.depends[0].any() and not run.depends[11].any() and run.depends[1:11].any(axis=1).all()


def test_a_silently_dropped_tail():
    sizes = original_sizes(200, 3, 30)
    assert (sizes.first_conv_length, sizes.dropped_items, sizes.outcome) == (6, 20, "dropped tail")
    run = run_original(200, 3, 30)
    assert run.printed == "" and not run.depends[:, 180:].any()


def test_k1_longer_than_the_sequence_fails_in_forward():
    assert original_sizes(50, 2, 60).outcome == "error"
    run = run_original(50, 2, 60)
    assert run.outcome == "error" and run.error.startswith("RuntimeError")


@pytest.mark.parametrize("seq_len", [200, 150])
def test_arithmetic_matches_real_runs_on_a_sample(seq_len):
    rng = np.random.default_rng(seq_len)
    for m, k1 in zip(rng.integers(1, 51, 250), rng.integers(1, 201, 250)):
        sizes, run = original_sizes(seq_len, int(m), int(k1)), run_original(seq_len, int(m), int(k1))
        assert (sizes.n_segments, sizes.outcome) == (run.n_segments, run.outcome), (m, k1)
        if run.depends is not None:
            assert sizes.dropped_items == (~run.depends.any(axis=0)).sum()
            assert sizes.pure_padding_segments == tuple(np.flatnonzero(~run.depends.any(axis=1)))
        assert ("size_erroe" in run.printed) == (sizes.outcome == "wrong count")


def test_every_failure_at_200_is_m_plus_one_with_k2_one():
    for m in range(1, 51):
        for k1 in range(1, 201):
            s = original_sizes(200, m, k1)
            assert s.outcome in OUTCOMES
            if s.outcome == "wrong count":
                assert s.n_segments == m + 1 and s.k2 == 1 and (m - 200 // k1) % 2 == 1
            if m <= 200 // k1:
                assert s.n_segments == m
