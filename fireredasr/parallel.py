"""Worker pools for the parallel stages (feature extraction, decoding jobs).

Workers are tied to their parent: when the parent dies (SIGTERM from a scheduler, Ctrl-C,
SIGKILL), the kernel sends each worker SIGTERM, so no orphaned job keeps a core busy or
writes into an output folder that a re-run is rebuilding.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Optional

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer: ask the kernel (Linux) for SIGTERM when the parent exits."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def worker_pool(workers: int, start_method: Optional[str] = None) -> ProcessPoolExecutor:
    """A process pool whose workers end with this process. ``start_method`` "spawn" gives
    workers without forked torch state (decoding); the default forks (feature jobs)."""
    ctx = multiprocessing.get_context(start_method) if start_method else None
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_die_with_parent,
                               initargs=(os.getpid(),))
