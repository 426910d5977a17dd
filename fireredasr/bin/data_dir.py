"""Kaldi data-dir tools behind utils/*.sh: validate, fix, subset, combine, split, speed-perturb.

    python -m fireredasr.bin.data_dir validate data/train
    python -m fireredasr.bin.data_dir fix data/train
    python -m fireredasr.bin.data_dir subset --first 100 data/train data/train_100
    python -m fireredasr.bin.data_dir subset --random 100 --seed 1 data/train data/train_r100
    python -m fireredasr.bin.data_dir subset --utt_list list.txt data/train data/train_list
    python -m fireredasr.bin.data_dir combine data/all data/a data/b
    python -m fireredasr.bin.data_dir split data/train 4        # data/train/split4/{1..4}
    python -m fireredasr.bin.data_dir perturb_speed data/train data/train_sp
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data import kaldi_dir as kd

logger = logging.getLogger("data_dir")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check a data dir; exit 1 listing the problems")
    v.add_argument("--no_text", action="store_true", help="a data dir without transcripts is fine")
    v.add_argument("dir")
    f = sub.add_parser("fix", help="sort, and keep utterances present in every file")
    f.add_argument("--no_text", action="store_true")
    f.add_argument("dir")
    s = sub.add_parser("subset")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--first", type=int)
    g.add_argument("--random", type=int)
    g.add_argument("--utt_list")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("src")
    s.add_argument("dst")
    c = sub.add_parser("combine")
    c.add_argument("dst")
    c.add_argument("srcs", nargs="+")
    sp = sub.add_parser("split")
    sp.add_argument("dir")
    sp.add_argument("nj", type=int)
    pe = sub.add_parser("perturb_speed")
    pe.add_argument("--factors", type=float, nargs="+", default=[0.9, 1.0, 1.1])
    pe.add_argument("src")
    pe.add_argument("dst")
    return p


def run(args: argparse.Namespace) -> int:
    if args.cmd == "validate":
        problems = kd.validate(args.dir, need_text=not args.no_text)
        for prob in problems:
            logger.error("%s: %s", args.dir, prob)
        if not problems:
            logger.info("%s: valid data dir", args.dir)
        return 1 if problems else 0
    if args.cmd == "fix":
        d, dropped = kd.fix(kd.DataDir.load(args.dir), need_text=not args.no_text)
        d.save(args.dir)
        logger.info("%s: %d utterances kept, %d dropped", args.dir, len(d), sum(dropped.values()))
        return 0
    if args.cmd == "subset":
        src = kd.DataDir.load(args.src)
        if args.first is not None:
            out = kd.subset_first(src, args.first)
        elif args.random is not None:
            out = kd.subset_random(src, args.random, args.seed)
        else:
            with open(args.utt_list, encoding="utf-8") as f:
                out = kd.subset_list(src, [line.split()[0] for line in f if line.strip()])
        out.save(args.dst)
        logger.info("%s: %d utterances", args.dst, len(out))
        return 0
    if args.cmd == "combine":
        out = kd.combine([kd.DataDir.load(s) for s in args.srcs])
        out.save(args.dst)
        logger.info("%s: %d utterances from %d data dirs", args.dst, len(out), len(args.srcs))
        return 0
    if args.cmd == "split":
        parts = kd.split(kd.DataDir.load(args.dir), args.nj)
        for j, part in enumerate(parts, 1):
            part.save(os.path.join(args.dir, f"split{args.nj}", str(j)))
        return 0
    if args.cmd == "perturb_speed":
        out = kd.speed_perturb(kd.DataDir.load(args.src), args.factors)
        out.save(args.dst)
        logger.info("%s: %d utterances (speeds %s)", args.dst, len(out), args.factors)
        return 0
    raise AssertionError(args.cmd)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        return run(args)
    except (FileNotFoundError, ValueError) as e:
        logger.error("%s", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
