"""Stage 2: dict.txt and the English BPE model from a training ``text`` file.

    fireredasr-build-tokenizer --text data/train/text --out_dir data/lang \
        [--bpe_vocab_size 1000] [--char_min_count 1] [--check_text data/dev/text ...]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from fireredasr.cli_utils import setup_logging
from fireredasr.data.kaldi_dir import iter_text_lines
from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.build import (LANG_BPE_NAME, LANG_DICT, build_tokenizer,
                                        report_unknown_tokens)

logger = logging.getLogger("build_tokenizer")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--text", required=True, help="Kaldi text file of the training set")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--bpe_vocab_size", type=int, default=1000)
    p.add_argument("--char_min_count", type=int, default=1)
    p.add_argument("--bpe_name", default=LANG_BPE_NAME,
                   help="file name of the BPE model, without .model (exported model folders "
                        "name it train_bpe1000.model, as the released ones do)")
    p.add_argument("--check_text", nargs="*", default=[],
                   help="text files whose out-of-dictionary tokens are counted and logged")
    args = p.parse_args(argv)
    setup_logging()
    # Every input is checked before anything is written, so a typo in --check_text cannot
    # leave a dictionary behind that a recipe would take for a finished stage.
    inputs = [(args.text, "training text")] + [(t, "--check_text") for t in args.check_text]
    for path, what in inputs:
        if not os.path.isfile(path):
            logger.error("%s not found: %s", what, path)
            return 1
    try:
        build_tokenizer((t for _, t in iter_text_lines(args.text)), args.out_dir,
                        args.bpe_vocab_size, args.char_min_count, args.bpe_name)
    except ValueError as e:  # an empty or undecodable text (the message names the line)
        logger.error("%s: %s", args.text, e)
        return 1
    tok = ChineseCharEnglishSpmTokenizer.from_files(
        os.path.join(args.out_dir, LANG_DICT), os.path.join(args.out_dir, args.bpe_name + ".model"))
    try:
        for path in [args.text] + args.check_text:
            report_unknown_tokens(tok, iter_text_lines(path), path)
    except ValueError as e:
        logger.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
