"""Training runs, run files and the command line, on a tiny synthetic dataset (seconds)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rec_synthetic import write_inter
from strided_conv.rec import cli
from strided_conv.rec.data import load_ml100k
from strided_conv.rec.results import load_results, merge_results, summarize_runs
from strided_conv.rec.train import TrainConfig, default_segments, step_times, train_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--max-len", "10", "--m-segments", "2", "--k1", "5", "--max-epochs", "2",
        "--round-batches", "2", "--batch-size", "16", "--no-progress"]


@pytest.fixture
def inter(tmp_path):
    path = tmp_path / "tiny.inter"
    write_inter(path, n_users=12, n_items=200)
    return path


def _config(**kw):
    return TrainConfig(max_len=10, hidden_size=16, n_blocks=1, inner_size=32, m_segments=2,
                       k1=5, batch_size=16, round_batches=2, max_epochs=3, n_negatives=5, **kw)


def test_train_run_records_every_epoch_and_ranks_every_user(inter):
    h = load_ml100k(inter)
    run = train_run(h, "paup", 3, _config(), progress=False)
    assert (run["model"], run["seed"], run["max_len"], run["m_segments"], run["k1"]) == \
        ("paup", 3, 10, 2, 5)
    assert 1 <= len(run["epochs"]) <= 3
    for e in run["epochs"]:
        assert e["loss"] > 0 and e["train_seconds"] > 0 and e["samples"] == 32
        assert 0 <= e["valid_ndcg10"] <= e["valid_hr10"] <= 1
    for kind in ("full", "sampled"):
        ranks = np.asarray(run["test"][kind]["ranks"])
        assert len(ranks) == h.n_users and (ranks >= 0).all()
    assert (np.asarray(run["test"]["sampled"]["ranks"]) <= 5).all()
    assert run["best_epoch"] in [e["epoch"] for e in run["epochs"]]
    json.dumps(run)  # JSON-ready


def test_same_seed_same_run(inter):
    h = load_ml100k(inter)
    a, b = (train_run(h, "segment", 1, _config(), progress=False) for _ in range(2))
    assert [e["loss"] for e in a["epochs"]] == [e["loss"] for e in b["epochs"]]
    assert a["test"]["full"]["ranks"] == b["test"]["full"]["ranks"]


def test_default_segments():
    assert default_segments(50) == (5, 5) and default_segments(200) == (4, 10)
    with pytest.raises(ValueError, match="no default .* for max_len=60"):
        default_segments(60)


def test_cli_train_merge_and_summary(inter, tmp_path, capsys):
    a, b, merged = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "all.json"
    assert cli.main(["train", "--models", "full", "segment", "--seeds", "0", "--data",
                     str(inter), *TINY, "-o", str(a)]) == 0
    assert cli.main(["train", "--models", "full", "--seeds", "1", "--data", str(inter),
                     *TINY, "-o", str(b)]) == 0
    part = load_results(a)
    assert part["machine"]["torch_num_threads"] == 1
    assert {"cpu_model", "python", "torch", "numpy"} <= set(part["machine"])
    assert part["data"]["file"] == "tiny.inter" and len(part["data"]["sha256"]) == 64
    assert [(r["model"], r["seed"]) for r in part["runs"]] == [("full", 0), ("segment", 0)]
    assert cli.main(["merge", str(a), str(b), "--note", "two parts", "-o", str(merged)]) == 0
    result = load_results(merged)
    assert result["note"] == "two parts"
    assert len(result["runs"]) == 3 and [p["name"] for p in result["parts"]] == ["a.json", "b.json"]
    assert result["wall_seconds"] >= 0 and result["process_seconds"] > 0
    rows = summarize_runs(result)
    assert [(r["model"], r["seeds"]) for r in rows] == [("full", 2), ("segment", 1)]
    assert rows[1]["hr_seed_spread"] == 0.0
    with pytest.raises(ValueError, match=r"run \('full', 10, 0\) .* appears twice"):
        merge_results([part, part])


def test_cli_help_stats_cost_and_errors(inter, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0 and "train" in capsys.readouterr().out
    assert cli.main(["stats", "--data", str(inter)]) == 0
    assert json.loads(capsys.readouterr().out)["users"] == 12
    cost = tmp_path / "cost.json"
    assert cli.main(["cost", "--n", "40", "80", "--repeats", "1", "-o", str(cost)]) == 0
    assert json.loads(cost.read_text())["n"] == [40, 80]
    # a length DownConv cannot cut: a clear error, exit status 2
    assert cli.main(["train", "--data", str(inter), "--max-len", "50", "--m-segments", "4",
                     "--k1", "10", "-o", str(tmp_path / "x.json")]) == 2
    assert "m_segments=4 is not feasible for seq_len=50" in capsys.readouterr().err
    assert cli.main(["train", "--data", str(tmp_path / "none.inter"), "-o",
                     str(tmp_path / "x.json")]) == 2


def test_crossover_interpolates_log_log():
    from strided_conv.rec.results import crossover_length
    rows = [{"max_len": 50, "model": "full", "ms_per_prefix": 1.0},
            {"max_len": 50, "model": "segment", "ms_per_prefix": 2.0},
            {"max_len": 200, "model": "full", "ms_per_prefix": 4.0},
            {"max_len": 200, "model": "segment", "ms_per_prefix": 2.0}]
    cross = crossover_length(rows)
    assert cross["ratios"] == {50: 0.5, 200: 2.0}
    assert cross["crossover"] == pytest.approx(100.0)  # halfway in log n
    rows[3]["ms_per_prefix"] = 8.0
    assert crossover_length(rows)["crossover"] is None


def _runs(**ranks_by_model_seed):
    """Run records with only what the summaries read: ``a0=[ranks]`` is model a, seed 0."""
    return {"runs": [{"model": key[:-1], "seed": int(key[-1]), "max_len": 50, "parameters": 1,
                      "epochs": [{"train_seconds": 1.0, "samples": 1}],
                      "test": {"full": {"ranks": ranks}}}
                     for key, ranks in ranks_by_model_seed.items()]}


def test_paired_difference_by_hand():
    from strided_conv.rec.results import paired_difference
    results = _runs(a0=[0, 20, 0, 20], b0=[20, 20, 0, 0])
    d = paired_difference(results, "a", "b", 50, "hr")
    # per-user HR differences: +1, 0, 0, -1 -> mean 0, std sqrt(2/3), se sqrt(2/3)/2
    assert d["diff"] == 0.0 and d["se"] == pytest.approx(np.sqrt(2 / 3) / 2)
    assert d["seeds"] == 1 and np.isnan(d["t"])
    with pytest.raises(ValueError, match="no seed has both 'a' and 'c'"):
        paired_difference(results, "a", "c", 50)


def test_paired_difference_over_seeds_by_hand():
    from strided_conv.rec.results import paired_difference
    # HR differences per user: seed 0: +1, +1, 0, 0 (mean 1/2); seed 1: +1, 0, 0, 0 (1/4)
    results = _runs(a0=[0, 0, 0, 20], b0=[20, 20, 0, 20],
                    a1=[0, 20, 20, 20], b1=[20, 20, 20, 20], a2=[0, 0, 0, 0])
    d = paired_difference(results, "a", "b", 50, "hr")
    assert d["seeds"] == 2 and d["seed_diffs"] == [0.5, 0.25] and d["agree"] == 2
    assert d["diff"] == pytest.approx(0.375)
    # each user's difference averaged over the two seeds: 1, 1/2, 0, 0
    assert d["se"] == pytest.approx(np.std([1, 0.5, 0, 0], ddof=1) / 2)
    assert d["z"] == pytest.approx(0.375 / d["se"])
    # seed-level t: mean 0.375, std(ddof=1) of (0.5, 0.25) = 0.25/sqrt(2), se = 0.125
    assert d["t"] == pytest.approx(0.375 / 0.125)


def test_summarize_runs_by_hand():
    results = _runs(a0=[0, 0, 0, 20], a1=[0, 20, 20, 20])
    (row,) = summarize_runs(results, k=10)
    assert row["seeds"] == 2 and row["hr"] == pytest.approx(0.5)
    assert row["hr_seed_spread"] == pytest.approx(0.5)
    # each user's HR averaged over the seeds: 1, 1/2, 1/2, 0
    assert row["hr_se_users"] == pytest.approx(np.std([1, 0.5, 0.5, 0], ddof=1) / 2)


def test_step_times_rows_and_rounds(inter):
    h = load_ml100k(inter)
    out = step_times(h, (50,), ("full", "segment"), batch_size=8, repeats=3, warmup=1)
    assert out["config"]["batch_size"] == 8 and out["config"]["segments"] == {50: [5, 5]}
    assert [(r["max_len"], r["model"]) for r in out["rows"]] == [(50, "full"), (50, "segment")]
    for row in out["rows"]:
        assert len(row["ms"]) == 3 and all(t > 0 for t in row["ms"])
        assert row["ms_per_prefix"] == pytest.approx(np.median(row["ms"]) / 8)
        assert row["ms_per_prefix_min"] == pytest.approx(min(row["ms"]) / 8)
    with pytest.raises(ValueError, match="attentions must be among"):
        step_times(h, (50,), ("sparse",))
    with pytest.raises(ValueError, match="repeats"):
        step_times(h, (50,), ("full",), repeats=0)


def test_cli_steps_writes_json(inter, tmp_path):
    out = tmp_path / "steps.json"
    assert cli.main(["steps", "--max-len", "50", "--models", "full", "paup", "--batch-size",
                     "4", "--repeats", "2", "--warmup", "0", "--data", str(inter),
                     "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["schema"] == "strided_conv.rec_steps/1"
    assert data["data"]["file"] == "tiny.inter" and "load_average_end" in data["machine"]
    assert [r["model"] for r in data["rows"]] == ["full", "paup"]
