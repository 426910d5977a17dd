"""Learning-rate schedules as multipliers of the peak lr (for torch's LambdaLR)."""
from __future__ import annotations

import math
from typing import Callable

from omegaconf import DictConfig


def noam(warmup_steps: int) -> Callable[[int], float]:
    """Linear warmup to 1 at ``warmup_steps``, then decay as sqrt(warmup / step)."""
    warmup = max(1, warmup_steps)

    def f(step: int) -> float:
        step = max(step, 1)
        return min(step / warmup, math.sqrt(warmup / step))
    return f


def warmup_cosine(warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0
                  ) -> Callable[[int], float]:
    """Linear warmup to 1, then cosine decay to ``min_lr_ratio`` at ``total_steps``."""
    warmup = max(1, warmup_steps)
    total = max(total_steps, warmup + 1)

    def f(step: int) -> float:
        step = max(step, 1)
        if step < warmup:
            return step / warmup
        progress = min(1.0, (step - warmup) / (total - warmup))
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return f


def build_lr_lambda(cfg: DictConfig) -> Callable[[int], float]:
    if cfg.name == "noam":
        return noam(cfg.warmup_steps)
    if cfg.name == "warmup_cosine":
        return warmup_cosine(cfg.warmup_steps, cfg.total_steps, cfg.min_lr_ratio)
    raise ValueError(f"unknown scheduler {cfg.name!r} (noam | warmup_cosine)")
