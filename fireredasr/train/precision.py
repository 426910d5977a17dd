"""``trainer.precision=auto``: the training precision that is fastest on this machine's device.

bf16 halves memory traffic, but on a CPU it is only fast with AMX tiles: the development
VM's Xeon has AVX512-BF16 without AMX and multiplies bf16 matrices at half its fp32 rate (85
against 163 GFLOP/s; RESULTS.md), and a CPU without either emulates them. The choice follows
the device's capabilities, not a timing, so every run and every resume on one machine trains
in the same precision (a resume needs the checkpoint's precision).
"""
from __future__ import annotations

import logging
from typing import FrozenSet, Optional, Tuple

import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> FrozenSet[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def auto_precision(device_type: str, flags: Optional[FrozenSet[str]] = None
                   ) -> Tuple[str, str]:
    """(precision, why) for ``trainer.precision=auto`` on ``device_type`` ("cpu", "cuda", ...).
    ``flags`` stands for the CPU's feature flags (read from /proc/cpuinfo when None)."""
    if device_type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "the GPU supports bf16"
        return "fp32", "the GPU has no bf16 (fp16 needs loss scaling: set it explicitly)"
    if device_type != "cpu":
        return "fp32", f"no precision rule for the {device_type} accelerator"
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return "bf16", "the CPU has AMX bf16 tiles"
    if "avx512_bf16" in flags:
        return "fp32", "the CPU has AVX512-BF16 but no AMX: its bf16 matmuls are slower than fp32"
    return "fp32", "the CPU has no bf16 matrix instructions"


def resolve_precision(requested: str, device_type: str) -> str:
    """``requested`` itself, or for ``auto`` the choice of :func:`auto_precision` (logged)."""
    if requested not in PRECISIONS:
        raise ValueError(f"trainer.precision must be one of {', '.join(PRECISIONS)}, "
                         f"got {requested!r}")
    if requested != "auto":
        return requested
    precision, why = auto_precision(device_type)
    logger.info("trainer.precision=auto: %s (%s)", precision, why)
    return precision
