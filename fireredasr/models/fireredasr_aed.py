"""FireRedASR-AED: Conformer encoder + Transformer decoder."""
from __future__ import annotations

import argparse
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from fireredasr.models import ctc_search
from fireredasr.models.beam_search import (ATTENTION_SEARCH_MODES, BeamSearchConfig, Hypothesis,
                                          batch_beam_search)
from fireredasr.models.conformer_encoder import ConformerEncoder
from fireredasr.models.ctc import CTC
from fireredasr.models.ctc_alignment import ctc_token_times
from fireredasr.models.transformer_decoder import TransformerDecoder

# The fields of the released ``args`` Namespace that define the architecture.
AED_ARG_FIELDS = ("idim", "n_layers_enc", "n_layers_dec", "n_head", "d_model",
                  "residual_dropout", "dropout_rate", "kernel_size", "pe_maxlen",
                  "odim", "sos_id", "eos_id", "pad_id")


class FireRedAsrAed(nn.Module):
    @classmethod
    def from_args(cls, args: argparse.Namespace, ctc: bool = False,
                  aux_units: int = 0) -> "FireRedAsrAed":
        missing = [f for f in AED_ARG_FIELDS if not hasattr(args, f)]
        if missing:
            raise ValueError(f"AED args lack the fields {missing}")
        return cls(args, ctc, aux_units)

    def __init__(self, args: argparse.Namespace, ctc: bool = False, aux_units: int = 0):
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
        # Optional training-only CTC head over ``aux_units`` pinyin units
        # (tokenizer/pinyin_units.py); exports leave it out (``aux_ctc.*``).
        self.aux_ctc = CTC(aux_units, args.d_model) if aux_units else None

    @property
    def max_input_frames(self) -> int:
        """Most fbank frames one input may have (the encoder's positional table)."""
        return self.encoder.max_input_frames

    def forward(self, feats: torch.Tensor, feat_lengths: torch.Tensor,
                ys_in: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Teacher-forced logits (N, L, V) and encoder lengths, for training; with a CTC head
        also the CTC log-probabilities (N, T', V), and last, with the auxiliary head, its
        log-probabilities (N, T', units)."""
        enc, enc_lengths, enc_mask = self.encoder(feats, feat_lengths)
        out = (self.decoder(ys_in, enc, enc_mask), enc_lengths)
        if self.ctc is not None:
            out += (self.ctc.log_probs(enc),)
        if self.aux_ctc is not None:
            out += (self.aux_ctc.log_probs(enc),)
        return out

    @torch.no_grad()
    def transcribe(self, feats: torch.Tensor, lengths: torch.Tensor,
                   cfg: Optional[BeamSearchConfig] = None, elm: Optional[nn.Module] = None,
                   return_timestamp: bool = False, **options) -> List[List[Hypothesis]]:
        """Decode a batch: one n-best list of :class:`Hypothesis` per input, best first; with
        ``return_timestamp`` (needs the CTC head) each also carries its ``ctc_times``.

        ``cfg`` (or its fields as keyword ``options``) chooses the search: the released
        attention beam search, optionally fused with the external LSTM LM ``elm``
        (FireRedASR2), or one of the CTC modes.
        """
        cfg = cfg or BeamSearchConfig(**options)
        if self.ctc is None and (return_timestamp or cfg.decode_mode != "attention"):
            raise ValueError("timestamps and CTC decoding modes need a CTC head: this is a v1 "
                             "model (FireRedASR-AED); FireRedASR2 models and models trained "
                             "with model.ctc_weight > 0 have one")
        enc, enc_lengths, enc_mask = self.encoder(feats, lengths)
        # The CTC posteriors only when a CTC mode or the timestamps read them.
        needs_ctc = return_timestamp or cfg.decode_mode != "attention"
        log_probs = self.ctc.log_probs(enc) if needs_ctc else None
        if cfg.decode_mode in ATTENTION_SEARCH_MODES:
            hyps = batch_beam_search(self.decoder, enc, enc_mask, cfg, elm, log_probs)
        elif cfg.decode_mode == "ctc_greedy":
            hyps = ctc_search.ctc_greedy_search(log_probs, enc_lengths)
        elif cfg.decode_mode == "ctc_prefix_beam":
            hyps = ctc_search.batch_ctc_prefix_beam_search(log_probs, enc_lengths,
                                                           cfg.beam_size, cfg.nbest)
        else:
            hyps = ctc_search.attention_rescoring(self.decoder, enc, enc_mask, log_probs,
                                                  enc_lengths, cfg.beam_size, cfg.nbest,
                                                  cfg.rescoring_ctc_weight)
        if cfg.decode_mode not in ATTENTION_SEARCH_MODES:
            ctc_search.add_confidence(hyps, enc_lengths)
        if return_timestamp:
            for i, nbest_list in enumerate(hyps):
                for h in nbest_list:
                    h.ctc_times = ctc_token_times(log_probs[i, :int(enc_lengths[i])],
                                                  h.yseq.tolist())
        return hyps
