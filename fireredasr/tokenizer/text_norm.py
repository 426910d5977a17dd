"""Text rules shared by the training-text normaliser, the tokenizers and the scorer.

One definition of "a Chinese character" (:data:`CJK_CHAR`) and one punctuation set
(:data:`PUNCTUATION`, the released scorer's) serve every part of the toolkit, so that what
the normaliser keeps, what the tokenizer splits and what the scorer counts agree.

The released tokenizer upper-cases, turns the sentence punctuation ``，。？！,.?!`` into
spaces, and then treats every Chinese character as its own token. Training-text preparation
(:func:`normalize_transcript`) goes further, as the scorer does: every punctuation mark and
bracket becomes a space, full-width forms are folded to ASCII and compatibility ideographs
to their unified forms.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import List, Optional

# Chinese characters: CJK Unified Ideographs with Extensions A-I, and the compatibility
# ideographs (their own block and its supplement).
CJK_RANGES = ("\u3400-\u4dbf"                # Extension A
              "\u4e00-\u9fff"                # Unified Ideographs
              "\uf900-\ufaff"                # Compatibility Ideographs
              "\U00020000-\U0002fa1f"        # Extensions B-F, I; Compatibility Supplement
              "\U00030000-\U000323af")       # Extensions G, H
CJK_CHAR = re.compile(f"([{CJK_RANGES}])")
_COMPAT_IDEOGRAPH = re.compile("[\uf900-\ufaff\U0002f800-\U0002fa1f]")

TOKENIZER_PUNCTUATION = re.compile(r"[，。？！,.?!]")
# The released scorer's (wer.py) punctuation set, character by character; the training
# normaliser removes the same marks.
PUNCTUATION = ("，。？！,.?!＂＃＄％＆＇（）＊＋－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､　、〃〈〉《》"
               "「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏﹑﹔·｡\":()[]{}/;`|=+")
PUNCTUATION_RE = re.compile("[" + re.escape(PUNCTUATION) + "]+")
# An ASCII apostrophe stays inside or at the end of an English word (IT'S, STUDENTS'); as a
# quote mark around Chinese text ('关停并转') it is punctuation.
QUOTE_APOSTROPHE = re.compile(r"(?<![A-Za-z])'|'(?![A-Za-z\s]|$)")


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
    """Split into single Chinese characters and the non-empty, stripped spans between them."""
    parts = CJK_CHAR.split(text.strip())
    return [p.strip() for p in parts if p.strip()]


def is_cjk(token: str) -> bool:
    """True for a single Chinese character (the shared definition, :data:`CJK_RANGES`)."""
    return CJK_CHAR.fullmatch(token) is not None


def normalize_transcript(text: str, changes: Optional[Counter] = None) -> str:
    """Training-target normalisation: full-width folding, compatibility ideographs to their
    unified forms, punctuation and brackets to spaces, upper-case, collapsed spaces, and no
    spaces between Chinese characters (AISHELL's word segmentation).

    ``changes`` counts what was rewritten beyond case and spacing ("punctuation removed",
    "compatibility ideograph unified"), for the preparation reports.
    """
    text = fullwidth_to_halfwidth(text)
    if _COMPAT_IDEOGRAPH.search(text):
        text = _COMPAT_IDEOGRAPH.sub(lambda m: unicodedata.normalize("NFC", m.group()), text)
        if changes is not None:
            changes["compatibility ideograph unified"] += 1
    cleaned = QUOTE_APOSTROPHE.sub(" ", PUNCTUATION_RE.sub(" ", text))
    if changes is not None and cleaned != text:
        changes["punctuation removed"] += 1
    text = cleaned.upper()
    return " ".join(" ".join(p.split()) for p in _join_cjk(split_cjk(text)))


def _join_cjk(parts: List[str]) -> List[str]:
    """Glue consecutive Chinese parts so only English spans stay space-separated."""
    out: List[str] = []
    for p in parts:
        if out and is_cjk(p[0]) and is_cjk(out[-1][-1]):
            out[-1] += p
        else:
            out.append(p)
    return out
