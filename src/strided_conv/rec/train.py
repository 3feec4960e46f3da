r"""Training on prefixes with early stopping, and leave-one-out evaluation.

One training sample per target item: the input is every item of the user
before the target (the last ``max_len`` of them, left-padded), the loss is the
cross-entropy of the target over all items (PAUP's ``loss_type: CE``), computed
from the last position's output only. No item after the target is ever in the
input, so attention over DownConv segments cannot see the future (RecBole, on
which PAUP's code is built, trains on prefixes the same way).

An epoch is one pass over the training prefixes in a random order, or, when
``TrainConfig.round_batches`` is set, that many batches drawn without
replacement from a running random order (a full pass of MovieLens-100k's
prefixes did not fit the committed run's time budget). After each epoch the
model is evaluated on the validation targets (full ranking, ``NDCG@10``);
training stops when that has not improved for ``patience`` epochs, and the
best epoch's weights are tested. Weights are kept in memory
only: trained on MovieLens they may not be redistributed.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .._validation import check_int
from .data import Histories, pad_prefixes, prefix_samples
from .metrics import sample_negatives, summarize_ranks, target_ranks
from .model import ATTENTIONS, SequentialRecommender

__all__ = ["TrainConfig", "DEFAULT_SEGMENTS", "default_segments", "build_model", "evaluate",
           "train_run", "step_times"]

#: ``(m_segments, k1)`` used when not given: ten-item segments up to 50 (k1 = 5, then
#: k2 = 2), PAUP's MovieLens-1M setting at 200. The runs train at 50 and 200; the
#: shorter lengths are for timing where segments start to pay (:func:`step_times`).
DEFAULT_SEGMENTS: dict[int, tuple[int, int]] = {10: (1, 5), 20: (2, 5), 30: (3, 5),
                                                50: (5, 5), 200: (4, 10)}


def default_segments(max_len: int) -> tuple[int, int]:
    """``(m_segments, k1)`` for ``max_len`` from :data:`DEFAULT_SEGMENTS`, else an error."""
    if max_len not in DEFAULT_SEGMENTS:
        raise ValueError(f"no default (m_segments, k1) for max_len={max_len}; give both "
                         f"(defaults exist for {sorted(DEFAULT_SEGMENTS)})")
    return DEFAULT_SEGMENTS[max_len]


@dataclass
class TrainConfig:
    """Everything that defines one training run except the model kind and seed."""

    max_len: int = 50
    hidden_size: int = 64
    n_blocks: int = 2
    n_heads: int = 2
    inner_size: int = 256
    dropout: float = 0.2
    m_segments: int | None = None
    k1: int | None = None
    batch_size: int = 256
    lr: float = 1e-3
    max_epochs: int = 30
    patience: int = 3
    round_batches: int | None = None  # batches per round; None = a full pass (an epoch)
    eval_batch_size: int = 512
    n_negatives: int = 100
    extra: dict[str, Any] = field(default_factory=dict)

    def segments(self) -> tuple[int, int]:
        if self.m_segments is None or self.k1 is None:
            m, k1 = default_segments(self.max_len)
            return (self.m_segments or m, self.k1 or k1)
        return self.m_segments, self.k1


def build_model(n_items: int, attention: str, config: TrainConfig) -> SequentialRecommender:
    """The :class:`SequentialRecommender` a run trains: ``attention`` with ``config``'s sizes
    and its segments (``TrainConfig.segments()``), for items ``1..n_items``."""
    m, k1 = config.segments()
    return SequentialRecommender(
        n_items, config.max_len, attention, hidden_size=config.hidden_size,
        n_blocks=config.n_blocks, n_heads=config.n_heads, inner_size=config.inner_size,
        dropout=config.dropout, m_segments=m, k1=k1)


@torch.no_grad()
def evaluate(model: SequentialRecommender, histories: Histories, split: str,
             negatives: np.ndarray | None = None, batch_size: int = 512
             ) -> dict[str, np.ndarray]:
    """Target ranks of every user for ``split`` (``"valid"`` or ``"test"``).

    Full ranking scores every item, leaving out padding and the items of the
    user's input history (all of it, not only the last ``max_len``). With
    ``negatives`` ``(n_users, n_neg)`` the sampled ranks among the target and
    those items are returned too.

    Returns
    -------
    dict
        ``{"full": ranks (n_users,)}`` and, with negatives, ``"sampled"``.
    """
    was_training = model.training
    model.eval()
    samples = prefix_samples(histories, split)
    full, sampled = [], []
    for lo in range(0, len(samples), batch_size):
        index = np.arange(lo, min(lo + batch_size, len(samples)))
        inputs, targets = samples.batch(histories, index, model.max_len)
        scores = model.logits(torch.from_numpy(inputs))
        seen_len = int((samples.targets[index] - samples.starts[index]).max())
        seen = torch.from_numpy(pad_prefixes(histories.items, samples.starts[index],
                                             samples.targets[index], seen_len))
        exclude = torch.zeros(len(index), model.n_items + 1, dtype=torch.bool)
        exclude.scatter_(1, seen, True)
        target_col = torch.from_numpy(targets - 1)
        full.append(target_ranks(scores, target_col, exclude[:, 1:]).numpy())
        if negatives is not None:
            cand = torch.from_numpy(np.concatenate(
                [targets[:, None], negatives[samples.users[index]]], axis=1) - 1)
            sampled.append(target_ranks(scores.gather(1, cand),
                                        torch.zeros(len(index), dtype=torch.long)).numpy())
    model.train(was_training)
    out = {"full": np.concatenate(full)}
    if negatives is not None:
        out["sampled"] = np.concatenate(sampled)
    return out


def _train_step(model: SequentialRecommender, optimizer: torch.optim.Optimizer,
                inputs: np.ndarray, targets: np.ndarray) -> float:
    """One step on a batch of prefixes: cross-entropy over all items, backward, update."""
    loss = F.cross_entropy(model.logits(torch.from_numpy(inputs)),
                           torch.from_numpy(targets - 1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def train_run(histories: Histories, attention: str, seed: int, config: TrainConfig,
              progress: bool = True, label: str = "") -> dict[str, Any]:
    """Train one model with early stopping and test it.

    Seeds ``torch.manual_seed(seed)`` (initialisation, dropout) and a NumPy
    generator (epoch order) with ``seed``; test negatives use seed 0 for every
    run, so all models are ranked against the same sampled items.

    Returns
    -------
    dict
        JSON-ready: ``model``, ``seed``, ``max_len``, sizes, ``parameters``,
        ``epochs`` (loss, seconds, validation ``HR@10``/``NDCG@10`` per epoch),
        ``best_epoch``, ``stopped_early``, ``test`` (metrics and per-user ranks
        for ``full`` and ``sampled``), ``seconds``.
    """
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(histories.n_items, attention, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    train = prefix_samples(histories, "train")
    per_round = math.ceil(len(train) / config.batch_size)
    if config.round_batches is not None:
        per_round = config.round_batches
    order, cursor = rng.permutation(len(train)), 0
    epochs: list[dict[str, Any]] = []
    best, best_state, bad = -math.inf, None, 0
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        t0, total, count = time.perf_counter(), 0.0, 0
        bar = tqdm(range(per_round), disable=not progress, file=sys.stderr, leave=False,
                   desc=f"{label}{attention} n={config.max_len} seed={seed} round {epoch}")
        for b in bar:
            if cursor >= len(train):  # a full pass done: reshuffle
                order, cursor = rng.permutation(len(train)), 0
            index = order[cursor:cursor + config.batch_size]
            cursor += len(index)
            loss = _train_step(model, optimizer, *train.batch(histories, index, config.max_len))
            total += loss * len(index)
            count += len(index)
            if b % 10 == 0:
                bar.set_postfix(loss=f"{total / count:.3f}")
        bar.close()
        train_seconds = time.perf_counter() - t0
        valid = summarize_ranks(evaluate(model, histories, "valid",
                                         batch_size=config.eval_batch_size)["full"])
        epochs.append({"epoch": epoch, "loss": total / count, "train_seconds": train_seconds,
                       "seconds": time.perf_counter() - t0, "samples": count,
                       "valid_hr10": valid["hr"], "valid_ndcg10": valid["ndcg"]})
        if valid["ndcg"] > best:
            best, best_state, bad = valid["ndcg"], copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= config.patience:
                break
    best_epoch = max(epochs, key=lambda e: (e["valid_ndcg10"], -e["epoch"]))["epoch"]
    model.load_state_dict(best_state)
    seen = [histories.history(u) for u in range(histories.n_users)]
    negatives = sample_negatives(histories.n_items, seen, config.n_negatives, seed=0)
    ranks = evaluate(model, histories, "test", negatives, config.eval_batch_size)
    m, k1 = config.segments()
    return {
        "model": attention, "seed": seed, "max_len": config.max_len,
        "m_segments": m if attention != "full" else None,
        "k1": k1 if attention != "full" else None,
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(config),
        "epochs": epochs, "best_epoch": best_epoch,
        "stopped_early": len(epochs) < config.max_epochs,
        "test": {kind: {**summarize_ranks(r), "ranks": r.tolist()}
                 for kind, r in ranks.items()},
        "seconds": time.perf_counter() - start,
    }


def step_times(histories: Histories, max_lens: Sequence[int] = (50, 200),
               attentions: Sequence[str] = ATTENTIONS, batch_size: int = 128,
               repeats: int = 10, warmup: int = 2, seed: int = 0) -> dict[str, Any]:
    """Milliseconds per training prefix of every model, timed interleaved on one batch.

    For each length a model of each kind (:func:`build_model`, Adam, the default
    :class:`TrainConfig` otherwise) runs ``warmup`` untimed steps, then
    ``repeats`` rounds in which every model takes one timed step (batch, forward,
    backward, update) on the same ``batch_size`` training prefixes; the order of
    the models rotates every round, so a slow stretch of the machine falls on all
    of them. The training run's own epoch times cannot compare models: its models
    ran one after another, each in a different stretch of the machine's load.

    Returns
    -------
    dict
        ``config`` and ``rows``: one per (length, model) with ``max_len``,
        ``model``, ``ms_per_prefix`` (median over rounds), ``ms_per_prefix_min``
        and ``ms`` (every round's step time in ms, in order).
    """
    attentions = tuple(attentions)
    max_lens = [check_int("max_lens", n, 1) for n in max_lens]
    for name in attentions:
        if name not in ATTENTIONS:
            raise ValueError(f"attentions must be among {ATTENTIONS}, got {name!r}")
    batch_size = check_int("batch_size", batch_size, 1)
    repeats, warmup = check_int("repeats", repeats, 1), check_int("warmup", warmup, 0)
    train = prefix_samples(histories, "train")
    index = np.random.default_rng(seed).permutation(len(train))[:batch_size]
    rows = []
    for max_len in max_lens:
        config = TrainConfig(max_len=max_len, batch_size=batch_size)
        torch.manual_seed(seed)
        models = {a: build_model(histories.n_items, a, config) for a in attentions}
        optims = {a: torch.optim.Adam(m.parameters(), lr=config.lr) for a, m in models.items()}

        def step(a: str) -> float:
            t0 = time.perf_counter()
            _train_step(models[a], optims[a], *train.batch(histories, index, max_len))
            return 1e3 * (time.perf_counter() - t0)

        for a in attentions:
            for _ in range(warmup):
                step(a)
        ms: dict[str, list[float]] = {a: [] for a in attentions}
        for r in range(repeats):
            for a in attentions[r % len(attentions):] + attentions[:r % len(attentions)]:
                ms[a].append(step(a))
        rows += [{"max_len": max_len, "model": a, "ms": ms[a],
                  "ms_per_prefix": float(np.median(ms[a])) / len(index),
                  "ms_per_prefix_min": min(ms[a]) / len(index)} for a in attentions]
    return {"config": {"batch_size": len(index), "repeats": repeats, "warmup": warmup,
                       "seed": seed, "max_lens": list(max_lens), "attentions": list(attentions),
                       "segments": {n: list(default_segments(n)) for n in max_lens
                                    if n in DEFAULT_SEGMENTS}},
            "rows": rows}
