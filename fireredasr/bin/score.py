"""Score a hypothesis file against a Kaldi text file (the released scorer's normalisation).

    fireredasr-score --ref data/test/text --hyp exp/aed/decode_test/hyp --out exp/aed/decode_test/wer \
        [--number_norm 1] [--skip_missing 1] [--groups data/test/utt2subdialect]

Prints N, C, S, D, I, CER and SER, English-word and digit accuracy; writes <out>, <out>.json
and <out>.align (per-utterance alignments).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.kaldi_dir import read_map
from fireredasr.scoring.cer import score, write_results

logger = logging.getLogger("score")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", required=True)
    p.add_argument("--hyp", required=True)
    p.add_argument("--out", help="output prefix (default: print only)")
    p.add_argument("--number_norm", type=int, default=0)
    p.add_argument("--skip_missing", type=int, default=0)
    p.add_argument("--groups", help="uttid -> label file for per-group scores")
    p.add_argument("--model_name")
    p.add_argument("--test_set")
    args = p.parse_args(argv)
    setup_logging()
    for path in (args.ref, args.hyp, args.groups):
        if path and not os.path.isfile(path):
            logger.error("file not found: %s", path)
            return 1
    try:
        refs, hyps = read_map(args.ref), read_map(args.hyp)
        groups = read_map(args.groups) if args.groups else None
    except ValueError as e:  # a duplicate id or a line that is not UTF-8, with file and line
        logger.error("%s", e)
        return 1
    summary, utts = score(refs, hyps, bool(args.number_norm), bool(args.skip_missing), groups)
    print(summary.format())
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        meta = {k: v for k, v in (("model", args.model_name), ("test_set", args.test_set)) if v}
        write_results(args.out, summary, utts, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
