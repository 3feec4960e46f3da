"""Tests of the benchmark tool (strided_conv.bench). No test asserts a speed."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from strided_conv import im2col
from strided_conv.bench import (
    CONV_IMPLS, CONV_SHAPES, REFERENCE, BenchConfig, BenchMismatchError, ConvShape,
    SchemaError, check_close, interleaved_order, interleaved_times, loglog_slope, median,
    run, tiny_config, validate_results,
)
from strided_conv.bench import conv_impls, conv_suite
from strided_conv.bench.cases import conv_inputs
from strided_conv.bench.conv_suite import check_case
from strided_conv.bench.machine import cpu_model
from strided_conv.bench.memory import peak_extra_bytes, peak_repeated_call_bytes
from strided_conv.bench.report import fwd_bwd_ratio, n_for_speedup, targets
from strided_conv.bench.runner import limited_threads, planned_repetitions
from strided_conv.bench.timing import calls_per_repetition

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_results():
    """One in-process tiny run, counting the timed repetitions through ``tick``."""
    calls: list[str] = []
    results = run(tiny_config(), progress=False, command="pytest", tick=calls.append)
    return results, calls


# --- timing ---------------------------------------------------------------

def test_interleaved_order_is_round_robin():
    assert interleaved_order({"A": 2, "B": 2}) == ["A", "B", "A", "B"]
    assert interleaved_order({"A": 3, "B": 3, "naive": 1}) == ["A", "B", "naive", "A", "B", "A", "B"]


@given(st.dictionaries(st.sampled_from("ABCDE"), st.integers(1, 6), min_size=1))
@settings(max_examples=50, deadline=None)
def test_interleaved_order_counts_and_balance(repeats):
    order = interleaved_order(repeats)
    assert {n: order.count(n) for n in repeats} == repeats
    # In every prefix, two names that both still have repetitions left are at
    # most one repetition apart: no name runs twice before another runs once.
    seen = dict.fromkeys(repeats, 0)
    for name in order:
        seen[name] += 1
        active = [seen[n] for n in repeats if seen[n] < repeats[n] or n == name]
        assert max(active) - min(active) <= 1


def test_interleaved_order_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeats\\['A'\\]"):
        interleaved_order({"A": 0})


def test_interleaved_order_rejects_float_repeats():
    with pytest.raises(TypeError, match="repeats\\['A'\\]"):
        interleaved_order({"A": 2.0})


def test_interleaved_times_warms_up_then_interleaves():
    log: list[str] = []
    fns = {"A": lambda: log.append("A"), "B": lambda: log.append("B")}
    times = interleaved_times(fns, {"A": 3, "B": 2}, warmup=1, number={"A": 2, "B": 1})
    # warm-up A, B; then rounds: A twice (number=2), B once.
    assert log == ["A", "B", "A", "A", "B", "A", "A", "B", "A", "A"]
    assert [len(times["A"]), len(times["B"])] == [3, 2]
    assert all(t >= 0 for t in times["A"] + times["B"])


def test_interleaved_times_needs_repeats_for_every_name():
    with pytest.raises(ValueError, match="repeats has no entry"):
        interleaved_times({"A": lambda: None}, {})


def test_calls_per_repetition_rejects_negative_time():
    with pytest.raises(ValueError, match="min_time"):
        calls_per_repetition(lambda: None, -1.0)


def test_calls_per_repetition_fast_function_is_repeated():
    assert calls_per_repetition(lambda: None, 0.01) > 1
    assert calls_per_repetition(lambda: None, 0.0) == 1


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20))
@settings(max_examples=50, deadline=None)
def test_median_matches_statistics(values):
    assert median(values) == pytest.approx(statistics.median(values), rel=1e-12, abs=1e-9)


def test_median_of_nothing_raises():
    with pytest.raises(ValueError, match="empty"):
        median([])


@given(st.floats(0.5, 2.5), st.floats(1e-6, 1e3))
@settings(max_examples=30, deadline=None)
def test_loglog_slope_recovers_exponent(a, c):
    n = np.array([200, 1000, 5000, 20000], dtype=float)
    assert loglog_slope(n, c * n**a) == pytest.approx(a, abs=1e-9)


def test_loglog_slope_with_noise_is_close():
    rng = np.random.default_rng(0)
    n = np.geomspace(100, 1e5, 12)
    t = 3e-7 * n**2 * np.exp(rng.normal(0, 0.05, n.size))
    assert abs(loglog_slope(n, t) - 2) < 0.05


def test_loglog_slope_rejects_nonpositive():
    with pytest.raises(ValueError, match="> 0"):
        loglog_slope([1, 2], [1, 0])


def test_loglog_slope_rejects_single_n():
    with pytest.raises(ValueError, match="two different"):
        loglog_slope([5, 5], [1, 2])


# --- cases ------------------------------------------------------------------

shapes = st.builds(
    lambda n, c, h, w, fn, fh, fw, s, p: ConvShape(n, c, max(h, fh), max(w, fw), fn, fh, fw, s, p),
    st.integers(1, 2), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9),
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2))


@given(shapes)
@settings(max_examples=25, deadline=None)
def test_shape_sizes_match_torch_and_im2col(shape):
    arrays = conv_inputs(shape, "float64")
    out = torch.nn.functional.conv2d(*(torch.from_numpy(arrays[k]) for k in ("x", "W", "b")),
                                     stride=shape.stride, padding=shape.pad)
    assert out.shape[2:] == shape.out_hw
    assert out.numel() * 8 == shape.out_bytes("float64")
    col = im2col(arrays["x"], shape.FH, shape.FW, shape.stride, shape.pad)
    assert col.nbytes == shape.col_bytes("float64")
    assert shape.flops("forward") == 2 * col.shape[0] * col.shape[1] * shape.FN
    assert shape.flops("backward") == 2 * shape.flops("forward")


def test_issue_shapes():
    s2, s3, s4 = CONV_SHAPES["S2"], CONV_SHAPES["S3"], CONV_SHAPES["S4"]
    assert (s2.out_hw, s3.out_hw, s4.out_hw) == ((32, 32), (16, 16), (112, 112))
    assert s3.FN == 128 and s3.stride == 2 and s4.FH == 7


def test_shape_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match="no window fits"):
        ConvShape(1, 1, 3, 3, 1, 5, 5)


def test_shape_rejects_bad_pass():
    with pytest.raises(ValueError, match="pass_"):
        CONV_SHAPES["S1"].flops("sideways")


# --- checks -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=shapes)
@settings(max_examples=10, deadline=None)
def test_every_implementation_agrees_with_torch(dtype, shape):
    arrays = conv_inputs(shape, dtype)
    names = [n for n, i in CONV_IMPLS.items() if dtype in i.dtypes]
    runners = {n: CONV_IMPLS[n].factory(**arrays, stride=shape.stride, pad=shape.pad) for n in names}
    checks = check_case("hyp", runners, dtype)
    assert checks and all(c["ok"] for c in checks)
    assert {c["what"].split()[1] for c in checks} == set(names) - {REFERENCE}


def test_check_close_rejects_a_small_error():
    ref = np.linspace(-1, 1, 50)
    got = ref.copy()
    got[7] += 1e-6
    with pytest.raises(BenchMismatchError, match="case"):
        check_close("case", got, ref, np.float64)


def test_check_close_rejects_a_promoted_dtype():
    ref = np.ones(3, dtype=np.float32)
    with pytest.raises(BenchMismatchError, match="dtype float64"):
        check_close("case", ref.astype(np.float64), ref, np.float32)


def test_check_close_rejects_a_wrong_shape():
    with pytest.raises(BenchMismatchError, match="shape"):
        check_close("case", np.ones(3), np.ones(4), np.float64)


def test_check_close_accepts_float32_rounding():
    ref = np.random.default_rng(1).standard_normal(1000)
    got = ref.astype(np.float32)
    assert check_close("case", got, torch.from_numpy(ref.astype(np.float32)), np.float32)["ok"]


class _WrongRunner(conv_impls.TorchConvRunner):
    def forward(self):
        return super().forward() * 1.001


def test_a_wrong_implementation_aborts_before_it_is_timed(monkeypatch):
    table = dict(CONV_IMPLS)
    table["wrong"] = conv_impls.ConvImpl(
        lambda x, W, b, dout, stride, pad: _WrongRunner(x, W, b, dout, stride, pad), "wrong",
        numpy_memory=False)
    monkeypatch.setattr(conv_suite, "CONV_IMPLS", table)
    timed: list[str] = []
    with pytest.raises(BenchMismatchError, match="wrong out"):
        run(tiny_config(suites=("conv",)), progress=False, tick=timed.append)
    assert timed and all(name.startswith("gemm:") for name in timed)  # only the GEMMs ran


# --- memory, threads, machine -------------------------------------------------

def test_peak_extra_bytes_sees_a_temporary():
    def f():
        tmp = np.ones(1_000_000)  # 8 MB, freed before returning
        return float(tmp.sum())
    extra = peak_extra_bytes(f)
    assert 8_000_000 <= extra < 8_100_000


def test_peak_extra_bytes_counts_the_result():
    assert 800_000 <= peak_extra_bytes(lambda: np.zeros(100_000)) < 900_000


class _Cache:
    """Keeps its last result, like a layer keeps its col matrix."""

    def __init__(self, release_first: bool) -> None:
        self.cache, self.release_first = None, release_first

    def __call__(self):
        if self.release_first:
            self.cache = None
        self.cache = np.ones(1_000_000)  # 8 MB
        return None


def test_repeated_call_sees_a_stale_cache():
    assert 16_000_000 <= peak_repeated_call_bytes(_Cache(release_first=False)) < 16_100_000


def test_repeated_call_without_stale_cache():
    assert 8_000_000 <= peak_repeated_call_bytes(_Cache(release_first=True)) < 8_100_000


def test_limited_threads_sets_every_pool_and_restores():
    before = torch.get_num_threads()
    with limited_threads(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert torch.get_num_threads() == before


def test_cpu_model_reads_cpuinfo(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\nflags\t: x\n")
    assert cpu_model(f) == "Example CPU @ 2.0GHz"


# --- config and results --------------------------------------------------------

def test_config_rejects_unknown_suite():
    with pytest.raises(ValueError, match="suites"):
        BenchConfig(suites=("gpu",))


def test_config_rejects_unknown_shape():
    with pytest.raises(ValueError, match="S9"):
        BenchConfig(shapes=("S9",))


def test_config_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeats"):
        BenchConfig(repeats=0)


def test_attention_batch_fits_the_budget():
    cfg = BenchConfig()
    for n in (200, 1000, 5000, 20000):
        b = cfg.attention_batch(n)
        assert b == 1 or b * n * n * 4 <= cfg.attention_score_mib * 2**20
        assert 1 <= b <= cfg.attention_max_batch


def test_tiny_results_follow_the_schema(tiny_results):
    results, _ = tiny_results
    validate_results(results)
    assert json.loads(json.dumps(results)) == results  # JSON-ready, nothing lost


def test_tiny_run_records_every_repetition(tiny_results):
    results, calls = tiny_results
    assert len(calls) == planned_repetitions(tiny_config())
    for t in results["conv"]["timings"]:
        want = results["config"]["naive_repeats" if t["impl"] == "naive" else "repeats"]
        assert len(t["times_s"]) == want
        assert t["median_s"] == median(t["times_s"])


def test_tiny_run_measures_under_one_thread(tiny_results):
    results, _ = tiny_results
    assert results["machine"]["torch_num_threads"] == 1
    assert all(p["num_threads"] == 1 for p in results["machine"]["threadpools"])


def test_schema_names_a_missing_key(tiny_results):
    results = json.loads(json.dumps(tiny_results[0]))
    del results["conv"]["timings"][0]["times_s"]
    with pytest.raises(SchemaError, match=r"timings'\]\[0\]: missing key 'times_s'"):
        validate_results(results)


def test_schema_names_a_wrong_type(tiny_results):
    results = json.loads(json.dumps(tiny_results[0]))
    results["machine"]["logical_cores"] = "two"
    with pytest.raises(SchemaError, match="logical_cores"):
        validate_results(results)


def test_fwd_bwd_ratio_sums_passes():
    rows = [{"impl": i, "shape": "S2", "dtype": "float32", "pass": p, "median_s": t}
            for i, p, t in [("a", "forward", 1.0), ("a", "backward", 3.0),
                            ("torch", "forward", 1.0), ("torch", "backward", 1.0)]]
    assert fwd_bwd_ratio({"conv": {"timings": rows}}, "a", "torch", "S2", "float32") == 2.0


def test_targets_cover_the_issue(tiny_results):
    ts = targets(tiny_results[0])
    assert len(ts) == 8
    # The tiny run has no S2 to S4, so the shape targets are not judged.
    assert ts[0].met is None and ts[1].met is None


# --- command line -----------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "strided_conv.bench", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_cli_help():
    p = _cli("--help")
    assert p.returncode == 0 and "--tiny" in p.stdout and "--threads" in p.stdout


def test_cli_rejects_unknown_shape():
    p = _cli("--shapes", "S9", "--quiet")
    assert p.returncode == 2 and "S9" in p.stderr


def test_cli_tiny_smoke(tmp_path):
    out = tmp_path / "r.json"
    p = _cli("--tiny", "--quiet", "--out", str(out), "--note", "smoke")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # --quiet: no progress bar
    results = json.loads(out.read_text())
    validate_results(results)
    assert results["note"] == "smoke" and "--tiny" in results["command"]


# --- downconv and attention -------------------------------------------------------

from strided_conv import SegmentAttention  # noqa: E402
from strided_conv.bench import attention_suite  # noqa: E402


def test_tiny_run_checks_downconv_and_attention(tiny_results):
    results, _ = tiny_results
    whats = [c["what"] for c in results["downconv"]["checks"] + results["attention"]["checks"]]
    assert "downconv downconv dx" in whats and "downconv original out" in whats
    for n in tiny_config().attention_ns:
        assert f"attention n={n} segment" in whats and f"attention n={n} full" in whats
    assert set(results["attention"]["slopes"]) == set(attention_suite.ATTENTION_IMPLS)


def test_attention_batches_are_recorded(tiny_results):
    results, _ = tiny_results
    for t in results["attention"]["timings"]:
        assert t["batch"] == results["attention"]["batches"][str(t["n"])]
        assert t["median_per_sequence_s"] == pytest.approx(t["median_s"] / t["batch"])


def test_softmax_over_the_wrong_axis_is_caught(monkeypatch):
    table = dict(attention_suite.ATTENTION_IMPLS)
    table["segment"] = (lambda n, hidden, full: SegmentAttention(n, hidden, softmax_over="queries"),
                        "softmax over queries")
    monkeypatch.setattr(attention_suite, "ATTENTION_IMPLS", table)
    with pytest.raises(BenchMismatchError, match="segment"):
        run(tiny_config(suites=("attention",)), progress=False)


def test_a_downconv_with_other_weights_is_caught(monkeypatch):
    def perturbed(module):
        other = attention_suite._original(module)
        with torch.no_grad():
            other.conv2a.bias.add_(1e-2)
        return other
    table = dict(attention_suite.DOWNCONV_IMPLS)
    table["original"] = (perturbed, "perturbed")
    monkeypatch.setattr(attention_suite, "DOWNCONV_IMPLS", table)
    with pytest.raises(BenchMismatchError, match="downconv original out"):
        run(tiny_config(suites=("downconv",)), progress=False)


def _attention_results(speedups: dict[int, float]) -> dict:
    rows = []
    for n, s in speedups.items():
        rows += [{"impl": "segment", "n": n, "median_per_sequence_s": 1.0},
                 {"impl": "full", "n": n, "median_per_sequence_s": s}]
    return {"attention": {"timings": rows, "slopes": {}}}


def test_n_for_speedup_interpolates_log_log():
    # speed-up 10 at n = 100 and 1000 at n = 10000: a power law through 100 at n = 1000.
    assert n_for_speedup(_attention_results({100: 10.0, 10000: 1000.0})) == pytest.approx(1000)


def test_n_for_speedup_none_when_never_reached():
    assert n_for_speedup(_attention_results({100: 2.0, 1000: 20.0})) is None


def test_attention_target_judges_the_speedup_at_5000():
    ts = {t.name: t for t in targets(_attention_results({1000: 30.0, 5000: 150.0}))}
    assert ts["segment vs full attention"].met is True
    ts = {t.name: t for t in targets(_attention_results({1000: 30.0, 5000: 99.0}))}
    assert ts["segment vs full attention"].met is False


# --- the polyphase layer and the sweep of C (issue 14) ------------------------------------

from strided_conv.bench import DEFAULT_SUITES, SUITES  # noqa: E402
from strided_conv.bench.cases import SWEEP_SHAPES, TINY_SWEEP_SHAPES  # noqa: E402
from strided_conv.bench.cli import build_parser, config_from_args  # noqa: E402
from strided_conv.bench.polyphase_suite import channel_crossover, sweep_rows  # noqa: E402
from strided_conv.bench.report import (  # noqa: E402
    padded_plus_output_bytes, polyphase_targets, polyphase_targets_markdown,
)


@pytest.fixture(scope="module")
def sweep_results():
    """A tiny run of the conv suite and the sweep, counting the timed repetitions."""
    calls: list[str] = []
    config = tiny_config(suites=("conv", "polyphase"))
    return run(config, progress=False, command="pytest", tick=calls.append), calls, config


def test_polyphase_is_in_the_conv_suite(tiny_results):
    results, _ = tiny_results
    assert "polyphase" in CONV_IMPLS and "polyphase" in results["implementations"]
    whats = {c["what"] for c in results["conv"]["checks"]}
    assert {"T2 float64 polyphase dx", "T2 float32 polyphase dW"} <= whats
    rows = [m for m in results["conv"]["memory"] if m["impl"] == "polyphase"]
    assert rows and all(m["peak_extra_bytes"] > 0 for m in rows)


@given(shapes)
@settings(max_examples=15, deadline=None)
def test_padded_bytes_is_the_padded_input(shape):
    x = conv_inputs(shape, "float32")["x"]
    padded = np.pad(x, ((0, 0), (0, 0), (shape.pad,) * 2, (shape.pad,) * 2))
    assert shape.padded_bytes("float32") == padded.nbytes


def test_sweep_shapes_vary_only_the_channels():
    for family in ("k3s1", "k7s2"):
        group = {n: s for n, s in SWEEP_SHAPES.items() if n.startswith(family)}
        assert len({(s.N, s.H, s.W, s.FN, s.FH, s.stride, s.pad) for s in group.values()}) == 1
        assert all(n == f"{family}-C{s.C}" for n, s in group.items())
        assert any(s.C == 1 for s in group.values()) and any(s.C >= 64 for s in group.values())
    assert CONV_SHAPES["S2"].C in {s.C for n, s in SWEEP_SHAPES.items() if n.startswith("k3s1")}
    assert CONV_SHAPES["S4"].C in {s.C for n, s in SWEEP_SHAPES.items() if n.startswith("k7s2")}


def test_sweep_results_follow_the_schema_and_record_every_repetition(sweep_results):
    results, calls, config = sweep_results
    validate_results(results)
    assert len(calls) == planned_repetitions(config)
    sweep = results["polyphase"]
    assert set(sweep["shapes"]) == set(TINY_SWEEP_SHAPES)
    for t in sweep["timings"]:
        assert len(t["times_s"]) == config.repeats
        assert t["ratio_to_torch"] == pytest.approx(
            t["median_s"] / next(r["median_s"] for r in sweep["timings"]
                                 if r["impl"] == REFERENCE and
                                 (r["shape"], r["dtype"], r["pass"]) ==
                                 (t["shape"], t["dtype"], t["pass"])))
    assert {t["impl"] for t in sweep["timings"]} == {"torch", "vectorized", "polyphase"}
    assert all(c["ok"] for c in sweep["checks"])


def test_all_runs_the_three_default_suites():
    assert set(DEFAULT_SUITES) | {"polyphase"} == set(SUITES)
    assert config_from_args(build_parser().parse_args([])).suites == DEFAULT_SUITES
    assert config_from_args(build_parser().parse_args(["--suite", "polyphase"])).suites == (
        "polyphase",)


def test_results_without_the_sweep_stay_valid(tiny_results):
    results = json.loads(json.dumps(tiny_results[0]))
    results.pop("polyphase")  # as in files written before the sweep existed
    validate_results(results)


def test_schema_checks_the_sweep_when_present(sweep_results):
    results = json.loads(json.dumps(sweep_results[0]))
    del results["polyphase"]["timings"][0]["ratio_to_torch"]
    with pytest.raises(SchemaError, match=r"polyphase'\]\['timings'\]\[0\]: missing key"):
        validate_results(results)


def test_a_wrong_polyphase_layer_aborts_the_sweep(monkeypatch):
    class Off:
        def __init__(self, runner):
            self.runner = runner

        def forward(self):
            return self.runner.forward() * 1.001

        def backward(self):
            return self.runner.backward()

    impl = CONV_IMPLS["polyphase"]
    wrong = conv_impls.ConvImpl(lambda *a, **k: Off(impl.factory(*a, **k)), "off by 0.1%")
    monkeypatch.setitem(conv_impls.CONV_IMPLS, "polyphase", wrong)
    with pytest.raises(BenchMismatchError, match="polyphase out"):
        run(tiny_config(suites=("polyphase",), dtypes=("float64",)), progress=False)


def _sweep(times: dict[int, tuple[float, float]]) -> dict:
    """Synthetic sweep: C -> (polyphase, vectorized) forward+backward time, torch 1."""
    shapes, rows = {}, []
    for c, (pp, vec) in times.items():
        name = f"k3s1-C{c}"
        shapes[name] = {"C": c}
        for impl, t in (("polyphase", pp), ("vectorized", vec), ("torch", 1.0)):
            rows += [{"shape": name, "dtype": "float64", "impl": impl, "pass": p, "median_s": t / 2}
                     for p in ("forward", "backward")]
    return {"polyphase": {"shapes": shapes, "timings": rows}}


def test_sweep_rows_sum_the_passes_in_order_of_c():
    rows = sweep_rows(_sweep({64: (1.0, 2.0), 1: (4.0, 1.0)}), "k3s1", "float64")
    assert [r["C"] for r in rows] == [1, 64]
    assert rows[0]["polyphase"]["total"] == 4.0 and rows[1]["vectorized"]["forward"] == 1.0
    assert sweep_rows(_sweep({1: (1.0, 1.0)}), "k7s2", "float64") == []


def test_channel_crossover_interpolates_in_log_c():
    # ratio 2 at C = 1, 1/2 at C = 16: log-ratio linear in log C crosses 0 at C = 4.
    assert channel_crossover(_sweep({1: (2.0, 1.0), 16: (1.0, 2.0)}), "k3s1",
                             "float64") == pytest.approx(4.0)
    assert channel_crossover(_sweep({1: (2.0, 1.0), 16: (3.0, 1.0)}), "k3s1", "float64") is None


def _conv(rows: list[tuple[str, str, str, str, float]], memory=(), peak=100.0) -> dict:
    timings = [{"impl": i, "shape": s, "dtype": d, "pass": p, "median_s": t,
                "fraction_of_gemm_peak": 0.5 if p == "forward" else 0.0}
               for i, s, d, p, t in rows]
    return {"config": {"dtypes": ["float32", "float64"]},
            "conv": {"timings": timings, "memory": list(memory), "gemm": [],
                     "gemm_peak_gflops": {"float32": peak, "float64": peak},
                     "shapes": {"S2": {"N": 1, "C": 2, "H": 4, "W": 4, "pad": 1, "FH": 3,
                                       "FW": 3, "gemm_m": 16, "gemm_k": 18, "gemm_n": 2}}}}


def test_polyphase_targets_judge_the_ratio_to_torch():
    rows = [(i, s, "float32", p, t) for s in ("S2", "S3") for p in ("forward", "backward")
            for i, t in (("torch", 1.0), ("polyphase", 1.2), ("vectorized", 1.5))]
    ts = {t.name: t for t in polyphase_targets(_conv(rows))}
    assert ts["polyphase float32 forward+backward vs PyTorch"].met is True
    assert "S2 1.50" in ts["polyphase float32 forward+backward vs PyTorch"].reason
    rows = [(i, s, "float32", p, t * (1.3 if i == "polyphase" else 1.0)) for i, s, _, p, t in rows]
    ts = {t.name: t for t in polyphase_targets(_conv(rows))}
    assert ts["polyphase float32 forward+backward vs PyTorch"].met is False
    assert ts["polyphase float64 forward+backward vs PyTorch"].met is None


def test_polyphase_memory_target_uses_padded_input_plus_output():
    # S2 here: padded 1*2*6*6*4 = 288 bytes, output 128: the bound is 1.1 * 416.
    row = {"impl": "polyphase", "pass": "forward", "shape": "S2", "dtype": "float32",
           "out_bytes": 128, "col_bytes": 1152, "peak_extra_bytes": 450, "peak_repeat_bytes": 400}
    assert padded_plus_output_bytes(_conv([]), row) == 416
    t = polyphase_targets(_conv([], memory=[row]))[3]
    assert t.met is True and "1.08" in t.measured
    t = polyphase_targets(_conv([], memory=[row | {"peak_extra_bytes": 460}]))[3]
    assert t.met is False
    assert polyphase_targets(_conv([]))[3].met is None


def test_polyphase_targets_markdown_has_one_bullet_per_target(tiny_results):
    text = polyphase_targets_markdown(tiny_results[0])
    assert text.count("\n- ") == len(polyphase_targets(tiny_results[0])) - 1 == 3


def test_layer_comparison_markdown_has_a_row_per_shape_and_implementation(sweep_results):
    from strided_conv.bench.polyphase_suite import layer_comparison_markdown

    results = sweep_results[0]
    text = layer_comparison_markdown(results, "float64")
    lines = text.splitlines()
    assert len(lines) == 2 + 3 * len(results["conv"]["shapes"])
    assert all(line.count("|") == 7 for line in lines)
    t = next(t for t in results["conv"]["timings"] if (t["impl"], t["shape"], t["dtype"],
                                                         t["pass"]) == ("torch", "T1", "float64",
                                                                        "forward"))
    assert f"| T1 | `torch` | {t['median_s'] * 1e3:,.2f} |" in text
    assert "| 1.00 |" in text  # PyTorch over itself
