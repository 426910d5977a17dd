"""80-bin Kaldi filterbank through kaldi_native_fbank, configured as the released front end.

One implementation serves inference, the feature-extraction stage and on-the-fly training
features, so the three can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import kaldi_native_fbank as knf
import numpy as np


@dataclass(frozen=True)
class FbankConfig:
    """Kaldi fbank options. The defaults are those of the released FireRedASR models."""

    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    sample_rate: int = 16000

    def knf_options(self) -> knf.FbankOptions:
        opts = knf.FbankOptions()
        opts.frame_opts.samp_freq = float(self.sample_rate)
        opts.frame_opts.frame_length_ms = self.frame_length_ms
        opts.frame_opts.frame_shift_ms = self.frame_shift_ms
        # Dither is applied by compute_fbank with a seedable generator, never inside knf.
        opts.frame_opts.dither = 0.0
        opts.frame_opts.snip_edges = True
        opts.mel_opts.num_bins = self.num_mel_bins
        opts.mel_opts.debug_mel = False
        return opts

    def num_frames(self, num_samples: int) -> int:
        """Frame count with snip_edges=True (Kaldi's convention)."""
        win = int(self.sample_rate * self.frame_length_ms / 1000)
        shift = int(self.sample_rate * self.frame_shift_ms / 1000)
        return 0 if num_samples < win else 1 + (num_samples - win) // shift


def compute_fbank(samples: np.ndarray, config: FbankConfig = FbankConfig(),
                  dither: float = 0.0,
                  rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Log-mel filterbank of int16-scale ``samples``; returns float32 (frames, num_mel_bins).

    ``dither`` adds ``dither * N(0, 1)`` to every sample first (Kaldi's dither), drawn from
    ``rng`` so that training runs are reproducible. Audio shorter than one frame gives
    zero frames.
    """
    if samples.ndim != 1:
        raise ValueError(f"compute_fbank expects 1-D samples, got shape {samples.shape}")
    x = np.asarray(samples, dtype=np.float32)
    if dither > 0.0:
        rng = rng if rng is not None else np.random.default_rng()
        x = x + dither * rng.standard_normal(x.shape[0]).astype(np.float32)
    fbank = knf.OnlineFbank(config.knf_options())
    fbank.accept_waveform(float(config.sample_rate), x)
    n = fbank.num_frames_ready
    if n == 0:
        return np.zeros((0, config.num_mel_bins), dtype=np.float32)
    return np.stack([fbank.get_frame(i) for i in range(n)]).astype(np.float32, copy=False)
