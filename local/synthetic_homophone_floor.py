#!/usr/bin/env python3
"""The character error rate that homophones alone cost on a synthetic corpus's set: its
sentences (made again from the generator's seed and sizes, text only) decoded from their exact
syllables with the generator's lexicon. Two floors: word weights only, and the generator's
whole distribution (part-of-speech templates too).

    local/synthetic_homophone_floor.py --seed 1 --num_train 6000 --num_dev 200 \\
        --num_test 300 --words_per_tag 600 --set test [--align exp/aed/decode_test/wer.align]

--align also sorts a decode's errors (its wer.align) by how the substituted characters sound.
"""
import argparse
import logging
import sys
from collections import Counter
from typing import Iterator, Tuple

from fireredasr.cli_utils import setup_logging
from fireredasr.scoring.cer import score
from fireredasr.synthetic.homophones import (decode_templates, decode_words, spelling_table,
                                             substitution_kind, syllables)
from fireredasr.synthetic.sentences import SETS, add_corpus_text_arguments, corpus_sentences

logger = logging.getLogger("synthetic_homophone_floor")


def aligned_errors(path: str) -> Iterator[Tuple[str, str, str]]:
    """(op, ref, hyp) of every error in a wer.align file ("ref:", "hyp:", "op:" lines)."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, rest = line.strip().partition(":")
            if key in ("ref", "hyp", "op"):
                rows[key] = rest.split()
            if key == "op":
                yield from ((o, r, h) for o, r, h in zip(rows["op"], rows["ref"], rows["hyp"])
                            if o != "C")


def error_kinds(path: str) -> Counter:
    kinds: Counter = Counter()
    for op, ref, hyp in aligned_errors(path):
        kinds[f"substitution: {substitution_kind(ref, hyp)}" if op == "S" else op] += 1
    return kinds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_text_arguments(p)
    p.add_argument("--set", default="test", choices=SETS)
    p.add_argument("--align", help="a decode's wer.align to sort the errors of")
    args = p.parse_args()
    setup_logging()
    try:
        lexicon, sentences_by_set = corpus_sentences(args)
    except (FileNotFoundError, ValueError) as e:
        logger.error("%s", e)
        return 1
    sentences = sentences_by_set[args.set]
    tables = spelling_table(lexicon)
    refs = {f"{i:06d}": "".join(words) for i, words in enumerate(sentences)}
    sounds = {f"{i:06d}": syllables(words) for i, words in enumerate(sentences)}
    print(f"{args.set}: {len(refs)} sentences, {len(tables['*'])} distinct word sounds")
    for name, decode in (("words", decode_words), ("templates", decode_templates)):
        summary, _ = score(refs, {u: decode(s, tables) for u, s in sounds.items()})
        print(f"floor with the {name}: {summary.format().splitlines()[0]} "
              f"{summary.metric} {summary.error_rate:.2f}%")
    if args.align:
        kinds = error_kinds(args.align)
        total = sum(kinds.values())
        for kind, n in sorted(kinds.items()):
            print(f"{args.align}: {kind} {n} ({100 * n / max(total, 1):.1f}% of {total} errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
