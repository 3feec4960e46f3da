r"""MovieLens-100k as time-ordered item histories, leave-one-out splits and prefix batches.

The data (Harper and Konstan, 2015) are read from the PyPI wheel ``recbole==1.2.1``,
which ships ``recbole/dataset_example/ml-100k/ml-100k.inter``. RecBole itself is
never imported (it does not import with NumPy 2): :func:`ml100k_path` only locates
the installed file. The MovieLens licence forbids redistribution, so the file is
installed, never copied into the repository.

Conventions
-----------
- Item ids are remapped to ``1..n_items`` in order of first appearance in the
  file; ``0`` is the padding item.
- A user's history is sorted by timestamp (stable: ties keep file order).
- Leave-one-out in time: the last item of each history is the test target, the
  one before it the validation target, every earlier item from the second on a
  training target. Each target is predicted from the items before it only (its
  *prefix*), truncated to the most recent ``max_len`` items and LEFT-padded with
  zeros, so the most recent item is always at position ``max_len - 1``.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_int

__all__ = [
    "ML100K_RELATIVE",
    "INSTALL_HINT",
    "ml100k_path",
    "read_inter",
    "Histories",
    "build_histories",
    "load_ml100k",
    "pad_prefixes",
    "PrefixSamples",
    "prefix_samples",
    "history_stats",
]

#: Where the wheel puts the file, relative to the ``recbole`` package directory.
ML100K_RELATIVE = os.path.join("dataset_example", "ml-100k", "ml-100k.inter")
INSTALL_HINT = ("install the data with: .venv/bin/pip install --no-deps recbole==1.2.1 "
                "(only the file is read; recbole is not imported)")


def ml100k_path() -> Path:
    """Path of ``ml-100k.inter`` inside the installed ``recbole`` wheel.

    Raises
    ------
    FileNotFoundError
        If recbole is not installed or the file is missing; the message says how
        to install it.
    """
    spec = importlib.util.find_spec("recbole")  # locates the package without importing it
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"MovieLens-100k not found: package 'recbole' is not "
                                f"installed; {INSTALL_HINT}")
    path = Path(spec.origin).parent / ML100K_RELATIVE
    if not path.is_file():
        raise FileNotFoundError(f"MovieLens-100k not found at {path}; {INSTALL_HINT}")
    return path


def read_inter(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a RecBole atomic ``.inter`` file: tab-separated, typed header.

    The header must name ``user_id:token``, ``item_id:token`` and
    ``timestamp:float`` (any order; other columns such as ``rating:float`` are
    read too). Tokens are returned as strings, floats as float64.

    Returns
    -------
    dict
        Column name (without type) -> 1-D array, one entry per interaction.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    fields = [h.split(":")[0] for h in header]
    types = [h.split(":")[1] if ":" in h else "" for h in header]
    for need, kind in (("user_id", "token"), ("item_id", "token"), ("timestamp", "float")):
        if need not in fields or types[fields.index(need)] != kind:
            raise ValueError(f"{path}: header must contain '{need}:{kind}', got {header}")
    for lineno, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {lineno}: expected {len(header)} tab-separated "
                             f"fields, got {len(row)}")
    columns: dict[str, np.ndarray] = {}
    for j, (name, kind) in enumerate(zip(fields, types)):
        values = [row[j] for row in rows]
        columns[name] = (np.array(values, dtype=np.float64) if kind == "float"
                         else np.array(values, dtype=str))
    return columns


@dataclass(frozen=True)
class Histories:
    """Every user's time-ordered item sequence.

    Attributes
    ----------
    items : numpy.ndarray of int64, shape ``(n_interactions,)``
        All histories concatenated, user after user, each in time order.
    offsets : numpy.ndarray of int64, shape ``(n_users + 1,)``
        User ``u``'s history is ``items[offsets[u]:offsets[u + 1]]``.
    n_items : int
        Item ids are ``1..n_items``; ``0`` is padding.
    user_tokens, item_tokens : numpy.ndarray of str
        The file's ids: ``user_tokens[u]`` and ``item_tokens[i - 1]``.
    """

    items: np.ndarray
    offsets: np.ndarray
    n_items: int
    user_tokens: np.ndarray
    item_tokens: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """History length per user, ``(n_users,)``."""
        return np.diff(self.offsets)

    def history(self, user: int) -> np.ndarray:
        """User ``user``'s items in time order."""
        return self.items[self.offsets[user]:self.offsets[user + 1]]


def build_histories(columns: dict[str, np.ndarray], min_rating: float | None = None,
                    min_length: int = 3) -> Histories:
    """Group interactions into time-ordered histories.

    Parameters
    ----------
    columns : dict
        As returned by :func:`read_inter`.
    min_rating : float, optional
        Keep only interactions with ``rating >= min_rating`` (PAUP keeps ``>= 3`` on
        MovieLens-1M); ``None`` keeps every rating as an implicit interaction.
    min_length : int, default 3
        Users with fewer interactions are dropped: leave-one-out needs a training,
        a validation and a test item.
    """
    min_length = check_int("min_length", min_length, 3)
    keep = np.ones(len(columns["user_id"]), dtype=bool)
    if min_rating is not None:
        if "rating" not in columns:
            raise ValueError("min_rating given but the file has no 'rating' column")
        keep &= columns["rating"] >= min_rating
    users, items, times = columns["user_id"][keep], columns["item_id"][keep], \
        columns["timestamp"][keep]
    user_tokens, user_idx = np.unique(users, return_inverse=True)
    # Items numbered 1..n in order of first appearance (0 is padding).
    item_tokens, first, item_idx = np.unique(items, return_index=True, return_inverse=True)
    rank = np.empty(len(item_tokens), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(item_tokens))
    item_ids = rank[item_idx] + 1
    order = np.lexsort((np.arange(len(times)), times, user_idx))  # user, then time, then file
    counts = np.bincount(user_idx, minlength=len(user_tokens))
    kept_users = np.flatnonzero(counts >= min_length)
    mask = np.isin(user_idx[order], kept_users)
    order = order[mask]
    lengths = counts[kept_users]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Histories(items=item_ids[order].astype(np.int64), offsets=offsets,
                     n_items=len(item_tokens), user_tokens=user_tokens[kept_users],
                     item_tokens=item_tokens[np.argsort(rank)])


def load_ml100k(path: str | os.PathLike | None = None, min_rating: float | None = None
                ) -> Histories:
    """MovieLens-100k histories (:func:`ml100k_path` when ``path`` is None)."""
    return build_histories(read_inter(ml100k_path() if path is None else path), min_rating)


def history_stats(histories: Histories, max_lens: tuple[int, ...] = (50, 200)
                  ) -> dict[str, float | int]:
    """Users, items, interactions, history-length quantiles, and how many exceed each length."""
    lengths = histories.lengths
    stats: dict[str, float | int] = {
        "users": histories.n_users,
        "items": histories.n_items,
        "interactions": int(lengths.sum()),
        "min_length": int(lengths.min()),
        "median_length": float(np.median(lengths)),
        "mean_length": float(lengths.mean()),
        "max_length": int(lengths.max()),
    }
    for n in max_lens:
        stats[f"longer_than_{n}"] = int((lengths > n).sum())
    return stats


def pad_prefixes(items: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 max_len: int) -> np.ndarray:
    """Left-padded windows ``items[max(start, end - max_len):end]``, one row per sample.

    Parameters
    ----------
    items : numpy.ndarray of int, ``(n_interactions,)``
    starts, ends : numpy.ndarray of int, ``(batch,)``
        Each sample's history starts at ``starts[b]``; its prefix ends (exclusive)
        at ``ends[b]``, so the target ``items[ends[b]]`` is NOT in the row.
    max_len : int

    Returns
    -------
    numpy.ndarray of int64, ``(batch, max_len)``
        Row ``b``: zeros, then the last ``min(max_len, ends[b] - starts[b])``
        prefix items, the most recent in column ``max_len - 1``.
    """
    max_len = check_int("max_len", max_len, 1)
    pos = ends[:, None] - max_len + np.arange(max_len)[None, :]
    valid = pos >= starts[:, None]
    return np.where(valid, items[np.clip(pos, 0, None)], 0).astype(np.int64)


@dataclass(frozen=True)
class PrefixSamples:
    """One sample per target: the target's index into ``Histories.items`` and its user.

    ``targets[b]`` is the index of the target item; the input is every item of
    the same user before it (:func:`pad_prefixes` with ``starts[b]``, ``targets[b]``).
    """

    users: np.ndarray
    starts: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def batch(self, histories: Histories, index: np.ndarray, max_len: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs (B, max_len), target item ids (B,))`` for samples ``index``."""
        inputs = pad_prefixes(histories.items, self.starts[index], self.targets[index], max_len)
        return inputs, histories.items[self.targets[index]]


def prefix_samples(histories: Histories, split: str) -> PrefixSamples:
    """Samples of one leave-one-out split: ``"train"``, ``"valid"`` or ``"test"``.

    ``"train"``: every item from the second to the third-last of each history;
    ``"valid"``: the second-last; ``"test"``: the last (one sample per user).
    """
    starts, ends = histories.offsets[:-1], histories.offsets[1:]
    users = np.arange(histories.n_users)
    if split == "test":
        return PrefixSamples(users, starts, ends - 1)
    if split == "valid":
        return PrefixSamples(users, starts, ends - 2)
    if split != "train":
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    counts = np.maximum(ends - starts - 3, 0)  # positions 1 .. len-3
    u = np.repeat(users, counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return PrefixSamples(u, starts[u], starts[u] + 1 + within)
