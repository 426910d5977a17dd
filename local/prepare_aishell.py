#!/usr/bin/env python3
"""AISHELL-1 data dirs from the unpacked release.

    local/prepare_aishell.py downloads/data_aishell data

Makes data/{train,dev,test} from wav/{train,dev,test}/SPK/UTT.wav and the official transcript
(transcript/aishell_transcript_v0.8.txt), keeping only utterances that have a transcript and
removing its word-separating spaces.
"""
import argparse
import glob
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.corpus_prep import (Utterance, build_data_dir, read_corpus_map,
                                         write_data_dir)
from fireredasr.data.prep_report import PrepReport

PUBLISHED = {"train": 120098, "dev": 14326, "test": 7176}
logger = logging.getLogger("prepare_aishell")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus_dir", help="the data_aishell folder")
    p.add_argument("out_dir", help="where data/<set> dirs go")
    args = p.parse_args()
    setup_logging()
    transcript = os.path.join(args.corpus_dir, "transcript", "aishell_transcript_v0.8.txt")
    if not os.path.isfile(transcript):
        logger.error("AISHELL-1 transcript not found: %s", transcript)
        return 1
    transcript_report = PrepReport("aishell transcript")
    texts = read_corpus_map(transcript, transcript_report)
    transcript_report.log()
    used = set()
    for part, expected in PUBLISHED.items():
        wavs = sorted(glob.glob(os.path.join(args.corpus_dir, "wav", part, "*", "*.wav")))
        if not wavs:
            logger.error("no wavs under %s/wav/%s (unpack the speaker archives first)",
                         args.corpus_dir, part)
            return 1
        report = PrepReport(f"aishell {part}")

        def utterances():
            for wav in wavs:
                utt = os.path.splitext(os.path.basename(wav))[0]
                if utt not in texts:
                    report.skip(utt, "audio without transcript")
                    continue
                used.add(utt)
                yield Utterance(utt, os.path.abspath(wav), texts[utt],
                                spk=os.path.basename(os.path.dirname(wav)))

        write_data_dir(build_data_dir(utterances(), report),
                       os.path.join(args.out_dir, part), report, expected)
    orphans = len(set(texts) - used)
    if orphans:
        logger.warning("%d transcript lines have no audio in any set", orphans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
