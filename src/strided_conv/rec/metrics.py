r"""Ranking metrics of leave-one-out evaluation: ``HR@K`` and ``NDCG@K`` from the target's rank.

With one relevant item per user, ranked at ``rank`` (0 = first) among the
candidates,

.. math::

    \mathrm{HR@}K = [\,\mathrm{rank} < K\,], \qquad
    \mathrm{NDCG@}K = \frac{[\,\mathrm{rank} < K\,]}{\log_2(\mathrm{rank} + 2)},

averaged over users (the ideal DCG of a single relevant item is 1). The rank
counts candidates scored strictly higher than the target plus half of those
tied with it (ties cannot favour the target).

Two candidate sets (:func:`target_ranks`):

- **full ranking**: every item except padding and the items already in the
  user's input history;
- **sampled (100 negatives)**: the target and 100 items drawn uniformly without
  replacement from those the user never interacted with. Sampled metrics are
  higher and can order models differently from full ranking (Krichene and
  Rendle, 2020); they are reported only because older papers use them, and
  always labelled as such.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["hit_rate", "ndcg", "standard_error", "target_ranks", "sample_negatives",
           "summarize_ranks"]


def hit_rate(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-user HR@k: 1.0 where ``rank < k``."""
    return (np.asarray(ranks, float) < k).astype(float)


def ndcg(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-user NDCG@k: ``1 / log2(rank + 2)`` where ``rank < k``, else 0."""
    ranks = np.asarray(ranks, float)
    return np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)


def standard_error(values: np.ndarray) -> float:
    """Standard error of the mean over users: ``std(ddof=1) / sqrt(count)``."""
    values = np.asarray(values, float)
    return float(values.std(ddof=1) / np.sqrt(len(values)))


def summarize_ranks(ranks: np.ndarray, k: int = 10) -> dict[str, float]:
    """``{"hr", "hr_se", "ndcg", "ndcg_se"}`` at cutoff ``k`` (means over users)."""
    h, g = hit_rate(ranks, k), ndcg(ranks, k)
    return {"hr": float(h.mean()), "hr_se": standard_error(h),
            "ndcg": float(g.mean()), "ndcg_se": standard_error(g)}


def target_ranks(scores: torch.Tensor, targets: torch.Tensor,
                 exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Rank of each target among its row's candidates (0 = best).

    Parameters
    ----------
    scores : Tensor, ``(N, C)``
        Candidate scores.
    targets : Tensor of int64, ``(N,)``
        Column of each row's target.
    exclude : Tensor of bool, ``(N, C)``, optional
        Candidates left out (e.g. already-seen items); the target must not be excluded.

    Returns
    -------
    Tensor of float64, ``(N,)``: ``#{c : s_c > s_t} + #{c != t : s_c = s_t} / 2``.
    """
    if scores.ndim != 2 or targets.shape != scores.shape[:1]:
        raise ValueError(f"scores must be (N, C) and targets (N,), got "
                         f"{tuple(scores.shape)} and {tuple(targets.shape)}")
    target_score = scores.gather(1, targets[:, None])
    higher = scores > target_score
    tied = scores == target_score
    if exclude is not None:
        if bool(exclude.gather(1, targets[:, None]).any()):
            raise ValueError("exclude must not exclude a row's own target")
        higher &= ~exclude
        tied &= ~exclude
    return higher.sum(1).double() + (tied.sum(1).double() - 1.0) / 2.0


def sample_negatives(n_items: int, seen: list[np.ndarray], n_negatives: int = 100,
                     seed: int = 0) -> np.ndarray:
    """``(n_users, n_negatives)`` item ids (1-based) no user has interacted with.

    Drawn uniformly without replacement per user from ``1..n_items`` minus
    ``seen[u]``, with a NumPy generator seeded by ``seed``.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((len(seen), n_negatives), dtype=np.int64)
    for u, items in enumerate(seen):
        pool = np.setdiff1d(np.arange(1, n_items + 1), items)
        if len(pool) < n_negatives:
            raise ValueError(f"user {u} has only {len(pool)} unseen items, "
                             f"n_negatives={n_negatives} needed")
        out[u] = rng.choice(pool, n_negatives, replace=False)
    return out
