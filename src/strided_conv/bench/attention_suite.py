"""The DownConv and attention suites (float32, torch on the CPU).

DownConv: forward, and forward+backward (gradients of the input and every
parameter), at ``batch x seq_len x hidden`` = 256 x 200 x 64 by default.
Implementations share one set of weights and are checked against a plain
functional reference (``F.conv1d``, ReLU, ``F.conv1d``) before timing.

Attention: ``n`` queries over keys/values, hidden 64, for each ``n`` with a
batch that keeps one ``n x n`` score map per sequence within the budget
(:meth:`BenchConfig.attention_batch`); times are reported per sequence, and a
least-squares line through ``log(time per sequence)`` against ``log n`` gives
each implementation's growth exponent. The segment layer's ``m_segments``,
``k1``, ``channel_reduction`` and ``tail`` are recorded with the results.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..attention import FullSelfAttention, SegmentAttention
from ..downconv import DownConv
from ..original.downconv import DownConv as OriginalDownConv
from .checks import check_close
from .config import BenchConfig
from .timing import calls_per_repetition, interleaved_times, loglog_slope, median

__all__ = ["DOWNCONV_IMPLS", "ATTENTION_IMPLS", "run_downconv_suite", "run_attention_suite",
           "planned_attention_repetitions", "functional_downconv"]

Tick = Callable[[str], None]
DTYPE = "float32"
DOWNCONV_REFERENCE = "functional"


def functional_downconv(module: DownConv, x: torch.Tensor) -> torch.Tensor:
    """The reference: the same two convolutions written with ``torch.nn.functional``."""
    h = x.permute(0, 2, 1)
    if module.tail_padding:
        h = F.pad(h, (0, module.tail_padding))
    h = F.relu(F.conv1d(h, module.conv1a.weight, module.conv1a.bias, stride=module.k1))
    h = F.conv1d(h, module.conv2a.weight, module.conv2a.bias, stride=module.k2,
                 padding=module.padding)
    return h.permute(0, 2, 1)


class _Functional(nn.Module):
    def __init__(self, module: DownConv) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional_downconv(self.module, x)


def _original(module: DownConv) -> nn.Module:
    """The seed's module with the package module's weights (identical for the defaults)."""
    orig = OriginalDownConv(module.seq_len, module.hidden_size, module.m_segments, module.k1,
                            module.channel_reduction)
    orig.load_state_dict(module.state_dict())
    return orig


#: name -> (factory(reference DownConv) -> module, description)
DOWNCONV_IMPLS: dict[str, tuple[Callable[[DownConv], nn.Module], str]] = {
    DOWNCONV_REFERENCE: (_Functional, "F.conv1d, ReLU, F.conv1d with the same weights"),
    "downconv": (lambda m: m, "strided_conv.DownConv (checked sizes)"),
    "original": (_original, "strided_conv.original.downconv.DownConv (the seed)"),
}


def planned_attention_repetitions(config: BenchConfig) -> int:
    """Timed repetitions of the downconv and attention suites."""
    total = 0
    if "downconv" in config.suites:
        total += 2 * len(DOWNCONV_IMPLS) * config.repeats
    if "attention" in config.suites:
        total += len(config.attention_ns) * len(ATTENTION_IMPLS) * config.attention_repeats
    return total


def _time(fns: dict[str, Callable[[], object]], repeats: int, config: BenchConfig,
          tick: Tick) -> dict[str, list[float]]:
    number = {n: calls_per_repetition(f, config.min_time) for n, f in fns.items()}
    return interleaved_times(fns, dict.fromkeys(fns, repeats), warmup=max(0, config.warmup - 1),
                             number=number, on_call=tick)


def _fwd_bwd(module: nn.Module, x: torch.Tensor, g: torch.Tensor) -> Callable[[], Any]:
    inputs = [x, *module.parameters()]
    return lambda: torch.autograd.grad(module(x), inputs, g)


def run_downconv_suite(config: BenchConfig, tick: Tick) -> dict[str, Any]:
    """Check, then time forward and forward+backward of every DownConv implementation."""
    torch.manual_seed(config.seed)
    ref = DownConv(config.downconv_seq_len, config.hidden)
    mods = {name: factory(ref) for name, (factory, _) in DOWNCONV_IMPLS.items()}
    x = torch.randn(config.downconv_batch, config.downconv_seq_len, config.hidden,
                    requires_grad=True)
    g = torch.randn(config.downconv_batch, ref.m_segments, config.hidden)
    want_out = mods[DOWNCONV_REFERENCE](x)
    want_grads = _fwd_bwd(mods[DOWNCONV_REFERENCE], x, g)()
    labels = ["dx"] + [f"d{n}" for n, _ in ref.named_parameters()]
    checks = []
    for name, mod in mods.items():
        if name != DOWNCONV_REFERENCE:
            checks.append(check_close(f"downconv {name} out", mod(x), want_out, DTYPE))
            for label, got, want in zip(labels, _fwd_bwd(mod, x, g)(), want_grads, strict=True):
                checks.append(check_close(f"downconv {name} {label}", got, want, DTYPE))
    timings = []
    for pass_, make in (("forward", lambda m: (lambda: m(x))),
                        ("forward_backward", lambda m: _fwd_bwd(m, x, g))):
        times = _time({n: make(m) for n, m in mods.items()}, config.repeats, config, tick)
        timings += [{"impl": n, "pass": pass_, "times_s": t, "median_s": median(t)}
                    for n, t in times.items()]
    return {"batch": config.downconv_batch, "seq_len": config.downconv_seq_len,
            "hidden": config.hidden, "checks": checks, "timings": timings}


class _SDPA(nn.Module):
    """``F.scaled_dot_product_attention`` on the projections of a :class:`FullSelfAttention`."""

    def __init__(self, full: FullSelfAttention) -> None:
        super().__init__()
        self.full = full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.full
        return F.scaled_dot_product_attention(f.query(x), f.key(x), f.value(x))


def _segment_reference(model: SegmentAttention, x: torch.Tensor) -> torch.Tensor:
    """SDPA of the item queries over the segment keys/values, segments from the reference convs."""
    segments = functional_downconv(model.downconv, x)
    return F.scaled_dot_product_attention(model.query(x), model.key(segments),
                                          model.value(segments))


#: name -> (factory(n, hidden, full) -> module, description). ``full`` is one
#: FullSelfAttention per n, shared so that "full" and "sdpa" use the same weights.
ATTENTION_IMPLS: dict[str, tuple[Callable[[int, int, FullSelfAttention], nn.Module], str]] = {
    "segment": (lambda n, hidden, full: SegmentAttention(n, hidden),
                "strided_conv.SegmentAttention: DownConv, then n x m softmax attention"),
    "full": (lambda n, hidden, full: full,
             "strided_conv.FullSelfAttention: n x n softmax attention"),
    "sdpa": (lambda n, hidden, full: _SDPA(full),
             "torch.nn.functional.scaled_dot_product_attention, same projections as full"),
}


def _attention_models(n: int, hidden: int, seed: int) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    full = FullSelfAttention(hidden)
    return {name: factory(n, hidden, full) for name, (factory, _) in ATTENTION_IMPLS.items()}


def _check_attention(n: int, models: dict[str, nn.Module], x: torch.Tensor) -> list[dict]:
    """full and sdpa agree; segment agrees with SDPA over its segments."""
    sdpa = models["sdpa"](x)
    return [check_close(f"attention n={n} full", models["full"](x), sdpa, DTYPE),
            check_close(f"attention n={n} segment", models["segment"](x),
                        _segment_reference(models["segment"], x), DTYPE)]


def run_attention_suite(config: BenchConfig, tick: Tick) -> dict[str, Any]:
    """Per n: check, then time every attention implementation (forward, no grad)."""
    checks, timings, setting = [], [], {}
    with torch.no_grad():
        for n in config.attention_ns:
            batch = config.attention_batch(n)
            models = _attention_models(n, config.hidden, config.seed)
            x = torch.randn(batch, n, config.hidden)
            checks += _check_attention(n, models, x)
            fns = {name: (lambda m=m: m(x)) for name, m in models.items()}
            times = _time(fns, config.attention_repeats, config, tick)
            timings += [{"impl": name, "n": n, "batch": batch, "times_s": t, "median_s": median(t),
                         "median_per_sequence_s": median(t) / batch} for name, t in times.items()]
            # The segment layer's DownConv configuration, as built (the cost model needs
            # it; the config does not hold m and k1): the same for every n.
            dc = models["segment"].downconv
            setting = {"m_segments": dc.m_segments, "k1": dc.k1,
                       "channel_reduction": dc.channel_reduction, "tail": dc.tail}
            del models, x, fns, dc
    slopes = {name: loglog_slope([t["n"] for t in timings if t["impl"] == name],
                                 [t["median_per_sequence_s"] for t in timings if t["impl"] == name])
              for name in ATTENTION_IMPLS} if len(set(config.attention_ns)) > 1 else {}
    return {"hidden": config.hidden, **setting,
            "batches": {str(n): config.attention_batch(n) for n in config.attention_ns},
            "checks": checks, "timings": timings, "slopes": slopes}
