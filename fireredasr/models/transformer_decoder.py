"""Transformer decoder of FireRedASR-AED with a teacher-forced and an incremental path.

The teacher-forced :meth:`TransformerDecoder.forward` serves training; the incremental path
(:meth:`TransformerDecoder.init_state` + :meth:`TransformerDecoder.step`) keeps per-layer
self-attention key/value caches and computes cross-attention keys/values once per utterance,
so each decoding step costs O(t) instead of the released code's re-run over all t steps.
Both paths share the same layers and give the same logits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from fireredasr.models.conformer_encoder import sinusoid_table


class PositionalEncoding(nn.Module):
    """Absolute sinusoidal positions, stored as the released (1, max_len, d) buffer."""

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        assert d_model % 2 == 0
        self.register_buffer("pe", sinusoid_table(torch.arange(max_len).float(), d_model)[None])

    @property
    def max_len(self) -> int:
        return self.pe.size(1)

    def forward(self, length: int, offset: int = 0) -> torch.Tensor:
        if offset + length > self.max_len:
            raise ValueError(f"decoder position {offset + length} exceeds its table of {self.max_len}")
        return self.pe[:, offset: offset + length]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
           mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Scaled dot-product attention; ``mask`` is bool, True where a key may be attended."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class DecoderMultiHeadAttention(nn.Module):
    """Multi-head attention with biased query/value/output projections and a bias-free key."""

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.1):
        super().__init__()
        assert d_model % n_head == 0, "d_model must be divisible by n_head"
        self.n_head, self.d_k = n_head, d_model // n_head
        self.w_qs = nn.Linear(d_model, d_model)
        self.w_ks = nn.Linear(d_model, d_model, bias=False)
        self.w_vs = nn.Linear(d_model, d_model)
        self.fc = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, d) -> (N, H, T, d_k)."""
        n, t, _ = x.shape
        return x.view(n, t, self.n_head, self.d_k).transpose(1, 2)

    def project_kv(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.w_ks(x)), self.heads(self.w_vs(x))

    def output(self, ctx: torch.Tensor) -> torch.Tensor:
        """(N, H, T, d_k) attention context -> (N, T, d) after the output projection."""
        n, _, t, _ = ctx.shape
        return self.dropout(self.fc(ctx.transpose(1, 2).reshape(n, t, -1)))

    def forward(self, q: torch.Tensor, kv: torch.Tensor,
                mask: Optional[torch.Tensor]) -> torch.Tensor:
        k, v = self.project_kv(kv)
        return self.output(attend(self.heads(self.w_qs(q)), k, v, mask))


class PositionwiseFeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1):
        super().__init__()
        self.w_1 = nn.Linear(d_model, d_ff)
        self.act = nn.GELU()
        self.w_2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.w_2(self.act(self.w_1(x))))


# Stores a layer's new self-attention keys/values (R, H, L, d_k) and returns the keys/values
# of every position so far: a preallocated buffer in the search, graph inputs in ONNX.
KeyValueCache = Callable[[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]]


class DecoderLayer(nn.Module):
    """Pre-LN layer: causal self-attention, cross-attention on the encoder output, GELU MLP."""

    def __init__(self, d_model: int, n_head: int, dropout: float):
        super().__init__()
        self.self_attn_norm = nn.LayerNorm(d_model)
        self.self_attn = DecoderMultiHeadAttention(d_model, n_head, dropout)
        self.cross_attn_norm = nn.LayerNorm(d_model)
        self.cross_attn = DecoderMultiHeadAttention(d_model, n_head, dropout)
        self.mlp_norm = nn.LayerNorm(d_model)
        self.mlp = PositionwiseFeedForward(d_model, d_model * 4, dropout)

    def forward(self, x: torch.Tensor, cross_kv: Tuple[torch.Tensor, torch.Tensor],
                self_mask: Optional[torch.Tensor], cross_mask: Optional[torch.Tensor],
                self_cache: Optional[KeyValueCache] = None, beam: int = 1) -> torch.Tensor:
        """The one implementation of the layer, for training, cached search and ONNX.

        x: (R, L, d) positions to compute. ``cross_kv``: the encoder output's projected keys
        and values (N, H, T, d_k), R = N * beam, the ``beam`` rows of an utterance adjacent.
        ``self_cache``, when given, stores the new positions' self-attention keys/values and
        returns those of every position so far (the incremental path); without it the L
        positions attend among themselves (teacher forcing). Masks are bool (True: may
        attend) or additive float.
        """
        sa = self.self_attn
        h = self.self_attn_norm(x)
        k, v = sa.project_kv(h)
        if self_cache is not None:
            k, v = self_cache(k, v)
        x = x + sa.output(attend(sa.heads(sa.w_qs(h)), k, v, self_mask))
        x = x + self.cross_attention(self.cross_attn_norm(x), cross_kv, cross_mask, beam)
        return x + self.mlp(self.mlp_norm(x))

    def cross_attention(self, x: torch.Tensor, cross_kv: Tuple[torch.Tensor, torch.Tensor],
                        mask: Optional[torch.Tensor], beam: int) -> torch.Tensor:
        """Attention on the encoder output. With ``beam`` > 1 the beam rows of an utterance
        become extra query positions of it, so its keys/values are used once, never copied
        per beam."""
        ca = self.cross_attn
        q = ca.heads(ca.w_qs(x))  # (R, H, L, d_k)
        if beam == 1:
            return ca.output(attend(q, *cross_kv, mask))
        r, h, length, d_k = q.shape
        n = r // beam
        q = q.view(n, beam, h, length, d_k).transpose(1, 2).reshape(n, h, beam * length, d_k)
        ctx = attend(q, *cross_kv, mask)
        ctx = ctx.view(n, h, beam, length, d_k).transpose(1, 2).reshape(r, h, length, d_k)
        return ca.output(ctx)


@dataclass
class DecoderState:
    """Incremental decoding state for R = N * beam rows sharing N encoder outputs.

    ``self_k/self_v`` are per-layer (R, H, max_len, d_k) buffers filled up to ``length``;
    ``cross_k/cross_v`` are per-layer (N, H, T_enc, d_k), computed once and shared by the
    ``beam`` rows of each utterance (the rows of one utterance are adjacent).
    """

    self_k: List[torch.Tensor]
    self_v: List[torch.Tensor]
    key_valid: torch.Tensor  # (R, max_len) bool: position holds a non-pad token
    cross_k: List[torch.Tensor]
    cross_v: List[torch.Tensor]
    cross_mask: torch.Tensor  # (N, 1, 1, T_enc) bool
    beam: int
    length: int = 0

    def layer_cache(self, i: int) -> KeyValueCache:
        """Layer ``i``'s cache: the new position goes into the buffers at ``length``."""
        def store(k: torch.Tensor, v: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
            t = self.length
            self.self_k[i][:, :, t: t + 1] = k
            self.self_v[i][:, :, t: t + 1] = v
            return self.self_k[i][:, :, : t + 1], self.self_v[i][:, :, : t + 1]
        return store

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep the hypotheses ``rows`` (R,) after beam pruning; rows stay within their utterance.

        Only rows whose source changed are copied: beams are often stable, and the copy is the
        O(t) part of each step.
        """
        t = self.length
        moved = (rows != torch.arange(rows.numel(), device=rows.device)).nonzero().squeeze(1)
        if moved.numel() == 0:
            return
        src = rows[moved]
        for cache in (self.self_k, self.self_v):
            for buf in cache:
                buf[moved, :, :t] = buf[src, :, :t]
        self.key_valid[moved, :t] = self.key_valid[src, :t]


class TransformerDecoder(nn.Module):
    def __init__(self, sos_id: int, eos_id: int, pad_id: int, odim: int,
                 n_layers: int, n_head: int, d_model: int,
                 residual_dropout: float = 0.1, pe_maxlen: int = 5000):
        super().__init__()
        self.sos_id, self.eos_id, self.pad_id = sos_id, eos_id, pad_id
        self.n_layers = n_layers
        self.d_model = d_model
        self.tgt_word_emb = nn.Embedding(odim, d_model, padding_idx=pad_id)
        self.positional_encoding = PositionalEncoding(d_model, max_len=pe_maxlen)
        self.dropout = nn.Dropout(residual_dropout)
        self.layer_stack = nn.ModuleList(
            DecoderLayer(d_model, n_head, residual_dropout) for _ in range(n_layers))
        self.tgt_word_prj = nn.Linear(d_model, odim, bias=False)
        self.layer_norm_out = nn.LayerNorm(d_model)
        self.tgt_word_prj.weight = self.tgt_word_emb.weight  # tied, as released
        self.scale = math.sqrt(d_model)

    @property
    def max_positions(self) -> int:
        return self.positional_encoding.max_len

    def embed(self, ys: torch.Tensor, offset: int = 0) -> torch.Tensor:
        pe = self.positional_encoding(ys.size(1), offset)
        emb = self.tgt_word_emb(ys)
        return self.dropout(emb * self.scale + pe.to(emb.dtype))

    def forward(self, ys_in: torch.Tensor, enc: torch.Tensor,
                enc_mask: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits. ys_in: (N, L) starting with sos, pad-filled; enc_mask: (N, T) bool."""
        L = ys_in.size(1)
        causal = torch.ones(L, L, dtype=torch.bool, device=ys_in.device).tril()
        self_mask = (causal[None] & (ys_in != self.pad_id)[:, None, :])[:, None]
        cross_mask = enc_mask[:, None, None, :]
        x = self.embed(ys_in)
        for layer in self.layer_stack:
            x = layer(x, layer.cross_attn.project_kv(enc), self_mask, cross_mask)
        return self.tgt_word_prj(self.layer_norm_out(x))

    # ---- incremental decoding -------------------------------------------------------------

    def init_state(self, enc: torch.Tensor, enc_mask: torch.Tensor, beam: int,
                   max_len: int) -> DecoderState:
        """Precompute cross-attention keys/values and allocate self-attention caches."""
        n = enc.size(0)
        rows = n * beam
        self_k, self_v, cross_k, cross_v = [], [], [], []
        for layer in self.layer_stack:
            attn = layer.cross_attn
            k, v = attn.project_kv(enc)
            cross_k.append(k)
            cross_v.append(v)
            shape = (rows, attn.n_head, max_len, attn.d_k)
            self_k.append(enc.new_zeros(shape))
            self_v.append(enc.new_zeros(shape))
        key_valid = torch.zeros(rows, max_len, dtype=torch.bool, device=enc.device)
        return DecoderState(self_k, self_v, key_valid, cross_k, cross_v,
                            enc_mask[:, None, None, :], beam)

    def step(self, state: DecoderState, tokens: torch.Tensor) -> torch.Tensor:
        """Feed one token per row (R,) at position ``state.length``; return logits (R, V)."""
        t = state.length
        x = self.embed(tokens[:, None], offset=t)  # (R, 1, d)
        state.key_valid[:, t] = tokens != self.pad_id
        self_mask = state.key_valid[:, None, None, : t + 1]
        for i, layer in enumerate(self.layer_stack):
            x = layer(x, (state.cross_k[i], state.cross_v[i]), self_mask, state.cross_mask,
                      state.layer_cache(i), state.beam)
        state.length = t + 1
        return self.tgt_word_prj(self.layer_norm_out(x[:, 0]))
