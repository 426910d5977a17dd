"""Helpers shared by the command-line entry points."""
from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr with timestamps, as every stage of a recipe does. Handlers someone else
    installed (an embedding program, pytest) are kept; only the level is set."""
    logging.basicConfig(stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level.upper())
