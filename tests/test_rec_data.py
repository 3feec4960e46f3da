"""The MovieLens loader, splits and prefixes, on a synthetic file the test writes."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from rec_synthetic import write_inter
from strided_conv.rec import data as rec_data
from strided_conv.rec.data import (
    build_histories, history_stats, load_ml100k, pad_prefixes, prefix_samples, read_inter,
)


@pytest.fixture
def synthetic(tmp_path):
    path = tmp_path / "tiny.inter"
    truth = write_inter(path)
    return path, truth


def test_histories_are_in_time_order_with_ties_in_file_order(synthetic):
    path, truth = synthetic
    h = load_ml100k(path)
    assert h.n_users == len(truth)
    for u, token in enumerate(h.user_tokens):
        got = [h.item_tokens[i - 1] for i in h.history(u)]
        assert got == truth[str(token)]
    assert h.items.min() >= 1 and h.items.max() == h.n_items
    assert h.n_items == len({i for items in truth.values() for i in items})


def test_splits_leave_the_last_two_out(synthetic):
    h = load_ml100k(synthetic[0])
    test, valid, train = (prefix_samples(h, s) for s in ("test", "valid", "train"))
    assert len(test) == len(valid) == h.n_users
    assert len(train) == int((h.lengths - 3).sum())
    for u in range(h.n_users):
        hist = h.history(u)
        x, y = test.batch(h, np.array([u]), 4)
        assert y[0] == hist[-1] and list(x[0][x[0] > 0]) == list(hist[-5:-1])
        x, y = valid.batch(h, np.array([u]), 100)
        assert y[0] == hist[-2] and list(x[0][x[0] > 0]) == list(hist[:-2])
        mine = np.flatnonzero(train.users == u)
        _, ys = train.batch(h, mine, 3)
        assert list(ys) == list(hist[1:-2])


def test_no_prefix_contains_its_target_or_anything_after(synthetic):
    h = load_ml100k(synthetic[0])
    train = prefix_samples(h, "train")
    x, _ = train.batch(h, np.arange(len(train)), 60)
    for row, start, target in zip(x, train.starts, train.targets):
        real = row[row > 0]
        assert list(real) == list(h.items[max(start, target - 60):target])


def test_pad_prefixes_left_pads():
    items = np.array([5, 6, 7, 8, 9])
    out = pad_prefixes(items, np.array([0, 2]), np.array([2, 5]), 4)
    assert out.tolist() == [[0, 0, 5, 6], [0, 7, 8, 9]]


def test_min_rating_and_min_length(synthetic):
    cols = read_inter(synthetic[0])
    full = build_histories(cols)
    kept = build_histories(cols, min_rating=3)
    assert kept.lengths.sum() <= full.lengths.sum()
    assert (kept.lengths >= 3).all()
    with pytest.raises(ValueError, match="min_length must be >= 3"):
        build_histories(cols, min_length=2)


def test_stats(synthetic):
    h = load_ml100k(synthetic[0])
    s = history_stats(h, (10, 20))
    assert s["users"] == h.n_users and s["interactions"] == int(h.lengths.sum())
    assert s["longer_than_10"] == int((h.lengths > 10).sum())


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.inter"
    bad.write_text("user_id:token\titem_id:token\n1\t2\n")
    with pytest.raises(ValueError, match="header must contain 'timestamp:float'"):
        read_inter(bad)
    bad.write_text("user_id:token\titem_id:token\ttimestamp:float\n1\t2\n")
    with pytest.raises(ValueError, match="line 2: expected 3 tab-separated fields, got 2"):
        read_inter(bad)


def test_missing_data_says_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps recbole==1\.2\.1"):
        rec_data.ml100k_path()


def test_unknown_split(synthetic):
    with pytest.raises(ValueError, match="split must be 'train', 'valid' or 'test'"):
        prefix_samples(load_ml100k(synthetic[0]), "dev")
