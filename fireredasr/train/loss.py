"""Label-smoothed cross entropy and token accuracy for teacher-forced decoders."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from fireredasr.data.processor import IGNORE_ID


def label_smoothed_ce(logits: torch.Tensor, targets: torch.Tensor, smoothing: float = 0.1,
                      ignore_id: int = IGNORE_ID) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean over target tokens of (1-e)*NLL + e*uniform-CE; returns (loss, token count).

    logits: (N, L, V); targets: (N, L) with ``ignore_id`` on padding. Computed in float32.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    mask = targets != ignore_id
    tgt = targets.masked_fill(~mask, 0)
    nll = -logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    smooth = -logp.mean(dim=-1)
    per_token = (1.0 - smoothing) * nll + smoothing * smooth
    count = mask.sum()
    loss = (per_token * mask).sum() / count.clamp(min=1)
    return loss, count


@torch.no_grad()
def token_accuracy(logits: torch.Tensor, targets: torch.Tensor,
                   ignore_id: int = IGNORE_ID) -> Tuple[int, int]:
    """(correct, total) argmax predictions on non-padding targets."""
    mask = targets != ignore_id
    correct = ((logits.argmax(-1) == targets) & mask).sum()
    return int(correct), int(mask.sum())
