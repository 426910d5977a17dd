"""The speech adapter of FireRedASR-LLM (``encoder_projector`` in the released checkpoints)."""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn


class Adapter(nn.Module):
    """Stack ``downsample_rate`` encoder frames, then Linear -> ReLU -> Linear to the LLM width."""

    def __init__(self, encoder_dim: int, llm_dim: int, downsample_rate: int = 2):
        super().__init__()
        self.ds = downsample_rate
        self.linear1 = nn.Linear(encoder_dim * downsample_rate, llm_dim)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(llm_dim, llm_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x: (N, T, d) -> (N, T // k, D); trailing frames that do not fill a stack are dropped."""
        n, t, d = x.shape
        t = t - t % self.ds
        x = x[:, :t].reshape(n, t // self.ds, d * self.ds)
        out = self.linear2(self.relu(self.linear1(x)))
        return out, torch.clamp(lengths, max=t) // self.ds
