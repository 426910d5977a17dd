#!/usr/bin/env python3
"""Download AISHELL-1 (OpenSLR 33) with md5 checks and resume, then unpack it.

    local/download_aishell.py --dest downloads [--base_url URL]

Leaves downloads/data_aishell/{wav/{train,dev,test}/SPK/*.wav,transcript/} and
downloads/resource_aishell/. Re-running skips finished work; an interrupted download resumes.
"""
import argparse
import glob
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.download import DownloadError, add_download_options, extract, fetch_archives

BASE_URL = "https://www.openslr.org/resources/33"
ARCHIVES = {
    "data_aishell.tgz": "2f494334227864a8a8fec932999db9d8",
    "resource_aishell.tgz": "957d480a0fcac85fc18e550756f624e5",
}
logger = logging.getLogger("download_aishell")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_download_options(p, BASE_URL, "ARCHIVE")
    args = p.parse_args()
    setup_logging()
    sums = dict(ARCHIVES, **dict(args.md5))
    try:
        fetch_archives(args.base_url, args.dest, sums)
        # data_aishell/wav holds one archive per speaker (S0002.tar.gz -> train/S0002/*.wav).
        wav_dir = os.path.join(args.dest, "data_aishell", "wav")
        speakers = sorted(glob.glob(os.path.join(wav_dir, "*.tar.gz")))
        for i, spk_archive in enumerate(speakers, 1):
            extract(spk_archive, wav_dir)
            if i % 50 == 0 or i == len(speakers):
                logger.info("unpacked %d/%d speaker archives", i, len(speakers))
    except DownloadError as e:
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
