"""What one benchmark run measures: :class:`BenchConfig` and the ``--tiny`` preset."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .._validation import check_int
from .cases import CONV_SHAPES, TINY_SHAPES

__all__ = ["BenchConfig", "SUITES", "DEFAULT_SUITES", "tiny_config"]

SUITES = ("conv", "downconv", "attention", "polyphase")
#: What ``--suite all`` runs: the polyphase chapter's sweep of C is run on its own.
DEFAULT_SUITES = ("conv", "downconv", "attention")


@dataclass(frozen=True)
class BenchConfig:
    """Every knob of a run; stored in the results JSON under ``"config"``.

    ``repeats`` timed repetitions follow ``warmup`` untimed calls (the first
    of them also measures how many calls make one repetition last ``min_time``
    seconds). The naive
    loops get ``naive_repeats`` (each call takes seconds). Attention runs use
    ``attention_repeats`` and a batch of ``attention_batch(n)``.
    """

    suites: tuple[str, ...] = DEFAULT_SUITES
    shapes: tuple[str, ...] = tuple(CONV_SHAPES)
    dtypes: tuple[str, ...] = ("float32", "float64")
    impls: tuple[str, ...] | None = None
    repeats: int = 7
    naive_repeats: int = 3
    warmup: int = 2
    min_time: float = 0.005
    threads: int = 1
    gemm_size: int = 1024
    downconv_batch: int = 256
    downconv_seq_len: int = 200
    hidden: int = 64
    attention_ns: tuple[int, ...] = (200, 1000, 5000, 20000)
    attention_max_batch: int = 256
    attention_score_mib: int = 64
    attention_repeats: int = 3
    tiny: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [s for s in self.suites if s not in SUITES]
        if bad or not self.suites:
            raise ValueError(f"suites must be a non-empty subset of {SUITES}, got {self.suites!r}")
        known = TINY_SHAPES if self.tiny else CONV_SHAPES
        bad = [s for s in self.shapes if s not in known]
        if bad:
            raise ValueError(f"shapes {bad} unknown; choose from {sorted(known)}")
        bad = [d for d in self.dtypes if d not in ("float32", "float64")]
        if bad or not self.dtypes:
            raise ValueError(f"dtypes must be float32 and/or float64, got {self.dtypes!r}")
        for name in ("repeats", "naive_repeats", "threads", "gemm_size", "downconv_batch",
                     "downconv_seq_len", "hidden", "attention_max_batch",
                     "attention_score_mib", "attention_repeats"):
            check_int(name, getattr(self, name), 1)
        check_int("warmup", self.warmup, 0)
        for n in self.attention_ns:
            check_int("attention_ns[i]", n, 1)

    @property
    def shape_table(self):
        """The shapes of this run, by name."""
        table = TINY_SHAPES if self.tiny else CONV_SHAPES
        return {s: table[s] for s in self.shapes}

    def attention_batch(self, n: int) -> int:
        """Batch for sequence length ``n``: one float32 ``n x n`` score map per
        sequence must fit ``attention_score_mib`` MiB, capped at ``attention_max_batch``."""
        per_sequence = n * n * np.dtype(np.float32).itemsize
        fit = (self.attention_score_mib * 2**20) // per_sequence
        return int(max(1, min(self.attention_max_batch, fit)))

    def as_dict(self) -> dict[str, Any]:
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        d["attention_batches"] = {str(n): self.attention_batch(n) for n in self.attention_ns}
        return d


def tiny_config(**overrides: Any) -> BenchConfig:
    """A run of a few seconds for the smoke test and the chapter's live cell."""
    base = BenchConfig(
        shapes=tuple(TINY_SHAPES), tiny=True, repeats=3, naive_repeats=2, warmup=1,
        min_time=0.0, gemm_size=64, downconv_batch=4, attention_ns=(80, 160, 320),
        attention_max_batch=4, attention_score_mib=1, attention_repeats=3,
    )
    return replace(base, **overrides)
