"""Stage 1: fbank features for data dirs (ark/scp with --nj jobs, or on-the-fly) and CMVN.

    fireredasr-compute-fbank --nj 4 data/train data/dev              # ark/scp + utt2num_frames
    fireredasr-compute-fbank --mode on_the_fly data/train             # writes no features
    fireredasr-compute-fbank --cmvn_out data/train/cmvn.ark --cmvn_num_utts 20000 data/train

A data dir whose features are complete is skipped. With --cmvn_out, global CMVN statistics
are computed from the first data dir (from its features, or its audio in on-the-fly mode).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.feature_extraction import (compute_cmvn_file, compute_fbank_dir,
                                                features_complete, write_durations)

logger = logging.getLogger("compute_fbank")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dirs", nargs="+")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--mode", choices=["ark", "on_the_fly"], default="ark")
    p.add_argument("--cmvn_out", help="write global CMVN stats of the first data dir here")
    p.add_argument("--cmvn_num_utts", type=int, default=0, help="0: every utterance")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    setup_logging()
    try:
        return run(args)
    except (RuntimeError, ValueError) as e:  # unreadable features or maps, no frames for CMVN
        logger.error("%s", e)
        return 1


def run(args: argparse.Namespace) -> int:
    for d in args.data_dirs:
        if not os.path.isdir(d):
            logger.error("data dir not found: %s", d)
            return 1
        if args.mode == "on_the_fly":
            write_durations(d)
            logger.info("%s: on-the-fly features, nothing to extract", d)
        elif features_complete(d):
            logger.info("%s: features complete, skipped", d)
        else:
            report = compute_fbank_dir(d, args.nj)
            if report.kept == 0:
                logger.error("%s: no utterance could be read", d)
                return 1
    if args.cmvn_out:
        if os.path.isfile(args.cmvn_out):
            logger.info("%s exists, skipped", args.cmvn_out)
        else:
            compute_cmvn_file(args.data_dirs[0], args.cmvn_out, args.cmvn_num_utts, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
