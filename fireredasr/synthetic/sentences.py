"""Sentence-like Mandarin word sequences from a word list with frequencies and POS tags.

The source is jieba's dictionary (MIT licence, shipped in the jieba wheel): 349k words with a
frequency and a part-of-speech tag each. Sentences follow simple part-of-speech templates
("pronoun adverb verb noun", "time pronoun verb place"...) and draw words by frequency, so
frequent words recur (the decoder can learn them) while the long tail still appears.
"""
from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from fireredasr.synthetic.pinyin import readable_by_espeak
from fireredasr.tokenizer.text_norm import is_cjk

# Part-of-speech templates (jieba/ICTCLAS tags): r pronoun, v verb, n noun, a adjective,
# d adverb, t time, ns place, nr person, m numeral, q measure word, p preposition,
# c conjunction, f direction, vn verbal noun, u particle (的/了...).
TEMPLATES: Tuple[Tuple[str, ...], ...] = (
    ("r", "v", "n"), ("r", "d", "v", "n"), ("t", "r", "v", "ns"), ("n", "d", "a"),
    ("r", "v", "a", "u", "n"), ("ns", "u", "n", "d", "a"), ("nr", "v", "n"),
    ("t", "n", "d", "a"), ("r", "p", "ns", "v", "n"), ("n", "c", "n", "d", "a"),
    ("r", "d", "v", "vn"), ("m", "q", "n", "v", "f"), ("nr", "d", "v", "r", "u", "n"),
    ("t", "r", "d", "v", "m", "q", "n"), ("a", "u", "n", "v", "ns"), ("r", "v", "nr", "u", "n"),
    ("n", "v", "n", "c", "n"), ("p", "t", "r", "v", "a", "u", "n"),
)
PARTICLES = {"u": ["的", "了", "着", "过", "地"]}
MAX_WORD_LEN = 4  # characters (= syllables) of the longest lexicon word
# The sets of a corpus, in the order their sentences are drawn: each set's text depends only on
# the seed and the sizes of the sets before it.
SETS = ("test", "dev", "train")


@dataclass
class Lexicon:
    """Words by part of speech with their sampling weights."""

    words: Dict[str, List[str]]
    weights: Dict[str, List[float]]

    @property
    def characters(self) -> set:
        return {c for ws in self.words.values() for w in ws for c in w}


def default_word_list() -> str:
    """jieba's dictionary inside the installed jieba package."""
    try:
        import jieba
    except ImportError as e:
        raise FileNotFoundError("the jieba package is not installed; "
                                "run utils/setup_venv.sh") from e
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"jieba's dictionary is missing: {path}")
    return path


def load_lexicon(path: str, words_per_tag: int, readable: Callable[[str], bool],
                 max_word_len: int = MAX_WORD_LEN) -> Lexicon:
    """The ``words_per_tag`` most frequent words of each template tag, kept when every
    character is a Chinese character that ``readable`` accepts (espeak-ng can say it).
    Weights are frequency ** 0.5, flatter than the corpus, so rarer words appear too."""
    tags = {t for tmpl in TEMPLATES for t in tmpl} - set(PARTICLES)
    by_tag: Dict[str, List[Tuple[int, str]]] = {t: [] for t in tags}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 3 or not parts[1].isdigit():
                raise ValueError(f"{path}:{lineno}: expected 'word frequency tag', got {line!r}")
            word, freq, tag = parts[0], int(parts[1]), parts[2]
            if tag in by_tag and len(word) <= max_word_len and all(is_cjk(c) for c in word):
                by_tag[tag].append((freq, word))
    words, weights = {}, {}
    for tag, entries in by_tag.items():
        top = []
        for freq, word in sorted(entries, key=lambda e: (-e[0], e[1])):
            if len(top) == words_per_tag:
                break
            if readable(word):
                top.append((freq, word))
        if not top:
            raise ValueError(f"{path} has no usable words tagged {tag!r}")
        words[tag] = [w for _, w in top]
        weights[tag] = [f ** 0.5 for f, _ in top]
    for tag, ws in PARTICLES.items():
        words[tag], weights[tag] = list(ws), [1.0] * len(ws)
    return Lexicon(words, weights)


def make_sentence(lexicon: Lexicon, rng: random.Random,
                  templates: Sequence[Tuple[str, ...]] = TEMPLATES) -> List[str]:
    """One sentence as a list of words."""
    template = rng.choice(templates)
    return [rng.choices(lexicon.words[t], weights=lexicon.weights[t])[0] for t in template]


def make_sentences(lexicon: Lexicon, n: int, seed: int,
                   exclude: Optional[set] = None) -> List[List[str]]:
    """``n`` distinct sentences (as word lists), none of whose text is in ``exclude``."""
    rng = random.Random(seed)
    seen = set(exclude or ())
    out: List[List[str]] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"cannot make {n} distinct sentences from this lexicon; "
                             "allow more words per tag")
        words = make_sentence(lexicon, rng)
        text = "".join(words)
        if text in seen:
            continue
        seen.add(text)
        out.append(words)
    return out


def plan_sentences(lexicon: Lexicon, sizes: Mapping[str, int], seed: int
                   ) -> Dict[str, List[List[str]]]:
    """The sentences of each set of ``SETS`` (``sizes``: set -> count); each set's sentences
    differ from every earlier set's. A function of ``seed``, so the text of a corpus can be
    made again alone."""
    taken: set = set()
    plan = {}
    for k, split in enumerate(SETS):
        plan[split] = make_sentences(lexicon, sizes[split], seed * 100 + k, exclude=taken)
        taken.update("".join(s) for s in plan[split])
    return plan


def add_corpus_text_arguments(p: argparse.ArgumentParser) -> None:
    """The options that fix a synthetic corpus's text, for every tool that makes or remakes it."""
    p.add_argument("--num_train", type=int, default=6000)
    p.add_argument("--num_dev", type=int, default=200)
    p.add_argument("--num_test", type=int, default=300)
    p.add_argument("--words_per_tag", type=int, default=600,
                   help="vocabulary: the most frequent N words of each part of speech")
    p.add_argument("--word_list", help="'word frequency tag' lines (default: jieba's dictionary)")
    p.add_argument("--seed", type=int, default=1)


def corpus_sentences(args: argparse.Namespace) -> Tuple[Lexicon, Dict[str, List[List[str]]]]:
    """(lexicon, set -> sentences) of the corpus that :func:`add_corpus_text_arguments`'s
    options describe. Raises FileNotFoundError/ValueError for an unusable word list."""
    lexicon = load_lexicon(args.word_list or default_word_list(), args.words_per_tag,
                           readable_by_espeak)
    sizes = {split: getattr(args, f"num_{split}") for split in SETS}
    return lexicon, plan_sentences(lexicon, sizes, args.seed)
