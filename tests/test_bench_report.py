"""The chapter's tables and the attention cost model of ``strided_conv.bench.report``."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from strided_conv import FullSelfAttention, SegmentAttention, package_outcome
from strided_conv.bench import run, tiny_config
from strided_conv.bench.report import (
    attention_markdown, attention_model, attention_ops, conv_markdown, downconv_markdown,
    gemm_share_markdown, implementations, markdown_table, memory_markdown, shapes_markdown,
)

COMMITTED = Path(__file__).resolve().parents[1] / "book" / "bench_results.json"


@pytest.fixture(scope="module")
def committed():
    return json.loads(COMMITTED.read_text())


@pytest.fixture(scope="module")
def tiny():
    return run(tiny_config(repeats=2, attention_repeats=2), progress=False, command="pytest")


def _body(table: str) -> list[list[str]]:
    """The cells of a pipe table's body rows."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_markdown_table_layout():
    t = markdown_table(["a", "b"], [["1", "2"], ["3", "4"]])
    assert t.splitlines() == ["| a | b |", "|:---|---:|", "| 1 | 2 |", "| 3 | 4 |"]


def test_markdown_table_rejects_ragged_rows_and_bad_alignment():
    with pytest.raises(ValueError, match="every row must have 2 cells"):
        markdown_table(["a", "b"], [["1"]])
    with pytest.raises(ValueError, match="align must be"):
        markdown_table(["a", "b"], [], "lx")


def test_conv_markdown_has_a_row_per_implementation_and_shape(committed):
    for dtype in committed["config"]["dtypes"]:
        rows = _body(conv_markdown(committed, dtype))
        timings = [t for t in committed["conv"]["timings"] if t["dtype"] == dtype]
        assert len(rows) == len({(t["shape"], t["impl"]) for t in timings})
        for row in rows:  # each number is the stored median, rounded
            impl = row[1].strip("`")
            shape = next(r[0] for r in reversed(rows[: rows.index(row) + 1]) if r[0])
            t = next(t for t in timings if (t["impl"], t["shape"], t["pass"])
                     == (impl, shape, "forward"))
            assert float(row[2].replace(",", "")) == pytest.approx(1e3 * t["median_s"], abs=0.006)


def test_naive_loops_have_no_backward_cells(committed):
    rows = _body(conv_markdown(committed, "float32"))
    naive = next(r for r in rows if r[1] == "`naive`")
    assert naive[4:6] == ["–", "–"] and naive[6] == "0%"


def test_every_table_shows_a_new_implementation(tiny):
    """Implementations come from the results, so an added one needs no code change.

    The newcomer is a name no suite registers, copied from an existing row of each suite.
    """
    new = copy.deepcopy(tiny)
    for suite in ("conv", "downconv", "attention"):
        assert "newcomer" not in implementations(new[suite]["timings"])
    for key in ("timings", "memory"):
        new["conv"][key] += [{**r, "impl": "newcomer"} for r in new["conv"][key]
                             if r["impl"] == "vectorized"]
    new["downconv"]["timings"] += [{**t, "impl": "newcomer"} for t in new["downconv"]["timings"]
                                   if t["impl"] == "downconv"]
    new["attention"]["timings"] += [{**t, "impl": "newcomer"}
                                    for t in new["attention"]["timings"] if t["impl"] == "segment"]
    for table in (conv_markdown(new, "float32"), memory_markdown(new), downconv_markdown(new),
                  attention_markdown(new)):
        assert "`newcomer`" in table
    for suite in ("conv", "downconv", "attention"):
        assert implementations(new[suite]["timings"])[-1] == "newcomer"


def test_shapes_memory_gemm_and_attention_tables(committed):
    shapes = _body(shapes_markdown(committed))
    assert [r[0] for r in shapes] == list(committed["conv"]["shapes"])
    assert [r[-1] for r in shapes] == ["9.00", "9.00", "2.25", "12.25"]
    mem = _body(memory_markdown(committed))
    assert len(mem) == sum(m["pass"] == "forward" and m["peak_extra_bytes"] is not None
                           for m in committed["conv"]["memory"])
    assert len(_body(gemm_share_markdown(committed))) == 8
    att = _body(attention_markdown(committed))
    assert att[-1][0] == "fitted slope" and len(att) == 5
    dc = _body(downconv_markdown(committed))
    assert dc[0][:3] == ["`functional`", "5.02", "1.00"]


@pytest.mark.parametrize("n", [37, 200, 205, 1000])
def test_attention_ops_match_torch_flop_counter(n):
    """The matrix-product terms, times 2 FLOP, are exactly what PyTorch's FLOP counter sees."""
    torch.manual_seed(0)
    for impl, module in (("segment", SegmentAttention(n, 64)), ("full", FullSelfAttention(64))):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(torch.randn(2, n, 64))
        ops = attention_ops(impl, n, 64)
        products = sum(v for k, v in ops.items() if not k.startswith("softmax"))
        assert counter.get_total_flops() == 2 * 2 * products  # batch 2, 2 FLOP per multiply-add


@settings(max_examples=15, deadline=None)
@given(n=st.integers(40, 400), m=st.integers(1, 4), k1=st.integers(1, 10))
def test_attention_ops_other_configurations_match_torch(n, m, k1):
    assume(package_outcome(n, m, k1) != "refused")
    torch.manual_seed(0)
    module = SegmentAttention(n, 32, m_segments=m, k1=k1, channel_reduction=8)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.randn(1, n, 32))
    ops = attention_ops("segment", n, 32, m_segments=m, k1=k1, channel_reduction=8)
    assert counter.get_total_flops() == 2 * sum(v for k, v in ops.items()
                                                 if not k.startswith("softmax"))


def test_attention_ops_projections_dominate_at_the_book_setting():
    ops = attention_ops("segment", 5000, 64)
    assert ops["projection of the n items (Q)"] / sum(ops.values()) > 0.8
    full = attention_ops("full", 5000, 64)
    assert full["scores Q K^T (n x n)"] == 5000 * 5000 * 64


def test_attention_ops_rejects_unknown_implementations():
    with pytest.raises(ValueError, match="impl must be 'segment', 'full' or 'sdpa'.*'polyphase'"):
        attention_ops("polyphase", 100)


def test_attention_model_divides_time_by_operations(committed):
    rows = attention_model(committed)
    assert {r["impl"] for r in rows} == {"segment", "full", "sdpa"}
    for r in rows:
        t = next(t for t in committed["attention"]["timings"]
                 if (t["impl"], t["n"]) == (r["impl"], r["n"]))
        assert r["ps_per_op"] * r["ops"] == pytest.approx(t["median_per_sequence_s"] * 1e12)
    assert all(re.fullmatch(r"[a-z]+", r["impl"]) for r in rows)
