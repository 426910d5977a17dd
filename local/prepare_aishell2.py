#!/usr/bin/env python3
"""AISHELL-2 data dirs from a local copy of the (licensed) release.

    local/prepare_aishell2.py --train_dir AISHELL-2/iOS/data \
        --dev_test_dir AISHELL-DEV-TEST-SET --out_dir data

Each source folder holds ``wav.scp`` (``utt<TAB>wav/SPK/UTT.wav``, relative to the folder),
``trans.txt`` (``utt<TAB>text``) and the wavs. Makes data/train from the iOS training data and
data/{dev,test}_{ios,android,mic} from AISHELL-DEV-TEST-SET/{iOS,Android,Mic}/{dev,test}.
"""
import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.corpus_prep import Utterance, build_data_dir, write_data_dir
from fireredasr.data.kaldi_dir import iter_text_lines
from fireredasr.data.prep_report import PrepReport

CHANNELS = ("iOS", "Android", "Mic")
logger = logging.getLogger("prepare_aishell2")


def prepare(src: str, out: str, name: str) -> None:
    for f in ("wav.scp", "trans.txt"):
        if not os.path.isfile(os.path.join(src, f)):
            raise FileNotFoundError(f"{src} lacks {f} (expected the AISHELL-2 release layout)")
    texts = dict(iter_text_lines(os.path.join(src, "trans.txt")))
    report = PrepReport(name)
    seen = set()

    def utterances():
        for utt, rel in iter_text_lines(os.path.join(src, "wav.scp")):
            seen.add(utt)
            if utt not in texts:
                report.skip(utt, "audio without transcript")
                continue
            wav = os.path.abspath(os.path.join(src, rel))
            yield Utterance(utt, wav, texts[utt], spk=os.path.basename(os.path.dirname(wav)))

    d = build_data_dir(utterances(), report)
    for utt in sorted(set(texts) - seen):
        report.skip(utt, "transcript without audio")
    write_data_dir(d, out, report)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train_dir", help="AISHELL-2/iOS/data")
    p.add_argument("--dev_test_dir", help="AISHELL-DEV-TEST-SET")
    p.add_argument("--channels", nargs="+", default=list(CHANNELS))
    p.add_argument("--out_dir", required=True)
    args = p.parse_args()
    setup_logging()
    try:
        if args.train_dir:
            prepare(args.train_dir, os.path.join(args.out_dir, "train"), "aishell2 train")
        for ch in args.channels if args.dev_test_dir else []:
            for part in ("dev", "test"):
                src = os.path.join(args.dev_test_dir, ch, part)
                if not os.path.isdir(src):
                    logger.warning("no %s %s set at %s; skipped", ch, part, src)
                    continue
                prepare(src, os.path.join(args.out_dir, f"{part}_{ch.lower()}"),
                        f"aishell2 {part}_{ch.lower()}")
    except FileNotFoundError as e:
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
