"""Data augmentation as small pure functions: speed perturbation, SpecAugment."""
from __future__ import annotations

import numpy as np

from fireredasr.data.audio import resample


def speed_perturb(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play ``samples`` ``factor`` times faster, changing tempo and pitch like ``sox speed``.

    The output has ``len / factor`` samples at the same sample rate.
    """
    if factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {factor}")
    if factor == 1.0:
        return samples
    # Resampling from rate f*R to R: integer rates with the factor's 3 decimals.
    return resample(samples, int(round(factor * 1000)), 1000)
