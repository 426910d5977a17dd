"""Bookkeeping for data preparation: what was kept, what was skipped and why."""
from __future__ import annotations

import logging
from collections import Counter
from typing import Dict, List

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 3


class PrepReport:
    """Counts kept and skipped items per reason, with a few example ids per reason."""

    def __init__(self, name: str):
        self.name = name
        self.kept = 0
        self.skipped: Counter = Counter()
        self.examples: Dict[str, List[str]] = {}
        self.changes: Counter = Counter()  # transcripts rewritten by normalisation, by what

    def keep(self, n: int = 1) -> None:
        self.kept += n

    def skip(self, item: str, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count
        ex = self.examples.setdefault(reason, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(item)
        logger.debug("%s: skipping %s: %s", self.name, item, reason)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        lines = [f"{self.name}: kept {self.kept}, skipped {self.total_skipped}"]
        for reason, n in self.skipped.most_common():
            lines.append(f"  {n:8d}  {reason} (e.g. {', '.join(self.examples[reason])})")
        for what, n in self.changes.most_common():
            lines.append(f"  {n:8d}  transcripts rewritten: {what}")
        return "\n".join(lines)

    def log(self) -> None:
        (logger.warning if self.total_skipped else logger.info)("%s", self.summary())
