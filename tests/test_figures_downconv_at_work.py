"""The "DownConv at work" figures, on small hand-made results."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from strided_conv.figures import legibility_problems
from strided_conv.figures.downconv_at_work import (
    MODEL_COLORS, PART_COLORS, part_slopes, plot_training_time, plot_paup_cost,
    plot_rec_metrics, plot_rec_validation,
)
from strided_conv.rec.results import crossover_length, results_markdown, summarize_runs


@pytest.fixture
def cost():
    n = [200, 2000, 20000]
    linear = [1e-4 * v / 200 for v in n]
    quad = [1e-3 * (v / 200) ** 2 for v in n]
    return {"n": n, "layer": quad[:2] + [None], "variant": linear,
            "projections": linear, "downconv": linear, "segment_scores": linear,
            "positional": quad[:2] + [None], "output": linear}


@pytest.fixture
def results():
    rng = np.random.default_rng(0)
    runs = []
    for model in ("full", "segment", "paup"):
        for max_len, seeds in ((50, (0, 1, 2)), (200, (0,))):
            for seed in seeds:
                ranks = rng.integers(0, 40, 30).astype(float)
                epochs = [{"epoch": e, "loss": 7.0 - e / 10, "train_seconds": 2.0 * max_len / 50
                           + (model == "full") * max_len / 25, "valid_ndcg10": 0.01 * e,
                           "samples": 1000,
                           "valid_hr10": 0.02 * e} for e in range(1, 5)]
                runs.append({"model": model, "max_len": max_len, "seed": seed,
                             "parameters": 1000, "epochs": epochs, "best_epoch": 4,
                             "test": {k: {"ranks": ranks.tolist(), "hr": 0.2, "ndcg": 0.1}
                                      for k in ("full", "sampled")}})
    return {"runs": runs}


def test_cost_figure(cost):
    slopes = part_slopes(cost)
    assert slopes["positional"] == pytest.approx(2.0) and slopes["variant"] == pytest.approx(1.0)
    fig = plot_paup_cost(cost)
    assert legibility_problems(fig) == []
    left, right = fig.axes
    assert [to_rgba(line.get_color()) for line in left.get_lines()] == \
        [to_rgba(PART_COLORS["layer"]), to_rgba(PART_COLORS["variant"])]
    assert len(left.get_lines()[0].get_xdata()) == 2  # the unmeasured n is left out
    assert "slope 2.00" in right.get_legend().get_texts()[0].get_text()


def test_metrics_figure(results):
    rows = summarize_runs(results)
    fig = plot_rec_metrics(rows, results["runs"])
    assert legibility_problems(fig) == []
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 6  # 3 models x 2 lengths
    assert to_rgba(bars[0].get_facecolor()) == to_rgba(MODEL_COLORS["full"])
    assert bars[0].get_height() == pytest.approx(rows[0]["hr"])


def test_validation_and_epoch_figures(results):
    fig = plot_rec_validation(results["runs"])
    assert legibility_problems(fig) == []
    assert len(fig.axes) == 2
    rows = summarize_runs(results)
    fig = plot_training_time(rows)
    assert legibility_problems(fig) == []
    widths = [p.get_width() for p in fig.axes[1].patches]
    assert widths == pytest.approx([r["ms_per_prefix"] for r in rows if r["max_len"] == 200])


def test_crossover_and_table(results):
    rows = summarize_runs(results)
    cross = crossover_length(rows)
    # full: 2 + 2 = 4 s at 50, 8 + 8 = 16 s at 200; segment 2 s and 8 s: ratio 2 at both
    assert cross["ratios"] == {50: pytest.approx(2.0), 200: pytest.approx(2.0)}
    assert cross["crossover"] == "below"
    table = results_markdown(rows)
    assert table.count("\n") == 1 + len(rows) and "ms / prefix" in table
