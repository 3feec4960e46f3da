r"""PAUP's published attention layer on the package's ``DownConv`` ("DownConv at work").

PAUP (Zhu et al., SIGIR 2022) publishes ``ConvMultiHeadAttention``; the verbatim
class is ``strided_conv.original.paup_attention.ConvMultiHeadAttention``.
With input :math:`X` ``(N, n, D)``, positional embeddings :math:`P` ``(n, D)``,
:math:`h` heads of size :math:`D_h = D / h` and :math:`m` segments it computes,
per head (the head split is implicit below):

.. math::

    Q = X W_Q, \quad K = X W_K, \quad V = X W_V
        \qquad (N, n, D) \text{ each}

    \tilde K = \mathrm{DownConv}_K(K), \quad \tilde V = \mathrm{DownConv}_V(V)
        \qquad (N, m, D) \text{ each}

    M_{\text{seg}} = \operatorname{softmax}_{\text{queries}}\!\left(
        Q \tilde K^\top / \sqrt{D_h}\right)
        \qquad (N, h, n, m)

    \Pi = \mathrm{LN}_{\text{pos}}(P + X), \quad
    M_{\text{pos}} = \operatorname{softmax}_{\text{queries}}\!\left(
        \frac{(\Pi W_{PQ})(\Pi W_{PK})^\top}{\sqrt{2 D_h}\,\sqrt{D_h}}\right)
        \qquad (N, h, n, n)

    Y = \mathrm{LN}_{\text{out}}\bigl(X + \mathrm{Dropout}(
        [M_{\text{seg}} \tilde V + M_{\text{pos}} V] W_O)\bigr)
        \qquad (N, n, D)

(biases omitted; "softmax over queries" normalises each column of the score map,
the published ``nn.Softmax(dim=-2)``; dropout also follows :math:`M_{\text{seg}}`; the
square brackets join the :math:`h` heads). The first branch costs :math:`O(n m D)`;
the positional branch :math:`M_{\text{pos}} V` costs
:math:`O(n^2 D)`, so the published layer is quadratic in :math:`n` whatever
:math:`m` is. ``positional="none"`` drops that branch (an option of this book, not
of PAUP).

What differs from the published class (and nothing else):

- the two DownConvs are :class:`~strided_conv.DownConv`: sizes from the integer
  first-convolution length, infeasible ``(seq_len, m_segments, k1)`` refused with
  ``ValueError`` at construction (the original prints "size_erroe" and goes on),
  and the last ``seq_len mod k1`` items padded (``tail="pad"``) instead of dropped;
- constructor arguments and the input shapes are checked;
- ``positional`` and ``softmax_over`` switches (defaults: the published layer).

For every configuration both accept with ``k1`` dividing ``seq_len`` and the
same ``(k2, padding)``, the ``state_dict`` keys and shapes are identical (the
published weights load with ``strict=True`` either way) and the outputs agree to
rounding; the tests check both.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn as nn

from ._validation import check_int, check_real
from .downconv import DownConv, _check_dtype, _check_weight_size, _memory_errors

__all__ = [
    "ConvMultiHeadAttention",
    "POSITIONAL_BRANCHES",
    "PAUP_SOFTMAX_AXES",
    "paup_branch_times",
    "positional_map_bytes",
]

#: ``positional`` values: ``"published"`` is PAUP's n x n branch; ``"none"`` drops it
#: (an option of this book, not of PAUP).
POSITIONAL_BRANCHES: tuple[str, ...] = ("published", "none")
#: ``softmax_over`` values and the axis of the ``(N, h, n, m)`` score map they normalise.
PAUP_SOFTMAX_AXES: dict[str, int] = {"queries": -2, "segments": -1}


def _check_prob(name: str, value: Any) -> float:
    """A real number in ``[0, 1)`` (NumPy floats accepted, ``bool`` refused)."""
    try:
        value = check_real(name, value)
    except TypeError:
        raise TypeError(f"{name} must be a float in [0, 1), got {value!r} of type "
                        f"{type(value).__name__}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def _check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
    # isinstance first: a list or an array is not hashable, and `in` would not name it
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


class ConvMultiHeadAttention(nn.Module):
    r"""PAUP's ``ConvMultiHeadAttention``: attention over DownConv segments plus positions.

    Same constructor arguments, submodule names and parameter shapes as the
    published class (module docstring for the formula and what differs).

    Parameters
    ----------
    n_heads : int
        Number of heads :math:`h`; must divide ``hidden_size``.
    m_segments : int
        Number of segments :math:`m` of each DownConv.
    hidden_size : int
        Embedding size :math:`D`.
    seq_len : int
        Sequence length :math:`n`; every input must have exactly this length.
    hidden_dropout_prob, attn_dropout_prob : float in [0, 1)
        Dropout after the output projection, and on both attention maps.
    layer_norm_eps : float > 0
        ``eps`` of both LayerNorms.
    k1 : int
        Kernel = stride of each DownConv's first convolution.
    positional : {"published", "none"}, keyword-only, default "published"
        ``"published"``: PAUP's positional branch, an ``n x n`` map per head.
        ``"none"``: the branch (and its parameters ``pos_q_linear``,
        ``pos_k_linear``, ``pos_ln``) is left out, so the layer is
        :math:`O(n m D + n D^2)`; ``pos_emb`` is then ignored (may be ``None``).
        This variant is an option of this book, not part of PAUP: PAUP's layer
        without its positional branch (not the book's ``SegmentAttention``).
    softmax_over : {"queries", "segments"}, keyword-only, default "queries"
        Axis of both softmaxes: ``"queries"`` (``dim=-2``) is the published one;
        ``"segments"`` (``dim=-1``, each query's weights sum to 1) is the usual one.
    tail : {"pad", "error", "drop"}, keyword-only, default "pad"
        Passed to both :class:`~strided_conv.DownConv`; ``"drop"`` is what the
        published layer does when ``k1`` does not divide ``seq_len``.
    channel_reduction : int, keyword-only, default 16
        Passed to both DownConvs (the published value).

    Shapes
    ------
    ``input_tensor`` ``(batch, length, channels)`` = ``(N, seq_len, hidden_size)``,
    ``pos_emb`` ``(seq_len, hidden_size)`` -> output ``(N, seq_len, hidden_size)``.
    """

    def __init__(self, n_heads: int, m_segments: int, hidden_size: int, seq_len: int,
                 hidden_dropout_prob: float, attn_dropout_prob: float,
                 layer_norm_eps: float, k1: int, *, positional: str = "published",
                 softmax_over: str = "queries", tail: str = "pad",
                 channel_reduction: int = 16) -> None:
        super().__init__()
        n_heads = check_int("n_heads", n_heads, 1)
        hidden_size = check_int("hidden_size", hidden_size, 1)
        if hidden_size % n_heads:
            raise ValueError(f"hidden_size={hidden_size} must be a multiple of "
                             f"n_heads={n_heads}: each head gets hidden_size / n_heads channels")
        hidden_dropout_prob = _check_prob("hidden_dropout_prob", hidden_dropout_prob)
        attn_dropout_prob = _check_prob("attn_dropout_prob", attn_dropout_prob)
        if isinstance(layer_norm_eps, bool) or not isinstance(layer_norm_eps, (int, float)):
            raise TypeError(f"layer_norm_eps must be a positive float, got {layer_norm_eps!r}")
        if not 0 < layer_norm_eps < math.inf:
            raise ValueError(f"layer_norm_eps must be > 0 and finite, got {layer_norm_eps!r}")
        _check_choice("positional", positional, POSITIONAL_BRANCHES)
        _check_choice("softmax_over", softmax_over, PAUP_SOFTMAX_AXES)
        # every (D, D) weight, checked before any is made (as SegmentAttention does)
        _check_weight_size("the (hidden_size, hidden_size) weights", (hidden_size, hidden_size),
                           f"hidden_size={hidden_size}")
        self.n_heads = self.num_attention_heads = n_heads  # the second is the published name
        self.attention_head_size = hidden_size // n_heads
        self.all_head_size = hidden_size
        self.hidden_size, self.positional, self.softmax_over = hidden_size, positional, softmax_over
        self.layer_norm_eps = float(layer_norm_eps)

        with _memory_errors():
            self.query = nn.Linear(hidden_size, hidden_size)
            self.key = nn.Linear(hidden_size, hidden_size)
            self.value = nn.Linear(hidden_size, hidden_size)
        # Two DownConvs (the published layer compresses projected K and V separately);
        # DownConv checks seq_len, m_segments and k1 and refuses infeasible sizes.
        self.attpooling_key = DownConv(seq_len, hidden_size, m_segments, k1,
                                       channel_reduction, tail)
        self.attpooling_value = DownConv(seq_len, hidden_size, m_segments, k1,
                                         channel_reduction, tail)
        self.seq_len, self.m_segments, self.k1 = seq_len, m_segments, k1

        self.attn_scale_factor = 2
        self.pos_scaling = float(self.attention_head_size * self.attn_scale_factor) ** -0.5
        if positional == "published":
            self.pos_q_linear = nn.Linear(hidden_size, hidden_size)
            self.pos_k_linear = nn.Linear(hidden_size, hidden_size)
            self.pos_ln = nn.LayerNorm(hidden_size, eps=layer_norm_eps)

        self.attn_dropout = nn.Dropout(attn_dropout_prob)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.out_dropout = nn.Dropout(hidden_dropout_prob)

    def extra_repr(self) -> str:
        return (f"n_heads={self.n_heads}, m_segments={self.m_segments}, "
                f"hidden_size={self.hidden_size}, seq_len={self.seq_len}, k1={self.k1}, "
                f"positional={self.positional!r}, softmax_over={self.softmax_over!r}")

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, L, D)`` -> ``(N, h, L, D / h)``."""
        n, length, _ = x.shape
        return x.view(n, length, self.n_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def check_input(self, input_tensor: torch.Tensor, pos_emb: torch.Tensor | None) -> None:
        """Raise unless the shapes are ``(N, seq_len, D)`` and ``(seq_len, D)`` and both
        tensors have the layer's dtype (``N >= 0``)."""
        self.attpooling_key._check_input(input_tensor, "input_tensor", owner=self)
        if self.positional == "none":
            return
        if not isinstance(pos_emb, torch.Tensor):
            raise TypeError(f"pos_emb must be a torch.Tensor of shape (seq_len={self.seq_len}, "
                            f"hidden_size={self.hidden_size}), got {type(pos_emb).__name__}")
        if tuple(pos_emb.shape) != (self.seq_len, self.hidden_size):
            raise ValueError(f"pos_emb must have shape (seq_len={self.seq_len}, "
                             f"hidden_size={self.hidden_size}), got {tuple(pos_emb.shape)}")
        _check_dtype("pos_emb", pos_emb, self)  # LayerNorm would fail without naming it

    def segment_branch(self, input_tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The compressed branch :math:`M_{\text{seg}} \tilde V` and the projected values ``V``.

        Returns ``(context, V)``, shapes ``(N, h, n, D/h)`` each.
        """
        axis = PAUP_SOFTMAX_AXES[self.softmax_over]
        mixed_value = self.value(input_tensor)
        query = self._heads(self.query(input_tensor))
        key = self._heads(self.attpooling_key(self.key(input_tensor)))
        value = self._heads(self.attpooling_value(mixed_value))
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.attention_head_size)
        probs = self.attn_dropout(torch.softmax(scores, dim=axis))
        return probs @ value, self._heads(mixed_value)

    def positional_map(self, input_tensor: torch.Tensor, pos_emb: torch.Tensor) -> torch.Tensor:
        r"""The positional branch's ``(N, h, n, n)`` map :math:`M_{\text{pos}}` (used without
        dropout)."""
        if self.positional == "none":
            raise ValueError("positional='none': this layer has no positional map")
        pos = self.pos_ln(pos_emb.unsqueeze(0) + input_tensor)
        pos_query = self._heads(self.pos_q_linear(pos)) * self.pos_scaling
        pos_key = self._heads(self.pos_k_linear(pos))
        scores = pos_query @ pos_key.transpose(-1, -2) / math.sqrt(self.attention_head_size)
        return torch.softmax(scores, dim=PAUP_SOFTMAX_AXES[self.softmax_over])

    def forward(self, input_tensor: torch.Tensor,
                pos_emb: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, seq_len, D)``, ``(seq_len, D)`` -> ``(N, seq_len, D)`` (module docstring)."""
        self.check_input(input_tensor, pos_emb)
        context, value = self.segment_branch(input_tensor)
        if self.positional == "published":
            # As published: no dropout on this map, and it weights the UNcompressed values.
            context = context + self.positional_map(input_tensor, pos_emb) @ value
        batch, _, length, _ = context.shape
        context = context.permute(0, 2, 1, 3).reshape(batch, length, self.all_head_size)
        hidden = self.out_dropout(self.dense(context))
        return self.LayerNorm(hidden + input_tensor)


def positional_map_bytes(n: int, n_heads: int = 2, batch: int = 1, itemsize: int = 4) -> int:
    """Bytes of one ``(batch, n_heads, n, n)`` score map of the positional branch."""
    return batch * n_heads * n * n * itemsize


def _best_interleaved(fns: dict[str, Any], repeats: int) -> dict[str, float | None]:
    """Best-of-``repeats`` seconds of every callable, timed in rounds.

    Each round calls every function once, in an order that rotates between rounds,
    so a slow stretch of a shared machine falls on all of them alike; ``None``
    entries are skipped and stay ``None``.
    """
    names = [k for k, fn in fns.items() if fn is not None]
    for name in names:
        fns[name]()  # warm-up: first calls allocate and pick kernels
    best = dict.fromkeys(names, math.inf)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            fns[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return {k: best.get(k) for k in fns}


def paup_branch_times(n_values: Iterable[int] = (200, 500, 1000, 2000, 5000),
                      hidden_size: int = 64, n_heads: int = 2, m_segments: int = 4,
                      k1: int = 10, batch: int = 1, repeats: int = 3, seed: int = 0,
                      max_map_bytes: int = 10**9) -> dict[str, Any]:
    """Best-of-``repeats`` forward times (s) of the published layer and of each branch.

    Eval mode, ``torch.no_grad``, float32, one torch thread (restored afterwards),
    ``seq_len = n`` (``k1`` must divide every ``n``). At each ``n`` the parts are
    timed interleaved (every round calls each part once), so that the parts and
    the whole layer are measured in the same stretch of the machine's load:

    - ``"layer"``: the whole published layer (``positional="published"``);
    - ``"variant"``: the whole layer with ``positional="none"`` (PAUP's layer
      without the positional branch);
    - ``"projections"``: the three ``nn.Linear`` of Q, K, V, :math:`O(n D^2)`;
    - ``"downconv"``: both DownConvs on the projected K and V;
    - ``"segment_scores"``: scores, softmax and product with the m values, :math:`O(n m D)`;
    - ``"positional"``: the positional branch (LayerNorm, two Linears, the n x n
      map, its softmax and product with V), :math:`O(n D^2 + n^2 D)`;
    - ``"output"``: dense, residual and LayerNorm.

    Parts that build an n x n map are skipped (``None``) when one map would
    exceed ``max_map_bytes`` (a 20,000-item map of 2 heads is 3.2 GB in float32).
    """
    ns = [check_int("n", n, 1) for n in n_values]
    repeats = check_int("repeats", repeats, 1)
    for n in ns:
        if n % k1:
            raise ValueError(f"k1={k1} must divide every n, got n={n}")
    names = ("layer", "variant", "projections", "downconv", "segment_scores",
             "positional", "output")
    out: dict[str, Any] = {"n": ns, **{k: [] for k in names},
                           "config": {"hidden_size": hidden_size, "n_heads": n_heads,
                                      "m_segments": m_segments, "k1": k1, "batch": batch,
                                      "repeats": repeats, "seed": seed,
                                      "max_map_bytes": max_map_bytes, "dtype": "float32"}}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        for n in ns:
            big = positional_map_bytes(n, n_heads, batch) > max_map_bytes
            layer = ConvMultiHeadAttention(n_heads, m_segments, hidden_size, n, 0.0, 0.0,
                                           1e-12, k1).eval()
            variant = ConvMultiHeadAttention(n_heads, m_segments, hidden_size, n, 0.0, 0.0,
                                             1e-12, k1, positional="none").eval()
            x = torch.randn(batch, n, hidden_size)
            pos = torch.randn(n, hidden_size)
            with torch.no_grad():
                q, k, v = layer.query(x), layer.key(x), layer.value(x)
                ks, vs = layer.attpooling_key(k), layer.attpooling_value(v)
                qh, kh, vh = layer._heads(q), layer._heads(ks), layer._heads(vs)
                ctx = torch.zeros(batch, n, hidden_size)
                scale = math.sqrt(layer.attention_head_size)
                parts = {
                    "layer": None if big else (lambda: layer(x, pos)),
                    "variant": lambda: variant(x, pos),
                    "projections": lambda: (layer.query(x), layer.key(x), layer.value(x)),
                    "downconv": lambda: (layer.attpooling_key(k), layer.attpooling_value(v)),
                    "segment_scores": lambda: torch.softmax(
                        qh @ kh.transpose(-1, -2) / scale, dim=-2) @ vh,
                    "positional": None if big else (
                        lambda: layer.positional_map(x, pos) @ layer._heads(v)),
                    "output": lambda: layer.LayerNorm(layer.dense(ctx) + x),
                }
                for name, seconds in _best_interleaved(parts, repeats).items():
                    out[name].append(seconds)
    finally:
        torch.set_num_threads(threads)
    return out
