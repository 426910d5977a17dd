"""The acoustic front end: audio -> fbank -> global CMVN -> padded batch tensors."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from fireredasr.data.audio import audio_duration, load_audio
from fireredasr.data.cmvn import GlobalCMVN
from fireredasr.data.fbank import FbankConfig, compute_fbank


class Frontend:
    """Turns audio into normalised features exactly as the released inference code does."""

    def __init__(self, cmvn: Optional[GlobalCMVN], fbank: FbankConfig = FbankConfig()):
        self.cmvn = cmvn
        self.fbank = fbank

    @classmethod
    def from_cmvn_file(cls, cmvn_path: Optional[str]) -> "Frontend":
        return cls(GlobalCMVN.from_file(cmvn_path) if cmvn_path else None)

    def features(self, samples: np.ndarray, dither: float = 0.0,
                 rng: Optional[np.random.Generator] = None) -> torch.Tensor:
        """Normalised (frames, bins) float32 features of int16-scale samples."""
        feats = compute_fbank(samples, self.fbank, dither=dither, rng=rng)
        if self.cmvn is not None:
            feats = self.cmvn(feats)
        return torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))

    def load(self, spec: str, start: Optional[float] = None, end: Optional[float] = None
             ) -> Tuple[torch.Tensor, float]:
        """Features and duration (seconds) of one file or ``cmd |`` pipe, or of its segment
        [start, end) seconds."""
        samples, sr = load_audio(spec, self.fbank.sample_rate, start, end)
        return self.features(samples), audio_duration(samples, sr)


def pad_features(feats: Sequence[torch.Tensor], pad_value: float = 0.0
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stack (T_i, D) tensors into (N, T_max, D) plus an int64 length vector."""
    lengths = torch.tensor([f.size(0) for f in feats], dtype=torch.long)
    padded = torch.nn.utils.rnn.pad_sequence(list(feats), batch_first=True,
                                             padding_value=pad_value)
    return padded, lengths
