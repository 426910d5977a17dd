"""How much of the synthetic corpus's text its sound alone decides.

espeak-ng says each character as its toned syllable, so a transcript is only as recoverable
as its syllables allow: homophones (夏/下, 事/是) sound the same. These functions decode the
best transcript from the exact syllables with the generator's own lexicon, a floor on the
character error rate of any model that hears perfectly: with the word weights alone, and
with the part-of-speech templates as well (the generator's whole distribution).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from fireredasr.synthetic.pinyin import sentence_to_espeak
from fireredasr.synthetic.sentences import MAX_WORD_LEN, TEMPLATES, Lexicon

Syllables = Tuple[str, ...]
# Per tag (or "*": any tag): syllables of a word -> (log weight, word) of its best spelling.
SpellingTable = Dict[str, Dict[Syllables, Tuple[float, str]]]


def syllables(words: Sequence[str]) -> Syllables:
    """The syllables espeak-ng says for a sentence of words (tone numbers, sandhi applied)."""
    return tuple(sentence_to_espeak(words).split())


def spelling_table(lexicon: Lexicon) -> SpellingTable:
    """For each tag, and for all tags together ("*"), the most probable word of each sound."""
    def best(entries: Sequence[Tuple[str, float]]) -> Dict[Syllables, Tuple[float, str]]:
        total = sum(w for _, w in entries)
        table: Dict[Syllables, Tuple[float, str]] = {}
        for word, weight in entries:
            key, entry = syllables([word]), (math.log(weight / total), word)
            # Equal weights go to the larger word, whatever order the lexicon's tags come in
            # (a set's order varies with the process's hash seed).
            if key not in table or table[key] < entry:
                table[key] = entry
        return table

    pooled: Dict[str, float] = defaultdict(float)
    tables: SpellingTable = {}
    for tag, words in lexicon.words.items():
        tables[tag] = best(list(zip(words, lexicon.weights[tag])))
        for word, weight in zip(words, lexicon.weights[tag]):
            pooled[word] += weight
    tables["*"] = best(list(pooled.items()))
    return tables


def _words_at(sounds: Syllables, start: int, table: Dict[Syllables, Tuple[float, str]]
              ) -> Iterator[Tuple[int, float, str]]:
    """(end, log score, word) of every lexicon word that spells ``sounds[start:end]``."""
    for end in range(start + 1, min(len(sounds), start + MAX_WORD_LEN) + 1):
        hit = table.get(sounds[start:end])
        if hit:
            yield end, hit[0], hit[1]


def _fill(sounds: Syllables, tags: Sequence[str], tables: SpellingTable
          ) -> Optional[Tuple[float, str]]:
    """Best (log score, text) that spells ``sounds`` as one word per tag, in order."""
    states = {0: (0.0, "")}
    for tag in tags:
        nxt: Dict[int, Tuple[float, str]] = {}
        for start, (score, text) in states.items():
            for end, word_score, word in _words_at(sounds, start, tables[tag]):
                if end not in nxt or nxt[end][0] < score + word_score:
                    nxt[end] = (score + word_score, text + word)
        states = nxt
    return states.get(len(sounds))


def decode_words(sounds: Syllables, tables: SpellingTable) -> str:
    """The most probable sequence of lexicon words (any tags, any number) with these sounds."""
    best: List[Optional[Tuple[float, str]]] = [None] * (len(sounds) + 1)
    best[0] = (0.0, "")
    for start in range(len(sounds)):
        if best[start] is None:
            continue
        score, text = best[start]
        for end, word_score, word in _words_at(sounds, start, tables["*"]):
            if best[end] is None or best[end][0] < score + word_score:
                best[end] = (score + word_score, text + word)
    return best[-1][1] if best[-1] else ""


def decode_templates(sounds: Syllables, tables: SpellingTable,
                     templates: Sequence[Tuple[str, ...]] = TEMPLATES) -> str:
    """The most probable sentence of the generator (template and words) with these sounds."""
    found = [f for f in (_fill(sounds, t, tables) for t in templates) if f]
    return max(found)[1] if found else ""


def substitution_kind(ref: str, hyp: str) -> str:
    """How a substituted character sounds against the reference one, each read alone:
    "homophone" (same syllable and tone), "tone" (same syllable, other tone) or "other"."""
    from pypinyin import Style, lazy_pinyin

    def read(char: str, style: Style) -> str:
        return lazy_pinyin(char, style=style, neutral_tone_with_five=True)[0]

    if read(ref, Style.TONE3) == read(hyp, Style.TONE3):
        return "homophone"
    return "tone" if read(ref, Style.NORMAL) == read(hyp, Style.NORMAL) else "other"
