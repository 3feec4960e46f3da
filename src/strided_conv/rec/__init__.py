"""Next-item recommendation on MovieLens-100k with full, segment and PAUP attention.

- :mod:`strided_conv.rec.data` -- the MovieLens-100k loader (read from the installed
  ``recbole==1.2.1`` wheel, never imported), time-ordered leave-one-out splits, prefixes;
- :mod:`strided_conv.rec.model` -- the SASRec-style model and its attention choices;
- :mod:`strided_conv.rec.metrics` -- ``HR@10``, ``NDCG@10``, full and sampled ranking;
- :mod:`strided_conv.rec.train` -- prefix training with early stopping;
- :mod:`strided_conv.rec.results` -- run files: write, merge, summarise;
- ``python -m strided_conv.rec`` -- the command line (:mod:`strided_conv.rec.cli`).
"""
from .data import (Histories, build_histories, history_stats, load_ml100k, ml100k_path,
                   pad_prefixes, prefix_samples, read_inter)
from .metrics import hit_rate, ndcg, sample_negatives, standard_error, summarize_ranks, \
    target_ranks
from .model import ATTENTIONS, CausalSelfAttention, SequentialRecommender, check_histories
from .train import DEFAULT_SEGMENTS, TrainConfig, build_model, default_segments, evaluate, \
    train_run

__all__ = [
    "Histories", "build_histories", "history_stats", "load_ml100k", "ml100k_path",
    "pad_prefixes", "prefix_samples", "read_inter",
    "hit_rate", "ndcg", "sample_negatives", "standard_error", "summarize_ranks", "target_ranks",
    "ATTENTIONS", "CausalSelfAttention", "SequentialRecommender", "check_histories",
    "DEFAULT_SEGMENTS", "TrainConfig", "build_model", "default_segments", "evaluate",
    "train_run",
]
