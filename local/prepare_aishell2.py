#!/usr/bin/env python3
"""AISHELL-2 data dirs from a local copy of the (licensed) release.

    local/prepare_aishell2.py --train_dir AISHELL-2/iOS/data \
        --dev_test_dir AISHELL-DEV-TEST-SET --out_dir data

Each source folder holds ``wav.scp`` (``utt<TAB>wav/SPK/UTT.wav``, relative to the folder),
``trans.txt`` (``utt<TAB>text``) and the wavs. Makes data/train from the iOS training data and
data/{dev,test}_{ios,android,mic} from AISHELL-DEV-TEST-SET/{iOS,Android,Mic}/{dev,test}; the
release ships those as ``dev.tar.gz``/``test.tar.gz``, which are unpacked when needed.
"""
import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.corpus_prep import (Utterance, build_data_dir, read_corpus_map,
                                         write_data_dir)
from fireredasr.data.download import DownloadError, extract
from fireredasr.data.prep_report import PrepReport

CHANNELS = ("iOS", "Android", "Mic")
# Rare variant characters in the transcripts, mapped to the common form as WeNet's and
# lhotse's AISHELL-2 preparation do.
VARIANTS = {"𫖯": "頫"}
logger = logging.getLogger("prepare_aishell2")


def map_variants(text: str, report: PrepReport) -> str:
    for rare, common in VARIANTS.items():
        if rare in text:
            text = text.replace(rare, common)
            report.changes[f"variant {rare} -> {common}"] += 1
    return text


def locate_dev_test(dev_test_dir: str, channel: str, part: str, unpack_dir: str) -> str:
    """The folder of one dev/test set: ``<channel>/<part>/`` as unpacked, or the shipped
    ``<channel>/<part>.tar.gz`` unpacked into ``unpack_dir`` (the corpus copy may be
    read-only). A set that is neither is an error: a missing dev set would only surface at
    training time."""
    src = os.path.join(dev_test_dir, channel, part)
    if os.path.isdir(src):
        return src
    archive = src + ".tar.gz"
    if not os.path.isfile(archive):
        found = sorted(os.listdir(os.path.join(dev_test_dir, channel))) \
            if os.path.isdir(os.path.join(dev_test_dir, channel)) else []
        raise FileNotFoundError(f"no {channel} {part} set: neither {src}/ nor {archive} exists "
                                f"(found: {', '.join(found) or 'nothing'}); pass --channels to "
                                "prepare only the channels you have")
    dest = os.path.join(unpack_dir, channel)
    logger.info("unpacking %s into %s", archive, dest)
    extract(archive, dest)
    for cand in (os.path.join(dest, part), dest):
        if os.path.isfile(os.path.join(cand, "wav.scp")):
            return cand
    raise FileNotFoundError(f"{archive} unpacked into {dest}, but it holds no {part}/wav.scp")


def prepare(src: str, out: str, name: str) -> None:
    for f in ("wav.scp", "trans.txt"):
        if not os.path.isfile(os.path.join(src, f)):
            raise FileNotFoundError(f"{src} lacks {f} (expected the AISHELL-2 release layout)")
    report = PrepReport(name)
    texts = read_corpus_map(os.path.join(src, "trans.txt"), report)
    wavs = read_corpus_map(os.path.join(src, "wav.scp"), report)
    seen = set()

    def utterances():
        for utt, rel in wavs.items():
            seen.add(utt)
            if utt not in texts:
                report.skip(utt, "audio without transcript")
                continue
            wav = os.path.abspath(os.path.join(src, rel))
            yield Utterance(utt, wav, map_variants(texts[utt], report),
                            spk=os.path.basename(os.path.dirname(wav)))

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
    p.add_argument("--unpack_dir", help="where shipped dev/test archives are unpacked "
                   "(default: <out_dir>/local/aishell2_dev_test)")
    args = p.parse_args()
    setup_logging()
    unpack_dir = args.unpack_dir or os.path.join(args.out_dir, "local", "aishell2_dev_test")
    try:
        if args.train_dir:
            prepare(args.train_dir, os.path.join(args.out_dir, "train"), "aishell2 train")
        for ch in args.channels if args.dev_test_dir else []:
            for part in ("dev", "test"):
                src = locate_dev_test(args.dev_test_dir, ch, part, unpack_dir)
                prepare(src, os.path.join(args.out_dir, f"{part}_{ch.lower()}"),
                        f"aishell2 {part}_{ch.lower()}")
    except (FileNotFoundError, DownloadError) as e:
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
