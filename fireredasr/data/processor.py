"""Training-data transforms as small pure functions, composed by :mod:`fireredasr.data.dataset`.

Each takes explicit inputs (and an explicit ``np.random.Generator`` where random), so a batch
is a deterministic function of (seed, epoch, batch index) and resumed runs see the same data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import kaldiio
import numpy as np
import torch

from fireredasr.data.audio import load_audio
from fireredasr.data.augment import speed_perturb
from fireredasr.data.frontend import Frontend

# The one label id every loss skips (target padding, prompt positions), AED and LLM alike:
# -100, the ignore index of torch's cross entropy and of Hugging Face models.
IGNORE_ID = -100


@dataclass(frozen=True)
class UttInfo:
    """Where one training utterance comes from and what it says."""

    utt: str
    num_frames: int
    token_ids: tuple
    text: str = ""                     # the transcript (the LLM builds its prompts from it)
    feats: Optional[str] = None        # kaldiio location (feats.scp value)
    audio: Optional[str] = None        # wav.scp entry (path or pipe)
    start: Optional[float] = None      # segment, seconds
    end: Optional[float] = None


def load_features(info: UttInfo, frontend: Frontend, rng: np.random.Generator,
                  speeds: Sequence[float] = (), dither: float = 0.0) -> np.ndarray:
    """Normalised (T, 80) features: stored fbank + CMVN, or audio -> [speed] -> fbank -> CMVN."""
    if info.feats is not None:
        feats = kaldiio.load_mat(info.feats)
        return frontend.cmvn(feats).astype(np.float32) if frontend.cmvn else feats
    samples, _ = load_audio(info.audio, frontend.fbank.sample_rate, info.start, info.end)
    if speeds:
        samples = speed_perturb(samples, float(rng.choice(np.asarray(speeds))))
    return frontend.features(samples, dither=dither, rng=rng).numpy()


def spec_augment(feats: np.ndarray, rng: np.random.Generator, num_freq_masks: int = 2,
                 max_freq_width: int = 27, num_time_masks: int = 2,
                 max_time_ratio: float = 0.05) -> np.ndarray:
    """SpecAugment frequency and time masking (masked values set to 0, the CMVN mean)."""
    out = feats.copy()
    t, f = out.shape
    for _ in range(num_freq_masks):
        w = int(rng.integers(0, max_freq_width + 1))
        if 0 < w < f:
            s = int(rng.integers(0, f - w + 1))
            out[:, s:s + w] = 0.0
    max_t = int(max_time_ratio * t)
    for _ in range(num_time_masks):
        w = int(rng.integers(0, max_t + 1)) if max_t > 0 else 0
        if 0 < w < t:
            s = int(rng.integers(0, t - w + 1))
            out[s:s + w, :] = 0.0
    return out


def collate_tokens(token_ids: List[Sequence[int]], sos_id: int, eos_id: int, pad_id: int
                   ) -> Dict[str, torch.Tensor]:
    """Teacher-forcing targets: ys_in (sos + y, pad_id-padded), ys_out (y + eos, IGNORE_ID-padded)."""
    ys_in = [torch.tensor([sos_id] + list(y), dtype=torch.long) for y in token_ids]
    ys_out = [torch.tensor(list(y) + [eos_id], dtype=torch.long) for y in token_ids]
    return {
        "ys_in": torch.nn.utils.rnn.pad_sequence(ys_in, batch_first=True, padding_value=pad_id),
        "ys_out": torch.nn.utils.rnn.pad_sequence(ys_out, batch_first=True,
                                                  padding_value=IGNORE_ID),
    }


def collate_features(utts: List[str], feats: List[np.ndarray]) -> Dict[str, Any]:
    """Pad a batch's features: feats (N, T, D), feat_lengths, and the utterance ids."""
    feat_t = [torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)) for f in feats]
    lengths = torch.tensor([f.shape[0] for f in feat_t], dtype=torch.long)
    padded = torch.nn.utils.rnn.pad_sequence(feat_t, batch_first=True)
    return {"utts": utts, "feats": padded, "feat_lengths": lengths}

