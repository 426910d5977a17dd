"""Stage 2: build ``dict.txt`` and the BPE model (``bpe.model``) from training transcripts.

The layout is the released one: ids 0-4 are ``<blank> <unk> <pad> <sos> <eos>``, then the
Chinese characters by descending frequency, then the pieces of a sentencepiece BPE model
trained on the upper-cased non-Chinese spans. Transcripts are normalised with
:func:`normalize_transcript` first, the same rules the tokenizer applies.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import Counter
from typing import Iterable, List, Tuple

import sentencepiece as spm

from fireredasr.tokenizer.text_norm import is_cjk, normalize_transcript, split_cjk
from fireredasr.tokenizer.token_dict import TokenDict

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("<blank>", "<unk>", "<pad>", "<sos>", "<eos>")
# Always part of the BPE training text, so that a corpus with little or no English still
# yields a model that can spell any upper-case word.
BPE_SEED_LINES = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z")


def split_transcripts(texts: Iterable[str]) -> Tuple[Counter, List[str]]:
    """Chinese character counts and the non-Chinese spans of normalised transcripts."""
    chars: Counter = Counter()
    spans: List[str] = []
    for text in texts:
        for part in split_cjk(normalize_transcript(text)):
            if is_cjk(part):
                chars[part] += 1
            else:
                spans.append(part)
    return chars, spans


def train_bpe(spans: Iterable[str], model_prefix: str, vocab_size: int) -> spm.SentencePieceProcessor:
    """Train a BPE model; the vocabulary may end up smaller when the text is too small for it."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for line in list(BPE_SEED_LINES) + list(spans):
            f.write(line + "\n")
        path = f.name
    try:
        spm.SentencePieceTrainer.train(
            input=path, model_prefix=model_prefix, model_type="bpe", vocab_size=vocab_size,
            character_coverage=1.0, hard_vocab_limit=False, bos_id=-1, eos_id=-1, unk_id=0,
            input_sentence_size=10_000_000, shuffle_input_sentence=True,
            minloglevel=2)
    finally:
        os.remove(path)
    return spm.SentencePieceProcessor(model_file=model_prefix + ".model")


# The BPE model's name in a training lang dir, whatever its size. Exported model folders
# carry it under the released name, train_bpe1000.model (models/released_layout.py).
LANG_BPE_NAME = "bpe"
LANG_DICT = "dict.txt"


def build_tokenizer(texts: Iterable[str], out_dir: str, bpe_vocab_size: int = 1000,
                    char_min_count: int = 1, bpe_name: str = LANG_BPE_NAME) -> TokenDict:
    """Write ``<out_dir>/dict.txt`` and ``<out_dir>/<bpe_name>.model``; return the dictionary."""
    os.makedirs(out_dir, exist_ok=True)
    chars, spans = split_transcripts(texts)
    if not chars and not spans:
        raise ValueError("the training text holds no transcript to build a dictionary from")
    kept = sorted((c for c, n in chars.items() if n >= char_min_count),
                  key=lambda c: (-chars[c], c))
    rare = len(chars) - len(kept)
    if rare:
        logger.warning("%d characters seen fewer than %d times are left to <unk>",
                       rare, char_min_count)
    # Everything is written into a scratch folder and moved into place at the end, dict.txt
    # last: an interrupted build never leaves outputs that look complete.
    scratch = tempfile.mkdtemp(prefix=".build_tokenizer.", dir=out_dir)
    try:
        sp = train_bpe(spans, os.path.join(scratch, bpe_name), bpe_vocab_size)
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                  if not (sp.is_unknown(i) or sp.is_control(i))]
        seen = set(SPECIAL_TOKENS) | set(kept)
        pieces = [p for p in pieces if p not in seen]
        d = TokenDict(list(SPECIAL_TOKENS) + kept + pieces)
        d.write(os.path.join(scratch, LANG_DICT))
        for name in (bpe_name + ".vocab", bpe_name + ".model", LANG_DICT):
            if os.path.exists(os.path.join(scratch, name)):
                os.replace(os.path.join(scratch, name), os.path.join(out_dir, name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    logger.info("dict.txt: %d tokens (%d Chinese characters, %d BPE pieces)",
                len(d), len(kept), len(pieces))
    return d


def report_unknown_tokens(tokenizer, texts: Iterable[Tuple[str, str]], name: str) -> Counter:
    """Count and log utterances whose tokens fall outside the dictionary; returns the counts
    of the unknown tokens."""
    unknown: Counter = Counter()
    n_utts = n_bad = 0
    for _, text in texts:
        n_utts += 1
        tokens, ids = tokenizer.tokenize(normalize_transcript(text))
        bad = [t for t, i in zip(tokens, ids) if i == tokenizer.dict.unk_id]
        if bad:
            n_bad += 1
            unknown.update(bad)
    if n_bad:
        top = ", ".join(f"{t}:{n}" for t, n in unknown.most_common(10))
        logger.warning("%s: %d of %d utterances hold %d tokens outside the dictionary "
                       "(mapped to <unk>); most frequent: %s",
                       name, n_bad, n_utts, sum(unknown.values()), top)
    else:
        logger.info("%s: all %d utterances are covered by the dictionary", name, n_utts)
    return unknown
