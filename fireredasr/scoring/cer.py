"""CER/WER scoring with the released scorer's normalisation, aligned with jiwer.

Tokens: ``<unk>`` removed, the released punctuation set (CJK and ASCII) replaced by spaces,
upper-cased, one token per Chinese character, other text split on white space. For English
words, as LibriSpeech's references write them, a hyphen separates words and a quote mark is
punctuation; an apostrophe inside or closing a word stays (DON'T, STUDENTS').
A set whose references are all Chinese reports CER, one with no Chinese WER (LibriSpeech),
a mixed one the paper's mix error rate (MER: characters for Chinese, words for English). "Chinese
character" is the toolkit's one definition (:data:`text_norm.CJK_CHAR`): the released scorer's
U+4E00-U+9FFF plus the CJK extensions and compatibility ideographs, which it would have
counted as words.
Error rate = (S + D + I) / N over the whole set. A missing hypothesis counts as all deletions
(the released scorer skips such utterances, which flatters the score; ``skip_missing``
restores that behaviour explicitly).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import jiwer

from fireredasr.tokenizer.text_norm import CJK_CHAR, PUNCTUATION_RE, QUOTE_APOSTROPHE

logger = logging.getLogger(__name__)

_EN_RE = re.compile(r"[a-zA-Z.\-']+")
_DIGIT_RE = re.compile(r"[0-9]+")


def normalize_numbers(text: str) -> str:
    """Arabic numerals to Chinese ones (cn2an's an2cn), the released scorer's --do_tn."""
    import cn2an

    return cn2an.transform(text, "an2cn")


def text_to_tokens(text: str, number_norm: bool = False) -> List[str]:
    """Scoring tokens of ``text`` (see the module docstring)."""
    if number_norm:
        text = normalize_numbers(text)
    text = text.replace("<unk>", "")
    text = QUOTE_APOSTROPHE.sub(" ", PUNCTUATION_RE.sub(" ", text)).replace("-", " ")
    tokens: List[str] = []
    for part in CJK_CHAR.split(text.strip().upper()):
        if CJK_CHAR.fullmatch(part):
            tokens.append(part)
        else:
            tokens.extend(part.split())
    return tokens


@dataclass
class UttScore:
    uttid: str
    ref: List[str]
    hyp: List[str]
    correct: int
    sub: int
    dele: int
    ins: int
    alignment: List[Tuple[str, str, str]]  # (op, ref token or "", hyp token or "")
    missing_hyp: bool = False

    @property
    def errors(self) -> int:
        return self.sub + self.dele + self.ins

    @property
    def cjk_tokens(self) -> int:
        """Reference tokens that are Chinese characters (they name the metric)."""
        return sum(1 for t in self.ref if CJK_CHAR.fullmatch(t))


def align(ref: List[str], hyp: List[str]) -> Tuple[int, int, int, int, List[Tuple[str, str, str]]]:
    """(correct, sub, del, ins, alignment) of a minimum-edit-distance alignment (jiwer)."""
    if not ref or not hyp:  # jiwer refuses empty references; both cases are trivial
        ops = [("D", r, "") for r in ref] + [("I", "", h) for h in hyp]
        return 0, 0, len(ref), len(hyp), ops
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    ops: List[Tuple[str, str, str]] = []
    for chunk in out.alignments[0]:
        r = ref[chunk.ref_start_idx: chunk.ref_end_idx]
        h = hyp[chunk.hyp_start_idx: chunk.hyp_end_idx]
        if chunk.type == "equal":
            ops += [("C", a, b) for a, b in zip(r, h)]
        elif chunk.type == "substitute":
            ops += [("S", a, b) for a, b in zip(r, h)]
        elif chunk.type == "delete":
            ops += [("D", a, "") for a in r]
        else:
            ops += [("I", "", b) for b in h]
    return out.hits, out.substitutions, out.deletions, out.insertions, ops


def metric_name(cjk_tokens: int, tokens: int) -> str:
    """What an error rate over ``tokens`` reference tokens, ``cjk_tokens`` of them Chinese
    characters, is called: CER (all Chinese; also for no tokens), WER (none) or MER (mixed)."""
    if cjk_tokens == tokens:
        return "CER"
    return "WER" if cjk_tokens == 0 else "MER"


@dataclass
class ScoreSummary:
    n: int = 0
    correct: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0
    sentences: int = 0
    sentence_errors: int = 0
    missing_hyps: int = 0
    empty_refs: int = 0
    en_words: int = 0
    en_correct: int = 0
    digit_words: int = 0
    digit_correct: int = 0
    cjk_tokens: int = 0          # reference tokens that are Chinese characters
    groups: Dict[str, "ScoreSummary"] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.sub + self.dele + self.ins

    @property
    def error_rate(self) -> float:
        return 100.0 * self.errors / max(self.n, 1)

    @property
    def metric(self) -> str:
        """CER (all-Chinese references), WER (no Chinese) or MER (mixed)."""
        return metric_name(self.cjk_tokens, self.n)

    @property
    def sentence_error_rate(self) -> float:
        return 100.0 * self.sentence_errors / max(self.sentences, 1)

    def add(self, u: UttScore) -> None:
        self.n += len(u.ref)
        self.correct += u.correct
        self.sub += u.sub
        self.dele += u.dele
        self.ins += u.ins
        self.sentences += 1
        self.sentence_errors += int(u.errors > 0)
        self.missing_hyps += int(u.missing_hyp)
        self.empty_refs += int(not u.ref)
        self.cjk_tokens += u.cjk_tokens
        for op, r, _ in u.alignment:
            if r and _EN_RE.match(r):
                self.en_words += 1
                self.en_correct += op == "C"
            if r and _DIGIT_RE.match(r):
                self.digit_words += 1
                self.digit_correct += op == "C"

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "groups"}
        d.update(metric=self.metric, error_rate=round(self.error_rate, 4),
                 sentence_error_rate=round(self.sentence_error_rate, 4))
        if self.groups:
            d["groups"] = {k: g.to_dict() for k, g in sorted(self.groups.items())}
        return d

    def format(self) -> str:
        lines = [f"N={self.n} C={self.correct} S={self.sub} D={self.dele} I={self.ins}",
                 f"{self.metric} {self.error_rate:.2f}% [ {self.errors} / {self.n} ]  "
                 f"SER {self.sentence_error_rate:.2f}% [ {self.sentence_errors} / {self.sentences} ]",
                 f"English #word={self.en_words}, #correct={self.en_correct}; "
                 f"Digit #word={self.digit_words}, #correct={self.digit_correct}"]
        if self.missing_hyps:
            lines.append(f"{self.missing_hyps} utterances had no hypothesis (scored as deletions)")
        if self.empty_refs:
            lines.append(f"{self.empty_refs} utterances have an empty reference (their "
                         "hypothesis tokens count as insertions)")
        for name, g in sorted(self.groups.items()):
            lines.append(f"  [{name}] {g.metric} {g.error_rate:.2f}% [ {g.errors} / {g.n} ] "
                         f"({g.sentences} utterances)")
        return "\n".join(lines)


def score(refs: Mapping[str, str], hyps: Mapping[str, str], number_norm: bool = False,
          skip_missing: bool = False, groups: Optional[Mapping[str, str]] = None
          ) -> Tuple[ScoreSummary, List[UttScore]]:
    """Score hypotheses against references (uttid -> text). ``groups`` (uttid -> label, e.g.
    a KeSpeech sub-dialect) adds per-group summaries."""
    summary = ScoreSummary()
    utts: List[UttScore] = []
    missing = [u for u in refs if u not in hyps]
    if missing:
        (logger.warning if not skip_missing else logger.info)(
            "%d of %d utterances have no hypothesis (e.g. %s): %s", len(missing), len(refs),
            missing[0], "skipped (--skip_missing)" if skip_missing else "scored as deletions")
    extra = [u for u in hyps if u not in refs]
    if extra:
        logger.warning("%d hypotheses have no reference and are ignored (e.g. %s)",
                       len(extra), extra[0])
    empty = []
    for uttid, ref_text in refs.items():
        if uttid not in hyps and skip_missing:
            continue
        ref = text_to_tokens(ref_text, number_norm)
        if not ref:
            empty.append(uttid)
        hyp = text_to_tokens(hyps.get(uttid, ""), number_norm)
        c, s, d, i, ops = align(ref, hyp)
        u = UttScore(uttid, ref, hyp, c, s, d, i, ops, missing_hyp=uttid not in hyps)
        utts.append(u)
        summary.add(u)
        if groups is not None and uttid in groups:
            summary.groups.setdefault(groups[uttid], ScoreSummary()).add(u)
    if empty:
        logger.warning("%d references are empty after normalisation (nothing but punctuation "
                       "or <unk>; e.g. %s): every hypothesis token of theirs counts as an "
                       "insertion. Fix or drop them in the test set's text.", len(empty), empty[0])
    return summary, utts


def format_alignment(u: UttScore) -> str:
    """Per-utterance alignment block in the style of Kaldi's align-text output."""
    ref = " ".join(r or "*" for _, r, _ in u.alignment)
    hyp = " ".join(h or "*" for _, _, h in u.alignment)
    ops = " ".join(op for op, _, _ in u.alignment)
    rate = 100.0 * u.errors / max(len(u.ref), 1)
    metric = metric_name(u.cjk_tokens, len(u.ref))
    note = " (no hypothesis)" if u.missing_hyp else ""
    return (f"{u.uttid} {metric} {rate:.2f}% N={len(u.ref)} S={u.sub} D={u.dele} I={u.ins}{note}\n"
            f"  ref: {ref}\n  hyp: {hyp}\n  op:  {ops}\n")


def write_results(out_prefix: str, summary: ScoreSummary, utts: List[UttScore],
                  meta: Optional[dict] = None) -> None:
    """``<out_prefix>`` (readable summary), ``.json`` (machine-readable) and ``.align``."""
    with open(out_prefix, "w", encoding="utf-8") as f:
        f.write(summary.format() + "\n")
    with open(out_prefix + ".json", "w", encoding="utf-8") as f:
        json.dump(dict(meta or {}, **summary.to_dict()), f, ensure_ascii=False, indent=1)
    with open(out_prefix + ".align", "w", encoding="utf-8") as f:
        for u in utts:
            f.write(format_alignment(u))
