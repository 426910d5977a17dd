"""Conformer encoder of FireRedASR (checkpoint-compatible with the released AED and LLM models).

Module and parameter names mirror the released state dict (``encoder.layer_stack.N.mhsa.w_qs``
and so on), so a released checkpoint loads with strict key and shape checks.
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# The released encoder pads every input with this many zero frames before subsampling
# (3 frames of left and right context of the two stride-2 convolutions, minus one).
SUBSAMPLING_PAD_FRAMES = 6
# Relative positions cover +-(REL_POS_MAX_LEN - 1), so at most REL_POS_MAX_LEN subsampled frames.
REL_POS_MAX_LEN = 5000


class InputTooLongError(ValueError):
    """An input longer than the relative positional table supports."""


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(N,) lengths -> (N, max_len) bool mask, True on valid positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def encoder_output_lengths(lengths: torch.Tensor, frames: int, ceil_lengths: bool) -> torch.Tensor:
    """Valid encoder frames for ``lengths`` fbank frames, of ``frames`` computed ones: v1
    (FireRedASR) counts the convolutions' own output, ((L-3)//2+1-3)//2+1; v2 (FireRedASR2, the
    folders with a CTC head) ceil(L/4), 1-2 frames more."""
    if ceil_lengths:
        return torch.div(lengths + 3, 4, rounding_mode="floor").clamp(max=frames)
    return Conv2dSubsampling.output_lengths(lengths)


class Conv2dSubsampling(nn.Module):
    """Two 3x3 stride-2 convolutions with ReLU, then a projection to d_model (4x subsampling)."""

    def __init__(self, idim: int, d_model: int, out_channels: int = 32):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, out_channels, 3, 2), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 2), nn.ReLU(),
        )
        self.out = nn.Linear(out_channels * (((idim - 1) // 2 - 1) // 2), d_model)

    @staticmethod
    def output_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Valid output frames for ``lengths`` input frames: L -> (L-3)//2+1, twice."""
        for _ in range(2):
            lengths = torch.div(lengths - 3, 2, rounding_mode="floor") + 1
        return lengths.clamp(min=0)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """x: (N, T, idim) -> (N, T', d) and the (N,) valid output lengths."""
        x = self.conv(x.unsqueeze(1))
        n, c, t, d = x.size()
        x = self.out(x.transpose(1, 2).reshape(n, t, c * d))
        return x, self.output_lengths(lengths)


def sinusoid_table(positions: torch.Tensor, d_model: int) -> torch.Tensor:
    """Interleaved sin/cos encodings of float ``positions``: (P,) -> (P, d_model)."""
    div_term = torch.exp(torch.arange(0, d_model, 2).float()
                         * -(math.log(10000.0) / d_model))
    pe = torch.zeros(positions.numel(), d_model)
    pe[:, 0::2] = torch.sin(positions[:, None] * div_term)
    pe[:, 1::2] = torch.cos(positions[:, None] * div_term)
    return pe


class RelPositionalEncoding(nn.Module):
    """Transformer-XL relative positions +(max_len-1) .. -(max_len-1), stored as a buffer."""

    def __init__(self, d_model: int, max_len: int = REL_POS_MAX_LEN):
        super().__init__()
        pos = torch.arange(max_len - 1, -max_len, -1).float()
        self.register_buffer("pe", sinusoid_table(pos, d_model).unsqueeze(0))

    @property
    def max_frames(self) -> int:
        return (self.pe.size(1) + 1) // 2

    def forward(self, t: int) -> torch.Tensor:
        """The centred (1, 2t-1, d) slice for relative distances t-1 .. -(t-1)."""
        if t > self.max_frames:
            raise InputTooLongError(
                f"input has {t} subsampled frames but the relative positional table covers "
                f"at most {self.max_frames} (about {self.max_frames * 0.04:.0f} s of audio); "
                "split the audio into shorter segments")
        centre = self.pe.size(1) // 2
        return self.pe[:, centre - t + 1: centre + t]


def rel_shift(x: torch.Tensor) -> torch.Tensor:
    """(N, H, T, 2T-1) scores over relative offsets -> (N, H, T, T) scores over key positions.

    Column j of ``x`` holds relative distance (T-1-j); the result's [i, k] is x[i, T-1-i+k].
    """
    n, h, t, p = x.shape
    if torch.onnx.is_in_onnx_export():
        # Graph exporters cannot express as_strided: the same result by padding and reshaping.
        x = F.pad(x, (1, 0)).view(n, h, p + 1, t)[:, :, 1:].reshape(n, h, t, p)
        return x[..., :t]
    x = x.contiguous()
    s = x.stride()
    return x.as_strided((n, h, t, t), (s[0], s[1], p - 1, 1), x.storage_offset() + t - 1)


class ConformerFeedForward(nn.Module):
    """x + Dropout(Linear(Dropout(Swish(Linear(LN(x))))))."""

    def __init__(self, d_model: int, dropout_rate: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, d_model * 4), nn.SiLU(),
            nn.Dropout(dropout_rate), nn.Linear(d_model * 4, d_model), nn.Dropout(dropout_rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class RelPosMultiHeadAttention(nn.Module):
    """Relative-position self-attention with separate pre-LayerNorms on query, key and value."""

    def __init__(self, n_head: int, d_model: int, residual_dropout: float = 0.1):
        super().__init__()
        assert d_model % n_head == 0, "d_model must be divisible by n_head"
        self.n_head, self.d_k = n_head, d_model // n_head
        self.w_qs = nn.Linear(d_model, d_model, bias=False)
        self.w_ks = nn.Linear(d_model, d_model, bias=False)
        self.w_vs = nn.Linear(d_model, d_model, bias=False)
        self.layer_norm_q = nn.LayerNorm(d_model)
        self.layer_norm_k = nn.LayerNorm(d_model)
        self.layer_norm_v = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, d_model, bias=False)
        self.dropout = nn.Dropout(residual_dropout)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(n_head, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.empty(n_head, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        return x.view(n, t, self.n_head, self.d_k).transpose(1, 2)

    def forward(self, x: torch.Tensor, pos_emb: torch.Tensor,
                key_mask: torch.Tensor) -> torch.Tensor:
        """x: (N, T, d); pos_emb: (1, 2T-1, d); key_mask: (N, T) bool, True on valid frames."""
        n, t, d = x.shape
        q = self._heads(self.w_qs(self.layer_norm_q(x)))
        k = self._heads(self.w_ks(self.layer_norm_k(x)))
        v = self._heads(self.w_vs(self.layer_norm_v(x)))
        p = self._heads(self.linear_pos(pos_emb))  # (1, H, 2T-1, d_k)
        scale = 1.0 / math.sqrt(self.d_k)
        # Position term computed explicitly, content term by SDPA: softmax(((q+u)k^T + bd) * scale).
        bd = rel_shift(torch.matmul(q + self.pos_bias_v[:, None, :], p.transpose(-2, -1)))
        bias = (bd * scale).masked_fill(~key_mask[:, None, None, :], float("-inf"))
        out = F.scaled_dot_product_attention(q + self.pos_bias_u[:, None, :], k, v,
                                             attn_mask=bias, scale=scale)
        out = self.fc(out.transpose(1, 2).reshape(n, t, d))
        return x + self.dropout(out)


class ConformerConvolution(nn.Module):
    """Pointwise (d->4d), GLU, depthwise conv, LayerNorm(2d), Swish, pointwise (2d->d)."""

    def __init__(self, d_model: int, kernel_size: int = 33, dropout_rate: float = 0.1):
        super().__init__()
        assert kernel_size % 2 == 1, "conv kernel_size must be odd"
        self.pre_layer_norm = nn.LayerNorm(d_model)
        self.pointwise_conv1 = nn.Conv1d(d_model, d_model * 4, 1, bias=False)
        self.depthwise_conv = nn.Conv1d(d_model * 2, d_model * 2, kernel_size,
                                        padding=(kernel_size - 1) // 2,
                                        groups=d_model * 2, bias=False)
        # Named batch_norm in the released checkpoints, but it is a LayerNorm.
        self.batch_norm = nn.LayerNorm(d_model * 2)
        self.pointwise_conv2 = nn.Conv1d(d_model * 2, d_model, 1, bias=False)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (N, T, d), mask: (N, T) bool. Padded frames are zeroed so they never leak in."""
        pad = ~mask[:, None, :]
        out = self.pre_layer_norm(x).transpose(1, 2).masked_fill(pad, 0.0)
        out = F.glu(self.pointwise_conv1(out), dim=1)
        out = self.depthwise_conv(out)
        out = F.silu(self.batch_norm(out.transpose(1, 2))).transpose(1, 2)
        out = self.dropout(self.pointwise_conv2(out)).masked_fill(pad, 0.0)
        return x + out.transpose(1, 2)


class RelPosEmbConformerBlock(nn.Module):
    """Macaron Conformer block: half FFN, rel-pos MHSA, convolution, half FFN, LayerNorm."""

    def __init__(self, d_model: int, n_head: int, residual_dropout: float = 0.1,
                 dropout_rate: float = 0.1, kernel_size: int = 33):
        super().__init__()
        self.ffn1 = ConformerFeedForward(d_model, dropout_rate)
        self.mhsa = RelPosMultiHeadAttention(n_head, d_model, residual_dropout)
        self.conv = ConformerConvolution(d_model, kernel_size, dropout_rate)
        self.ffn2 = ConformerFeedForward(d_model, dropout_rate)
        self.layer_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, pos_emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = 0.5 * x + 0.5 * self.ffn1(x)
        x = self.mhsa(x, pos_emb, mask)
        x = self.conv(x, mask)
        x = 0.5 * x + 0.5 * self.ffn2(x)
        return self.layer_norm(x)


class ConformerEncoder(nn.Module):
    """Conv2d subsampling + relative-position Conformer blocks."""

    def __init__(self, idim: int, n_layers: int, n_head: int, d_model: int,
                 residual_dropout: float = 0.1, dropout_rate: float = 0.1,
                 kernel_size: int = 33, pe_maxlen: int = 5000, ceil_lengths: bool = False):
        super().__init__()
        # Which rule counts the valid subsampled frames (encoder_output_lengths): each folder
        # follows its own released code (v1, or v2 with a CTC head), so the rule travels with
        # the model.
        self.ceil_lengths = ceil_lengths
        # pe_maxlen is the decoder's table; the encoder's relative table has a fixed size in
        # the released models (9999 rows), which the checkpoint's buffer shape confirms.
        del pe_maxlen
        self.odim = d_model
        self.input_preprocessor = Conv2dSubsampling(idim, d_model)
        self.positional_encoding = RelPositionalEncoding(d_model)
        self.dropout = nn.Dropout(residual_dropout)
        self.layer_stack = nn.ModuleList(
            RelPosEmbConformerBlock(d_model, n_head, residual_dropout, dropout_rate, kernel_size)
            for _ in range(n_layers))

    @property
    def max_input_frames(self) -> int:
        """Most fbank frames one input may have: the subsampled, padded length must fit the
        relative positional table (f(f(T + 6)) <= M with f(x) = (x-3)//2+1 gives T <= 4M)."""
        return 4 * self.positional_encoding.max_frames

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """feats: (N, T, idim), lengths: (N,) -> (enc (N, T', d), enc_lengths (N,), mask (N, T') bool)."""
        # Zero frames at the end let the last real frames reach the convolutions' centre;
        # lengths count only the real frames, so the pad never becomes a valid output frame.
        feats = F.pad(feats, (0, 0, 0, SUBSAMPLING_PAD_FRAMES), value=0.0)
        x, _ = self.input_preprocessor(feats, lengths)
        enc_lengths = encoder_output_lengths(lengths, x.size(1), self.ceil_lengths)
        mask = lengths_to_mask(enc_lengths, x.size(1))
        pos_emb = self.dropout(self.positional_encoding(x.size(1)).to(x.dtype))
        x = self.dropout(x)
        for layer in self.layer_stack:
            x = layer(x, pos_emb, mask)
        return x, enc_lengths, mask
