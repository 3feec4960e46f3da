"""The chapter's tables and the attention cost model of ``strided_conv.bench.report``.

The model itself, :func:`strided_conv.attention_flops`, is tested against PyTorch's FLOP
counter in ``test_attention.py``; here only its use on a results file.
"""
from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path

import pytest

from strided_conv import SegmentAttention, attention_flops
from strided_conv.bench import run, tiny_config
from strided_conv.bench.report import (
    SETTING_KEYS, attention_markdown, attention_model, attention_setting, conv_markdown,
    downconv_markdown, gemm_share_markdown, implementations, markdown_table, memory_markdown,
    shapes_markdown,
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
    functional = next(t["median_s"] for t in committed["downconv"]["timings"]
                      if (t["impl"], t["pass"]) == ("functional", "forward"))
    assert dc[0][:3] == ["`functional`", f"{functional * 1e3:,.2f}", "1.00"]


def test_attention_model_divides_time_by_the_flops_of_attention_flops(committed):
    rows = attention_model(committed)
    assert {r["impl"] for r in rows} == {"segment", "full", "sdpa"}
    D = committed["attention"]["hidden"]
    for r in rows:
        t = next(t for t in committed["attention"]["timings"]
                 if (t["impl"], t["n"]) == (r["impl"], r["n"]))
        assert r["ps_per_flop"] * r["flops"] == pytest.approx(t["median_per_sequence_s"] * 1e12)
        n = r["n"]
        if r["impl"] in ("full", "sdpa"):  # by hand: 3 projections, two n x n products, softmax
            assert r["flops"] == 6 * n * D * D + 4 * n * n * D + 6 * n * n + 3 * n * D
        else:
            assert r["flops"] == sum(attention_flops(n, D, 4, 10, 16, "pad")["segment"].values())


def test_attention_setting_is_recorded_or_falls_back_clearly(committed):
    """The committed run records the segment layer's setting; a file without it gets
    SegmentAttention's defaults, flagged as not recorded."""
    params = inspect.signature(SegmentAttention).parameters
    defaults = {k: params[k].default for k in SETTING_KEYS}
    assert set(SETTING_KEYS) <= set(committed["attention"])
    assert attention_setting(committed) == {**{k: committed["attention"][k]
                                               for k in SETTING_KEYS}, "recorded": True}
    older = copy.deepcopy(committed)
    for key in SETTING_KEYS:
        del older["attention"][key]
    assert attention_setting(older) == {**defaults, "recorded": False}


def test_attention_setting_is_recorded_by_the_tool_and_used_by_the_model(tiny):
    layer = SegmentAttention(tiny["attention"]["timings"][0]["n"], tiny["attention"]["hidden"])
    assert attention_setting(tiny) == {"m_segments": layer.downconv.m_segments,
                                       "k1": layer.downconv.k1,
                                       "channel_reduction": layer.downconv.channel_reduction,
                                       "tail": layer.downconv.tail, "recorded": True}
    other = copy.deepcopy(tiny)
    other["attention"]["m_segments"] = 8
    before = {(r["impl"], r["n"]): r["flops"] for r in attention_model(tiny)}
    after = {(r["impl"], r["n"]): r["flops"] for r in attention_model(other)}
    for (impl, n), flops in after.items():
        if impl == "segment":
            want = attention_flops(n, tiny["attention"]["hidden"], 8, layer.downconv.k1,
                                   layer.downconv.channel_reduction)["segment"]
            assert flops == sum(want.values()) != before[(impl, n)]
        else:
            assert flops == before[(impl, n)]
    del other["attention"]["k1"]
    with pytest.raises(ValueError, match="all of .* or none, got only"):
        attention_setting(other)
