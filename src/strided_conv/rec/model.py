r"""A SASRec-style next-item model with full, segment or PAUP attention ("DownConv at work").

SASRec (Kang and McAuley, 2018): item embeddings, stacked blocks of self-attention
and a position-wise feed-forward layer, and the score of an item for a history is
:math:`h^\top e`, the last position's output :math:`h` against the item's embedding
:math:`e` (shared input/output embeddings). Here the attention of every block is
one of :data:`ATTENTIONS`:

``"full"``
    causal multi-head softmax self-attention over all ``n`` positions (an
    ``n x n`` map, :math:`O(n^2 D)`), padded keys masked;
``"segment"``
    the book's :class:`~strided_conv.SegmentAttention` (chapter 3): one head,
    keys and values from the ``m`` segments of one DownConv, :math:`O(n m D)`;
``"paup"``
    PAUP's published layer, :class:`~strided_conv.ConvMultiHeadAttention`, fed
    the position embeddings as its ``pos_emb`` (as PAUP's model does; no position
    embedding is added to the input then);
``"paup-nopos"``
    the same layer with ``positional="none"`` (PAUP's layer without its positional
    branch; an option of this book, not PAUP's model);
    positions are added to the input instead.

Shapes: a batch of histories ``(N, max_len)`` of item ids, LEFT-padded with 0;
:meth:`SequentialRecommender.encode` gives ``(N, max_len, D)`` and
:meth:`SequentialRecommender.forward` the last position's ``(N, D)``.

Padding is handled explicitly: the padding item's embedding is zero and padded
positions are set to zero at the input of every block (so a DownConv reads zeros
there, as its own zero padding would give); full attention masks padded keys (a
padded query sees only itself, so no row of the map is empty). PAUP's
positional branch has no mask and attends to padded positions, as published.

DownConv mixes positions: a segment's key holds every item of its span, later
ones included. So this model must be trained on prefixes (one target per input,
the target never in the input, see :mod:`strided_conv.rec.data`), not with
SASRec's one target per position: :meth:`SequentialRecommender.encode` at
position ``u`` depends on items after ``u`` for every attention but ``"full"``
(the tests show it).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import check_int
from ..attention import SegmentAttention
from ..paup import ConvMultiHeadAttention

__all__ = ["ATTENTIONS", "SequentialRecommender", "CausalSelfAttention", "check_histories"]

#: The attention kinds a :class:`SequentialRecommender` block can use.
ATTENTIONS: tuple[str, ...] = ("full", "segment", "paup", "paup-nopos")


class CausalSelfAttention(nn.Module):
    r"""Multi-head causal softmax self-attention with padded keys masked.

    Query ``u`` attends to keys ``u' <= u`` that are not padding, and always to
    itself: :math:`\operatorname{softmax}(QK^\top/\sqrt{D/h} + M)V`, then a
    dense layer. ``(N, n, D)``, mask ``(N, n)`` (True = real item) -> ``(N, n, D)``.
    """

    def __init__(self, hidden_size: int, n_heads: int, attn_dropout_prob: float) -> None:
        super().__init__()
        if hidden_size % n_heads:
            raise ValueError(f"hidden_size={hidden_size} must be a multiple of n_heads={n_heads}")
        self.n_heads, self.head_size = n_heads, hidden_size // n_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.attn_dropout_prob = float(attn_dropout_prob)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n_batch, n, d = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(n_batch, n, self.n_heads, self.head_size).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        allowed = (causal & mask[:, None, None, :]) | torch.eye(n, dtype=torch.bool,
                                                                device=x.device)
        # PyTorch's fused kernel: the same softmax(QK^T/sqrt(D/h) + M)V as written out,
        # about 2.5x faster than the explicit form at n = 200 on one thread.
        context = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed,
            dropout_p=self.attn_dropout_prob if self.training else 0.0)
        return self.dense(context.transpose(1, 2).reshape(n_batch, n, d))


class _FeedForward(nn.Module):
    """``LN(x + Dropout(W2 GELU(W1 x)))``, PAUP's and SASRec's position-wise layer."""

    def __init__(self, hidden_size: int, inner_size: int, dropout: float, eps: float) -> None:
        super().__init__()
        self.dense_1 = nn.Linear(hidden_size, inner_size)
        self.dense_2 = nn.Linear(inner_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(x + self.dropout(self.dense_2(F.gelu(self.dense_1(x)))))


class _Block(nn.Module):
    def __init__(self, attention: str, max_len: int, hidden_size: int, n_heads: int,
                 inner_size: int, dropout: float, m_segments: int, k1: int,
                 eps: float) -> None:
        super().__init__()
        self.attention = attention
        if attention == "full":
            self.attn = CausalSelfAttention(hidden_size, n_heads, dropout)
        elif attention == "segment":
            self.attn = SegmentAttention(max_len, hidden_size, m_segments, k1)
        else:  # PAUP's layer has its own dense, dropout, residual and LayerNorm
            positional = "published" if attention == "paup" else "none"
            self.attn = ConvMultiHeadAttention(n_heads, m_segments, hidden_size, max_len,
                                               dropout, dropout, eps, k1,
                                               positional=positional)
        if attention in ("full", "segment"):
            self.dropout = nn.Dropout(dropout)
            self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)
        self.feed_forward = _FeedForward(hidden_size, inner_size, dropout, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        if self.attention == "full":
            x = self.LayerNorm(x + self.dropout(self.attn(x, mask)))
        elif self.attention == "segment":
            x = self.LayerNorm(x + self.dropout(self.attn(x)))
        else:
            x = self.attn(x, pos)
        return self.feed_forward(x)


def check_histories(seqs: object, max_len: int, n_items: int) -> torch.Tensor:
    """Raise unless ``seqs`` is an integer tensor ``(N, max_len)`` with ids in ``0..n_items``."""
    if not isinstance(seqs, torch.Tensor):
        raise TypeError(f"histories must be a torch.Tensor of item ids, got {type(seqs).__name__}")
    if seqs.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"histories must hold integer item ids (int64 or int32), got {seqs.dtype}")
    if seqs.ndim != 2 or seqs.shape[1] != max_len:
        raise ValueError(f"histories must have shape (batch, max_len={max_len}), "
                         f"got {tuple(seqs.shape)}")
    if seqs.numel():
        lo, hi = int(seqs.min()), int(seqs.max())
        if lo < 0 or hi > n_items:
            raise ValueError(f"item ids must be in 0..n_items={n_items} (0 = padding), "
                             f"got values from {lo} to {hi}")
    return seqs.long()


class SequentialRecommender(nn.Module):
    """SASRec-style next-item model with a choice of attention (module docstring).

    Parameters
    ----------
    n_items : int
        Items are ``1..n_items``; 0 is padding.
    max_len : int
        Length ``n`` of every (left-padded) history.
    attention : {"full", "segment", "paup", "paup-nopos"}
    hidden_size, n_blocks, n_heads, inner_size : int, defaults 64, 2, 2, 256
        As in PAUP.yaml (``n_heads`` is unused by ``"segment"``, one head).
    dropout : float, default 0.2
    m_segments, k1 : int, defaults 5, 5
        DownConv sizes for ``"segment"``/``"paup"``/``"paup-nopos"``; must be feasible
        for ``max_len`` (:class:`~strided_conv.DownConv` refuses otherwise).
    layer_norm_eps : float, default 1e-12
    init_std : float, default 0.02
        Normal initialisation of embeddings and Linear weights (PAUP's
        ``initializer_range``); convolutions keep PyTorch's default.
    """

    def __init__(self, n_items: int, max_len: int, attention: str = "full", *,
                 hidden_size: int = 64, n_blocks: int = 2, n_heads: int = 2,
                 inner_size: int = 256, dropout: float = 0.2, m_segments: int = 5,
                 k1: int = 5, layer_norm_eps: float = 1e-12, init_std: float = 0.02) -> None:
        super().__init__()
        self.n_items = check_int("n_items", n_items, 1)
        self.max_len = check_int("max_len", max_len, 1)
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        self.attention = attention
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        n_blocks = check_int("n_blocks", n_blocks, 1)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.item_embedding = nn.Embedding(n_items + 1, hidden_size, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            _Block(attention, max_len, hidden_size, n_heads, inner_size, dropout,
                   m_segments, k1, layer_norm_eps) for _ in range(n_blocks))
        self.m_segments, self.k1 = m_segments, k1
        self.apply(lambda mod: _init(mod, init_std))

    def extra_repr(self) -> str:
        return (f"n_items={self.n_items}, max_len={self.max_len}, "
                f"attention={self.attention!r}")

    def encode(self, seqs: torch.Tensor) -> torch.Tensor:
        """Every position's output, ``(N, max_len)`` ids -> ``(N, max_len, D)``.

        Only the last position is used for prediction; for every attention but
        ``"full"`` position ``u`` also depends on items after ``u``.
        """
        seqs = check_histories(seqs, self.max_len, self.n_items)
        mask = seqs > 0
        keep = mask.unsqueeze(-1).to(self.item_embedding.weight.dtype)
        x = self.item_embedding(seqs)
        pos = self.position_embedding.weight
        if self.attention != "paup":  # PAUP feeds positions to its layer instead
            x = x + pos
        x = self.dropout(self.LayerNorm(x)) * keep
        for block in self.blocks:
            x = block(x, mask, pos) * keep
        return x

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """The history representation: last position's output, ``(N, D)``."""
        return self.encode(seqs)[:, -1]

    def logits(self, seqs: torch.Tensor) -> torch.Tensor:
        """Scores of items ``1..n_items`` (column ``i - 1`` is item ``i``), ``(N, n_items)``."""
        return self.forward(seqs) @ self.item_embedding.weight[1:].T


def _init(module: nn.Module, std: float) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, std)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
