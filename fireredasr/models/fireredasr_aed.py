"""FireRedASR-AED: Conformer encoder + Transformer decoder."""
from __future__ import annotations

import argparse
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from fireredasr.models.conformer_encoder import ConformerEncoder
from fireredasr.models.ctc import CTC
from fireredasr.models.transformer_decoder import TransformerDecoder

# The fields of the released ``args`` Namespace that define the architecture.
AED_ARG_FIELDS = ("idim", "n_layers_enc", "n_layers_dec", "n_head", "d_model",
                  "residual_dropout", "dropout_rate", "kernel_size", "pe_maxlen",
                  "odim", "sos_id", "eos_id", "pad_id")


class FireRedAsrAed(nn.Module):
    @classmethod
    def from_args(cls, args: argparse.Namespace, ctc: bool = False) -> "FireRedAsrAed":
        missing = [f for f in AED_ARG_FIELDS if not hasattr(args, f)]
        if missing:
            raise ValueError(f"AED args lack the fields {missing}")
        return cls(args, ctc)

    def __init__(self, args: argparse.Namespace, ctc: bool = False):
        super().__init__()
        self.args = argparse.Namespace(**{f: getattr(args, f) for f in AED_ARG_FIELDS})
        self.sos_id, self.eos_id, self.pad_id = args.sos_id, args.eos_id, args.pad_id
        self.encoder = ConformerEncoder(
            args.idim, args.n_layers_enc, args.n_head, args.d_model,
            args.residual_dropout, args.dropout_rate, args.kernel_size, args.pe_maxlen,
            ceil_lengths=ctc)  # a CTC head marks a FireRedASR2 model: its encoder-length rule
        self.decoder = TransformerDecoder(
            args.sos_id, args.eos_id, args.pad_id, args.odim,
            args.n_layers_dec, args.n_head, args.d_model,
            args.residual_dropout, args.pe_maxlen)
        # Optional CTC head for joint CTC/attention training (FireRedASR2's ``ctc.ctc_lo``).
        self.ctc = CTC(args.odim, args.d_model) if ctc else None

    def forward(self, feats: torch.Tensor, feat_lengths: torch.Tensor,
                ys_in: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Teacher-forced logits (N, L, V) and encoder lengths, for training; with a CTC head
        also the CTC log-probabilities (N, T', V)."""
        enc, enc_lengths, enc_mask = self.encoder(feats, feat_lengths)
        logits = self.decoder(ys_in, enc, enc_mask)
        if self.ctc is None:
            return logits, enc_lengths
        return logits, enc_lengths, self.ctc.log_probs(enc)

    @torch.no_grad()
    def transcribe(self, feats: torch.Tensor, lengths: torch.Tensor, beam_size: int = 1,
                   nbest: int = 1, decode_max_len: int = 0, softmax_smoothing: float = 1.0,
                   length_penalty: float = 0.0, eos_penalty: float = 1.0,
                   elm: Optional[nn.Module] = None, elm_weight: float = 0.0,
                   return_timestamp: bool = False) -> List[List[dict]]:
        """Released-compatible batch beam search: one n-best list per input of
        {"yseq", "score", "confidence"}, plus "ctc_times" ((starts, ends) in seconds, or None
        when no alignment exists) with ``return_timestamp``, which needs the CTC head.
        ``elm`` is an external LSTM LM fused with ``elm_weight`` (FireRedASR2)."""
        from fireredasr.decode.beam_search import BeamSearchConfig, batch_beam_search
        from fireredasr.decode.timestamps import ctc_token_times

        if return_timestamp and self.ctc is None:
            raise ValueError("timestamps need a CTC head: this is a v1 model (FireRedASR-AED); "
                             "FireRedASR2 models and models trained with model.ctc_weight > 0 "
                             "have one")
        cfg = BeamSearchConfig(beam_size, nbest, decode_max_len, softmax_smoothing,
                               length_penalty, eos_penalty, elm_weight)
        enc, enc_lengths, enc_mask = self.encoder(feats, lengths)
        hyps = batch_beam_search(self.decoder, enc, enc_mask, cfg, elm)
        if return_timestamp:
            log_probs = self.ctc.log_probs(enc)
            for i, nbest_list in enumerate(hyps):
                for h in nbest_list:
                    h["ctc_times"] = ctc_token_times(log_probs[i, :int(enc_lengths[i])],
                                                     h["yseq"].tolist())
        return hyps
