"""Optional hypothesis post-filters (off by default; the decode stage reports their use)."""
from __future__ import annotations

from typing import List

from fireredasr.tokenizer.text_norm import is_cjk, split_cjk


def _tokens(text: str) -> List[str]:
    out: List[str] = []
    for part in split_cjk(text):
        out.extend([part] if is_cjk(part) else part.split())
    return out


def _join(tokens: List[str]) -> str:
    text = ""
    for t in tokens:
        if text and not (is_cjk(t[0]) and is_cjk(text[-1])):
            text += " "
        text += t
    return text


def collapse_repeats(text: str, max_repeats: int = 4, max_ngram: int = 8) -> str:
    """Collapse runaway loops: an n-gram (n <= ``max_ngram``; a token is a Chinese character
    or an English word) repeated more than ``max_repeats`` times in a row keeps
    ``max_repeats`` copies. LLM decoders sometimes emit such loops on noise or long audio."""
    tokens = _tokens(text)
    changed = True
    while changed:
        changed = False
        for n in range(1, max_ngram + 1):
            i = 0
            while i + n * (max_repeats + 1) <= len(tokens):
                gram = tokens[i:i + n]
                reps = 1
                while tokens[i + reps * n: i + (reps + 1) * n] == gram:
                    reps += 1
                if reps > max_repeats:
                    del tokens[i + max_repeats * n: i + reps * n]
                    changed = True
                i += 1
    return _join(tokens) if tokens != _tokens(text) else text
