"""The "DownConv at work" figures, on small hand-made results."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from strided_conv.figures import legibility_problems
from strided_conv.figures.downconv_at_work import (
    MODEL_COLORS, PART_COLORS, part_slopes, plot_step_times, plot_paup_cost,
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


def test_validation_figure_keys_in_colour_order(results):
    fig = plot_rec_validation(results["runs"])
    assert legibility_problems(fig) == []
    assert len(fig.axes) == 2
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["full causal", "SegmentAttention", "PAUP layer"]
    ticks = fig.axes[0].get_xticks()
    assert np.array_equal(ticks, np.round(ticks))  # whole epochs only


def test_step_time_figure():
    rows = [{"max_len": n, "model": m, "ms_per_prefix": t * n / 10}
            for n in (10, 50, 200) for m, t in (("full", 2.0), ("segment", 1.0),
                                                 ("paup", 3.0))]
    fig = plot_step_times(rows)
    assert legibility_problems(fig) == []
    left, right = fig.axes
    assert [list(line.get_ydata()) for line in left.get_lines()] == [
        pytest.approx([2.0, 10.0, 40.0]), pytest.approx([1.0, 5.0, 20.0]),
        pytest.approx([3.0, 15.0, 60.0])]
    # ratios to segment attention, then the reference line at 1
    assert [list(line.get_ydata()) for line in right.get_lines()][:2] == [
        pytest.approx([2.0] * 3), pytest.approx([3.0] * 3)]


def test_cost_slopes_above_n_min(cost):
    cost = {**cost, "variant": [1.0, 1.0, 10.0]}  # flat, then linear
    assert part_slopes(cost, n_min=2000)["variant"] == pytest.approx(1.0)
    assert part_slopes(cost)["variant"] < 1.0


def test_crossover_and_table(results):
    rows = summarize_runs(results)
    cross = crossover_length(rows)
    # full: 2 + 2 = 4 s at 50, 8 + 8 = 16 s at 200; segment 2 s and 8 s: ratio 2 at both
    assert cross["ratios"] == {50: pytest.approx(2.0), 200: pytest.approx(2.0)}
    assert cross["crossover"] == "below"
    table = results_markdown(rows)
    # every run here has 4 epochs; the last row (segment, n=200) takes 2 * 200 / 50 = 8 s
    assert table.count("\n") == 1 + len(rows) and table.endswith(" 4.0 | 8.0 |")
    assert "epochs" not in results_markdown(rows, epochs=False)
