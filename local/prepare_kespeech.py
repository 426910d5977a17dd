#!/usr/bin/env python3
"""KeSpeech data dirs from the release layout, keeping each utterance's sub-dialect.

    local/prepare_kespeech.py --corpus_dir KeSpeech --out_dir data

Reads KeSpeech/Tasks/ASR/<part>/{wav.scp,text,utt2spk,utt2subdialect} (wav paths relative to
the corpus folder) for the parts train_phase1, train_phase2, dev_phase1, dev_phase2 and test,
writes data/<part> with ``utt2subdialect`` (for per-dialect scoring) and data/train as the union
of the two training phases. ``<SPOKEN_NOISE>`` marks are removed from transcripts.
"""
import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.corpus_prep import (Utterance, build_data_dir, read_corpus_map,
                                         write_data_dir)
from fireredasr.data.kaldi_dir import DataDir, combine
from fireredasr.data.prep_report import PrepReport

PARTS = ("train_phase1", "train_phase2", "dev_phase1", "dev_phase2", "test")
NOISE_MARKS = ("<SPOKEN_NOISE>",)
logger = logging.getLogger("prepare_kespeech")


def prepare_part(corpus: str, part: str, out: str) -> None:
    src = os.path.join(corpus, "Tasks", "ASR", part)
    report = PrepReport(f"kespeech {part}")
    maps = {}
    for name in ("wav.scp", "text", "utt2spk", "utt2subdialect"):
        path = os.path.join(src, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found (expected the KeSpeech release layout)")
        maps[name] = read_corpus_map(path, report)

    def utterances():
        for utt, rel in maps["wav.scp"].items():
            text = maps["text"].get(utt)
            if text is None:
                report.skip(utt, "audio without transcript")
                continue
            for mark in NOISE_MARKS:
                text = text.replace(mark, " ")
            dialect = maps["utt2subdialect"].get(utt)
            if dialect is None:
                report.skip(utt, "no sub-dialect label")
                continue
            yield Utterance(utt, os.path.abspath(os.path.join(corpus, rel)), text,
                            spk=maps["utt2spk"].get(utt), extra={"utt2subdialect": dialect})

    d = build_data_dir(utterances(), report)
    orphans = set(maps["text"]) - set(maps["wav.scp"])
    if orphans:
        report.skip(sorted(orphans)[0], "transcript without audio", len(orphans))
    write_data_dir(d, out, report)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    args = p.parse_args()
    setup_logging()
    try:
        for part in args.parts:
            prepare_part(args.corpus_dir, part, os.path.join(args.out_dir, part))
    except FileNotFoundError as e:
        logger.error("%s", e)
        return 1
    train = [os.path.join(args.out_dir, p) for p in args.parts if p.startswith("train")]
    if train:
        combine([DataDir.load(t) for t in train]).save(os.path.join(args.out_dir, "train"))
        logger.info("data/train = %s", " + ".join(os.path.basename(t) for t in train))
    return 0


if __name__ == "__main__":
    sys.exit(main())
