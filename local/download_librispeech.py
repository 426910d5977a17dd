#!/usr/bin/env python3
"""Download LibriSpeech (OpenSLR 12) subsets with md5 checks and resume, then unpack them.

    local/download_librispeech.py --dest downloads [--subsets dev-clean test-clean ...]

Leaves downloads/LibriSpeech/<subset>/SPEAKER/CHAPTER/{*.flac,SPEAKER-CHAPTER.trans.txt}.
Re-running skips finished work; an interrupted download resumes where it stopped.
"""
import argparse
import logging
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.download import DownloadError, add_download_options, fetch_archives

BASE_URL = "https://www.openslr.org/resources/12"
# The publisher's md5sum.txt.
SUBSETS = {
    "train-clean-100": "2a93770f6d5c6c964bc36631d331a522",
    "train-clean-360": "c0e676e450a7ff2f54aeade5171606fa",
    "train-other-500": "d1a0fd59409feb2c614ce4d30c387708",
    "dev-clean": "42e2234ba48799c1f50f24a7926300a1",
    "dev-other": "c8d0bcc9cca99d4f8b62fcc847357931",
    "test-clean": "32fa31d27d2e1cad72775fee3f4849a9",
    "test-other": "fb5a50374b501bb3bac4815ee91d3135",
}
logger = logging.getLogger("download_librispeech")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_download_options(p, BASE_URL, "SUBSET")
    p.add_argument("--subsets", nargs="+", default=["train-clean-100", "dev-clean", "dev-other",
                                                    "test-clean", "test-other"])
    args = p.parse_args()
    setup_logging()
    sums = dict(SUBSETS, **dict(args.md5))
    unknown = [s for s in args.subsets if s not in sums]
    if unknown:
        logger.error("unknown LibriSpeech subsets %s; choose from %s", unknown, sorted(SUBSETS))
        return 1
    try:
        # Each archive unpacks into <dest>/LibriSpeech/<subset>/.
        fetch_archives(args.base_url, args.dest, {f"{s}.tar.gz": sums[s] for s in args.subsets})
    except DownloadError as e:
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
