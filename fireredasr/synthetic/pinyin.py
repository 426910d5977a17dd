"""Mandarin text -> the tone-numbered pinyin that espeak-ng's ``cmn-latn-pinyin`` voice reads.

espeak-ng reads characters one at a time with a single default reading, so polyphones come
out wrong (银行 as yin2 xing2). Converting words to pinyin with pypinyin first fixes them.
Three more things are needed for espeak-ng 1.52 to read every syllable as Mandarin:
- the neutral tone keeps its digit (de5), otherwise 的/们 are read as English words;
- 一/不 tone sandhi is applied across the whole sentence (pypinyin's only works inside its
  own word segments);
- j/q/x + "iong" (兄, 雄, 穷, 窘) is read as English whatever the spelling, so those
  syllables are sent as espeak phonemes (``[[...]]``, which needs ``espeakPHONEMES``).
"""
from __future__ import annotations

from typing import List, Sequence

# Tone contours in espeak-ng's cmn phoneme notation, by tone number (5: neutral).
_TONE_CONTOUR = {"1": "55", "2": "35", "3": "214", "4": "51", "5": "55"}
# Initials of the misread syllables, as espeak phonemes; "iong" is its "yong" (j'ong).
_IONG_INITIAL = {"j": "tS;", "q": "tS;h", "x": "S;"}
# After these, 一 keeps tone 1 (ordinals, counting, digits read one by one).
_YI_TONE1_BEFORE_OR_AFTER = set("第零一二三四五六七八九十")


def word_pinyin(words: Sequence[str]) -> List[List[str]]:
    """Tone-numbered pinyin (neutral tone 5, ü as v) of each word, word by word, so that
    pypinyin's phrase readings resolve polyphones."""
    from pypinyin import Style, lazy_pinyin

    return [lazy_pinyin(w, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda x: list(x))
            for w in words]


def apply_yi_bu_sandhi(chars: Sequence[str], syllables: Sequence[str]) -> List[str]:
    """一/不 sandhi over a whole sentence. ``chars`` and ``syllables`` align one to one.

    不 becomes bu2 before a fourth tone. 一 keeps yi1 at the end, after 第 and next to other
    numerals; otherwise it becomes yi2 before a fourth tone and yi4 before the other tones.
    """
    out = list(syllables)
    for i, ch in enumerate(chars):
        nxt = syllables[i + 1] if i + 1 < len(syllables) else None
        if ch == "不" and nxt and nxt[-1] == "4":
            out[i] = "bu2"
        elif ch == "一":
            prev_c = chars[i - 1] if i > 0 else ""
            next_c = chars[i + 1] if i + 1 < len(chars) else ""
            if nxt is None or prev_c in _YI_TONE1_BEFORE_OR_AFTER or \
                    next_c in _YI_TONE1_BEFORE_OR_AFTER:
                out[i] = "yi1"
            else:
                out[i] = "yi2" if nxt[-1] == "4" else "yi4"
    return out


def espeak_syllable(syllable: str) -> str:
    """One tone-numbered syllable as espeak input: pinyin, or phonemes for j/q/x + iong."""
    body, tone = syllable[:-1], syllable[-1]
    if body[:1] in _IONG_INITIAL and body[1:] == "iong":
        return f"[[{_IONG_INITIAL[body[0]]}j'ong{_TONE_CONTOUR[tone]}]]"
    return syllable


def sentence_to_espeak(words: Sequence[str]) -> str:
    """The espeak-ng input for a sentence given as Chinese words."""
    chars = [c for w in words for c in w]
    syllables = [s for w in word_pinyin(words) for s in w]
    if len(syllables) != len(chars) or not all(s[-1:].isdigit() for s in syllables):
        bad = [c for c, s in zip(chars, syllables) if not s[-1:].isdigit()]
        raise ValueError(f"no reading for {''.join(bad) or ''.join(words)!r}")
    return " ".join(espeak_syllable(s) for s in apply_yi_bu_sandhi(chars, syllables))


def readable_by_espeak(word: str) -> bool:
    """Whether every character of ``word`` has a reading espeak-ng can say."""
    try:
        sentence_to_espeak([word])
        return True
    except ValueError:
        return False
