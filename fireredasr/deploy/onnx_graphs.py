"""The two ONNX graphs of an AED, in the interface sherpa-onnx's FireRedASR recognizer runs.

encoder: features (N, T, 80) float32, features_length (N,) int64
         -> n_layer_cross_k, n_layer_cross_v (L_dec, N, T', d_model): every decoder layer's
            cross-attention keys and values, computed once per utterance. T' is the longest
            valid encoder length of the batch, so a single utterance carries no padding (the
            decoder graph has no cross-attention mask).
decoder: tokens (N, 1) int64, n_layer_self_k_cache, n_layer_self_v_cache
         (L_dec, N, max_len, H, d_k), n_layer_cross_k, n_layer_cross_v, offset (1,) int64
         -> logits (N, 1, V), the updated self-attention caches.
         One step: the token at position ``offset`` is written into the caches at that
         position and attends to positions 0..offset. A seventh input, ``cross_bias``
         (broadcast to (N, 1, 1, T'), added to the cross-attention scores), is an overridable
         initializer defaulting to 0: sherpa-onnx does not see it (it decodes one utterance,
         unpadded), the toolkit feeds -inf on padded frames to decode a padded batch.

These wrappers reuse the toolkit's layers (no second copy of the maths); only the cache layout
and the position-as-tensor arithmetic are the graph's own.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn

from fireredasr.models.fireredasr_aed import FireRedAsrAed


class EncoderGraph(nn.Module):
    """Encoder + every decoder layer's cross-attention key/value projections."""

    def __init__(self, model: FireRedAsrAed):
        super().__init__()
        self.encoder = model.encoder
        self.cross_attn = nn.ModuleList(layer.cross_attn for layer in model.decoder.layer_stack)

    def forward(self, features: torch.Tensor, features_length: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        enc, enc_lengths, _ = self.encoder(features, features_length)
        # The encoder computes a frame or two past the valid length (its zero tail); drop them
        # so that a batch of one has no frame the decoder must not attend to.
        enc = enc[:, : enc_lengths.max()]
        k = torch.stack([attn.w_ks(enc) for attn in self.cross_attn])
        v = torch.stack([attn.w_vs(enc) for attn in self.cross_attn])
        return k, v


class DecoderStepGraph(nn.Module):
    """One incremental decoder step over self-attention caches of any length > ``offset``."""

    def __init__(self, model: FireRedAsrAed):
        super().__init__()
        self.decoder = model.decoder

    def forward(self, tokens: torch.Tensor, self_k: torch.Tensor, self_v: torch.Tensor,
                cross_k: torch.Tensor, cross_v: torch.Tensor, offset: torch.Tensor,
                cross_bias: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dec = self.decoder
        positions = torch.arange(self_k.size(2), device=tokens.device)
        # Where the new key/value goes, and which positions the query may see.
        write = (positions == offset).to(self_k.dtype).view(1, -1, 1, 1)
        visible = (positions <= offset).view(1, 1, 1, -1)
        pe = dec.positional_encoding.pe.index_select(1, offset)  # (1, 1, d)
        x = dec.tgt_word_emb(tokens) * dec.scale + pe
        new_k, new_v = [], []
        for i, layer in enumerate(dec.layer_stack):
            def cache(k: torch.Tensor, v: torch.Tensor, i: int = i
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
                # sherpa-onnx's layout (N, max_len, H, d_k); the new position is blended in
                # at ``offset`` (no data-dependent slicing in the graph).
                k_cache = self_k[i] * (1.0 - write) + k.transpose(1, 2) * write
                v_cache = self_v[i] * (1.0 - write) + v.transpose(1, 2) * write
                new_k.append(k_cache)
                new_v.append(v_cache)
                return k_cache.transpose(1, 2), v_cache.transpose(1, 2)

            ca = layer.cross_attn
            x = layer(x, (ca.heads(cross_k[i]), ca.heads(cross_v[i])), visible, cross_bias,
                      cache)
        logits = dec.tgt_word_prj(dec.layer_norm_out(x))
        return logits, torch.stack(new_k), torch.stack(new_v)
