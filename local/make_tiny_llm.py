#!/usr/bin/env python3
"""The base LLM of recipes/mini: a byte-level BPE tokenizer with the Qwen2 chat tokens and a
tiny Qwen2 pretrained on the training transcripts, saved as a Hugging Face folder.

    local/make_tiny_llm.py --text data/train/text --valid_text data/dev/text \\
        --out_dir exp/llm_base [--steps 1500] [--tiny]
"""
import argparse
import logging
import os
import shutil
import sys

import torch

from fireredasr.cli_utils import setup_logging
from fireredasr.data.kaldi_dir import iter_text_lines
from fireredasr.synthetic.tiny_llm import TinyLlmConfig, build_tiny_llm

logger = logging.getLogger("make_tiny_llm")


def true_or_false(text: str) -> bool:
    """A recipe-style boolean flag value."""
    if text not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text == "true"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--text", required=True, help="Kaldi text of the training set")
    p.add_argument("--valid_text", help="Kaldi text for the perplexity check")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--steps", type=int, default=TinyLlmConfig.steps)
    p.add_argument("--lr", type=float, default=TinyLlmConfig.lr)
    p.add_argument("--copy_fraction", type=float, default=TinyLlmConfig.copy_fraction,
                   help="share of each batch spent repeating random token sequences")
    p.add_argument("--copy_max_repeat", type=int, default=TinyLlmConfig.copy_max_repeat,
                   help="each copied token fills 1..N positions of the speech slot")
    p.add_argument("--copy_blanks", type=true_or_false, default=TinyLlmConfig.copy_blanks,
                   metavar="true|false",
                   help="stretched slot positions may hold the pad token (CTC's blank)")
    p.add_argument("--char_tokens", type=true_or_false, default=TinyLlmConfig.char_tokens,
                   metavar="true|false",
                   help="one token per Chinese character (no multi-character words)")
    p.add_argument("--tie_word_embeddings", type=true_or_false,
                   default=TinyLlmConfig.tie_word_embeddings, metavar="true|false")
    p.add_argument("--tiny", action="store_true", help="a toy-sized model (CI)")
    args = p.parse_args()
    setup_logging()
    for path in (args.text, args.valid_text):
        if path and not os.path.isfile(path):
            logger.error("text not found: %s", path)
            return 1
    try:
        texts = [t for _, t in iter_text_lines(args.text) if t.strip()]
        valid = [t for _, t in iter_text_lines(args.valid_text)] if args.valid_text else []
    except ValueError as e:
        logger.error("%s", e)
        return 1
    if not texts:
        logger.error("%s holds no transcript", args.text)
        return 1
    if not 0.0 <= args.copy_fraction < 1.0:
        logger.error("--copy_fraction must be in [0, 1), got %s", args.copy_fraction)
        return 1
    if args.copy_max_repeat < 1:
        logger.error("--copy_max_repeat must be at least 1, got %s", args.copy_max_repeat)
        return 1
    training = dict(steps=args.steps, lr=args.lr, copy_fraction=args.copy_fraction,
                    copy_max_repeat=args.copy_max_repeat, char_tokens=args.char_tokens,
                    copy_blanks=args.copy_blanks, tie_word_embeddings=args.tie_word_embeddings)
    cfg = TinyLlmConfig(**training)
    if args.tiny:
        cfg = TinyLlmConfig(vocab_size=600, hidden_size=64, num_layers=2, num_heads=2,
                            num_kv_heads=1, intermediate_size=128, batch_size=8, **training)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    tmp = args.out_dir.rstrip("/") + ".tmp"  # the folder appears only when complete
    build_tiny_llm(texts, valid, tmp, cfg)
    if os.path.exists(args.out_dir):
        shutil.rmtree(args.out_dir)
    os.replace(tmp, args.out_dir)
    logger.info("wrote %s", args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
