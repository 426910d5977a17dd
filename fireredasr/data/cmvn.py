"""Global CMVN in the Kaldi statistics format of the released models (``cmvn.ark``).

The file holds a 2 x (dim + 1) float64 matrix: row 0 the per-dimension sums with the frame
count in the last column, row 1 the sums of squares.
"""
from __future__ import annotations

import os
from typing import Iterable

import kaldiio
import numpy as np

VARIANCE_FLOOR = 1e-20


class CMVNError(ValueError):
    """A ``cmvn.ark`` that is missing or malformed."""


class GlobalCMVN:
    """x' = (x - mean) / sqrt(var), computed in float64 exactly as the released reader does."""

    def __init__(self, stats: np.ndarray):
        stats = np.asarray(stats, dtype=np.float64)
        if stats.ndim != 2 or stats.shape[0] != 2 or stats.shape[1] < 2:
            raise CMVNError(f"CMVN stats must be 2 x (dim+1), got shape {stats.shape}")
        self.dim = stats.shape[1] - 1
        count = stats[0, self.dim]
        if count < 1:
            raise CMVNError(f"CMVN stats have frame count {count}; need at least 1")
        self.mean = stats[0, :self.dim] / count
        var = stats[1, :self.dim] / count - self.mean * self.mean
        var = np.maximum(var, VARIANCE_FLOOR)
        self.inv_std = 1.0 / np.sqrt(var)

    @classmethod
    def from_mean_inv_std(cls, mean: np.ndarray, inv_std: np.ndarray) -> "GlobalCMVN":
        """The normaliser of already-derived statistics (an ONNX export's metadata)."""
        mean, inv_std = np.asarray(mean, np.float64), np.asarray(inv_std, np.float64)
        if mean.ndim != 1 or mean.shape != inv_std.shape or mean.size == 0:
            raise CMVNError(f"CMVN mean and inverse std must be equal-length vectors, got "
                            f"{mean.shape} and {inv_std.shape}")
        cmvn = cls.__new__(cls)
        cmvn.dim, cmvn.mean, cmvn.inv_std = mean.size, mean, inv_std
        return cmvn

    @classmethod
    def from_file(cls, path: str) -> "GlobalCMVN":
        if not os.path.isfile(path):
            raise CMVNError(f"CMVN file not found: {path}")
        try:
            stats = kaldiio.load_mat(path)
        except Exception as e:  # kaldiio raises several types for a bad file
            raise CMVNError(f"cannot read Kaldi CMVN stats from {path}: {e}") from e
        return cls(stats)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        if feats.shape[-1] != self.dim:
            raise CMVNError(f"CMVN dim {self.dim} does not match feature dim {feats.shape[-1]}")
        return (feats - self.mean) * self.inv_std


def accumulate_cmvn_stats(feats: Iterable[np.ndarray], dim: int) -> np.ndarray:
    """Kaldi CMVN statistics (2 x (dim+1), float64) of a stream of (frames, dim) matrices."""
    stats = np.zeros((2, dim + 1), dtype=np.float64)
    for f in feats:
        f = np.asarray(f, dtype=np.float64)
        stats[0, :dim] += f.sum(axis=0)
        stats[1, :dim] += (f * f).sum(axis=0)
        stats[0, dim] += f.shape[0]
    return stats


def write_cmvn(path: str, stats: np.ndarray) -> None:
    """Write statistics as a Kaldi binary matrix, the layout of the released ``cmvn.ark``."""
    tmp = f"{path}.tmp{os.getpid()}"  # a killed job never leaves a half-written cmvn.ark
    kaldiio.save_mat(tmp, np.asarray(stats, dtype=np.float64))
    os.replace(tmp, path)
