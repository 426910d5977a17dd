"""Stage 12: every wer.json under the given folders as a markdown table (+ PNG bar chart).

    fireredasr-results exp recipes/*/exp --out RESULTS_table.md --plot results.png
"""
from __future__ import annotations

import argparse
import logging
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.scoring.results_table import collect_scores, make_table, plot_table

logger = logging.getLogger("results")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("roots", nargs="+", help="folders searched for wer.json")
    p.add_argument("--out", help="write the markdown table here (always printed)")
    p.add_argument("--plot", help="write a PNG bar chart here")
    p.add_argument("--no_published", action="store_true", help="leave out the published rows")
    args = p.parse_args(argv)
    setup_logging()
    scores = collect_scores(args.roots)
    if not scores:
        logger.error("no wer.json with model/test_set labels under %s", " ".join(args.roots))
        return 1
    table = make_table(scores, not args.no_published)
    print(table)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table)
    if args.plot:
        plot_table(scores, args.plot, not args.no_published)
    return 0


if __name__ == "__main__":
    sys.exit(main())
