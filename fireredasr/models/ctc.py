"""The CTC head on the encoder, in FireRedASR2-AED's layout (``ctc.ctc_lo``, blank id 0).

Training with it beside the attention decoder (joint CTC/attention, as in ESPnet and WeNet)
teaches the encoder a monotonic alignment early, so the attention decoder stops guessing from
the text alone sooner; on small data this shortens training a lot.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

CTC_BLANK_ID = 0  # hard-coded by the released v2 code (alignment, filtering, timestamps)


class CTC(nn.Module):
    def __init__(self, odim: int, d_model: int):
        super().__init__()
        self.ctc_lo = nn.Linear(d_model, odim)

    def log_probs(self, enc: torch.Tensor) -> torch.Tensor:
        """(N, T, d) encoder output -> (N, T, V) float32 log-probabilities."""
        return F.log_softmax(self.ctc_lo(enc).float(), dim=-1)

    @staticmethod
    def loss_sum(log_probs: torch.Tensor, enc_lengths: torch.Tensor, targets: torch.Tensor,
                 target_lengths: torch.Tensor, blank: int = CTC_BLANK_ID) -> torch.Tensor:
        """Summed CTC loss of a batch; targets (N, S) are read up to target_lengths (or,
        1-D, are the rows' targets concatenated).
        Impossible alignments (an utterance with more tokens than frames) count zero."""
        return F.ctc_loss(log_probs.transpose(0, 1), targets, enc_lengths, target_lengths,
                          blank=blank, reduction="sum", zero_infinity=True)
