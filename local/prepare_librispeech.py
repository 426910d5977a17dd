#!/usr/bin/env python3
"""LibriSpeech data dirs from the unpacked release.

    local/prepare_librispeech.py downloads/LibriSpeech data [--subsets dev-clean ...]

Makes data/<subset with _ for -> (data/train_clean_100, data/test_clean, ...) from
<subset>/SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt and the FLAC files beside it. Transcripts
go through the toolkit's normalisation (upper-case, punctuation removed, apostrophes inside
words kept), so LibriSpeech's own text passes unchanged; every skip is counted and logged.
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

# Utterances per subset in the release (a prepared set is compared with these).
PUBLISHED = {"train-clean-100": 28539, "train-clean-360": 104014, "train-other-500": 148688,
             "dev-clean": 2703, "dev-other": 2864, "test-clean": 2620, "test-other": 2939}
logger = logging.getLogger("prepare_librispeech")


def subset_utterances(subset_dir: str, report: PrepReport):
    """Utterances of one subset: every transcript line, with its FLAC file."""
    for trans in sorted(glob.glob(os.path.join(subset_dir, "*", "*", "*.trans.txt"))):
        chapter_dir = os.path.dirname(trans)
        spk = os.path.basename(os.path.dirname(chapter_dir))
        texts = read_corpus_map(trans, report)
        flacs = {os.path.basename(f)[:-5] for f in glob.glob(os.path.join(chapter_dir, "*.flac"))}
        for utt in sorted(flacs - set(texts)):
            report.skip(utt, "audio without transcript")
        for utt, text in texts.items():
            # build_data_dir counts a missing file; the speaker is the id's first field.
            yield Utterance(utt, os.path.abspath(os.path.join(chapter_dir, utt + ".flac")),
                            text, spk=spk)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus_dir", help="the LibriSpeech folder (holding one folder per subset)")
    p.add_argument("out_dir", help="where data/<set> dirs go")
    p.add_argument("--subsets", nargs="+", default=None,
                   help="subsets to prepare (default: every subset folder found)")
    args = p.parse_args()
    setup_logging()
    subsets = args.subsets or sorted(s for s in PUBLISHED
                                     if os.path.isdir(os.path.join(args.corpus_dir, s)))
    if not subsets:
        logger.error("no LibriSpeech subset folder (%s) under %s", ", ".join(PUBLISHED),
                     args.corpus_dir)
        return 1
    for subset in subsets:
        subset_dir = os.path.join(args.corpus_dir, subset)
        if not glob.glob(os.path.join(subset_dir, "*", "*", "*.trans.txt")):
            logger.error("no SPEAKER/CHAPTER/*.trans.txt under %s (download and unpack %s "
                         "first)", subset_dir, subset)
            return 1
        report = PrepReport(f"librispeech {subset}")
        d = build_data_dir(subset_utterances(subset_dir, report), report)
        write_data_dir(d, os.path.join(args.out_dir, subset.replace("-", "_")), report,
                       PUBLISHED.get(subset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
