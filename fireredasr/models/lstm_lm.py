"""The external LSTM language model of FireRedASR2 (the released ``elm/`` folder layout).

It reads the AED's token ids and predicts the next one, so its scores can be added to the
decoder's column by column (shallow fusion). The released code fixes padding, ``<sos>`` and
``<eos>`` at ids 2, 3 and 4 whatever the args say; a dictionary used with an LM must agree.
"""
from __future__ import annotations

import argparse
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

ELM_PAD_ID, ELM_SOS_ID, ELM_EOS_ID = 2, 3, 4
# The fields of the released ``args`` Namespace that define the architecture.
ELM_ARG_FIELDS = ("idim", "embedding_dim", "hidden_size", "num_layers", "dropout", "odim",
                  "tie_weights")

LstmState = Tuple[torch.Tensor, torch.Tensor]  # (h, c), each (num_layers, N, hidden_size)


class LstmLm(nn.Module):
    """Embedding -> multi-layer LSTM -> Linear, optionally with tied input/output matrices."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "LstmLm":
        missing = [f for f in ELM_ARG_FIELDS if not hasattr(args, f)]
        if missing:
            raise ValueError(f"LSTM LM args lack the fields {missing}")
        return cls(args)

    def __init__(self, args: argparse.Namespace):
        super().__init__()
        self.args = argparse.Namespace(**{f: getattr(args, f) for f in ELM_ARG_FIELDS})
        # The released output layer maps from embedding_dim, so the two sizes must agree.
        if args.hidden_size != args.embedding_dim:
            raise ValueError(f"LSTM LM hidden_size ({args.hidden_size}) must equal "
                             f"embedding_dim ({args.embedding_dim}) in the released layout")
        if args.tie_weights and args.idim != args.odim:
            raise ValueError(f"tie_weights needs idim == odim, got {args.idim} and {args.odim}")
        self.embedding = nn.Embedding(args.idim, args.embedding_dim, padding_idx=ELM_PAD_ID)
        self.lstm = nn.LSTM(args.embedding_dim, args.hidden_size, args.num_layers,
                            batch_first=True, dropout=args.dropout if args.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(args.dropout)
        self.fc = nn.Linear(args.embedding_dim, args.odim)
        if args.tie_weights:
            self.fc.weight = self.embedding.weight

    @property
    def vocab_size(self) -> int:
        return self.fc.out_features

    def forward(self, tokens: torch.Tensor, state: Optional[LstmState] = None
                ) -> Tuple[torch.Tensor, LstmState]:
        """tokens (N, L) -> next-token logits (N, L, V) and the LSTM state after them."""
        x = self.dropout(self.embedding(tokens))
        out, state = self.lstm(x, state)
        return self.fc(self.dropout(out)), state

    def zero_state(self, n: int, device: torch.device) -> LstmState:
        shape = (self.lstm.num_layers, n, self.lstm.hidden_size)
        return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))

    def step(self, tokens: torch.Tensor, state: LstmState) -> Tuple[torch.Tensor, LstmState]:
        """One step for (N,) last tokens: float32 next-token log-probs (N, V) and the new state."""
        logits, state = self(tokens[:, None], state)
        return F.log_softmax(logits[:, 0].float(), dim=-1), state
