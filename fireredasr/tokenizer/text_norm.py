"""Text normalisation shared by the AED tokenizer and the tokenizer-building stage.

The released tokenizer upper-cases, turns the sentence punctuation ``，。？！,.?!`` into
spaces, and then treats every CJK ideograph as its own token. Training-text preparation
applies the same rules (plus full-width to half-width folding) so that targets and
dictionary agree.
"""
from __future__ import annotations

import re
from typing import List

# Ideographs the released tokenizer treats as single tokens (CJK Extension A + Unified).
CJK_CHAR = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff])")
TOKENIZER_PUNCTUATION = re.compile(r"[，。？！,.?!]")


def fullwidth_to_halfwidth(text: str) -> str:
    """Fold full-width ASCII variants (Ａ, １, ！, the ideographic space) to ASCII."""
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def replace_punctuation(text: str) -> str:
    """Replace the sentence punctuation the released tokenizer drops by spaces."""
    return TOKENIZER_PUNCTUATION.sub(" ", text)


def split_cjk(text: str) -> List[str]:
    """Split into single CJK characters and the non-empty, stripped spans between them."""
    parts = CJK_CHAR.split(text.strip())
    return [p.strip() for p in parts if p.strip()]


def is_cjk(token: str) -> bool:
    return CJK_CHAR.fullmatch(token) is not None


def normalize_transcript(text: str) -> str:
    """Training-target normalisation: full-width folding, punctuation, upper-case,
    collapsed spaces, and no spaces between CJK characters (AISHELL's word segmentation)."""
    text = fullwidth_to_halfwidth(text)
    text = replace_punctuation(text).upper()
    return " ".join(" ".join(p.split()) for p in _join_cjk(split_cjk(text)))


def _join_cjk(parts: List[str]) -> List[str]:
    """Glue consecutive CJK parts so only English spans stay space-separated."""
    out: List[str] = []
    for p in parts:
        if out and is_cjk(p[0]) and is_cjk(out[-1][-1]):
            out[-1] += p
        else:
            out.append(p)
    return out
