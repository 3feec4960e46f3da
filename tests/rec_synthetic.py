"""A tiny RecBole-format .inter file the rec tests write themselves (no MovieLens needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_inter(path: Path, n_users: int = 8, n_items: int = 30, min_len: int = 5,
                max_len: int = 40, seed: int = 0) -> dict[str, list]:
    """Write a tab-separated file with a typed header; return what was written, per user.

    User tokens are ``u<k>``, item tokens ``i<k>``; rows are shuffled so the loader
    has to sort by time; timestamps repeat within a user (stable ties).
    """
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for u in range(n_users):
        length = int(rng.integers(min_len, max_len + 1))
        items = rng.choice(n_items, size=min(length, n_items), replace=False)
        times = np.sort(rng.integers(0, length // 2 + 1, size=len(items)))
        truth[f"u{u}"] = [f"i{i}" for i in items]
        rows += [(f"u{u}", f"i{i}", float(rng.integers(1, 6)), float(t))
                 for i, t in zip(items, times)]
    # shuffle between users but keep each user's order, so ties are resolved by file order
    order = rng.permutation(len(rows))
    interleaved, cursors = [], {u: 0 for u in truth}
    user_rows = {u: [r for r in rows if r[0] == u] for u in truth}
    for k in order:
        u = rows[k][0]
        interleaved.append(user_rows[u][cursors[u]])
        cursors[u] += 1
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    lines += [f"{u}\t{i}\t{r:g}\t{t:g}" for u, i, r, t in interleaved]
    path.write_text("\n".join(lines) + "\n")
    return truth
