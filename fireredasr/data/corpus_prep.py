"""Corpus-independent pieces of stage 0: turn utterance records into a checked Kaldi data dir.

Corpus scripts in ``local/`` parse a release layout into :class:`Utterance` records; this module
normalises transcripts, drops (and counts) what cannot be used, and writes the data dir.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional

from fireredasr.data.kaldi_dir import DataDir, validate
from fireredasr.data.prep_report import PrepReport
from fireredasr.data.text_lines import iter_lines, split_key
from fireredasr.tokenizer.text_norm import normalize_transcript

logger = logging.getLogger(__name__)


@dataclass
class Utterance:
    """One utterance of a corpus. ``recording``/``start``/``end`` describe a segment of a
    longer recording (then ``wav`` is the recording's path)."""

    utt: str
    wav: str
    text: str
    spk: Optional[str] = None
    recording: Optional[str] = None
    start: Optional[float] = None
    end: Optional[float] = None
    extra: Dict[str, str] = field(default_factory=dict)  # e.g. {"utt2subdialect": "Southwestern"}


def read_corpus_map(path: str, report: PrepReport) -> Dict[str, str]:
    """``id value`` lines of a corpus file (transcript, wav list, speaker map) as a dict.

    Nothing is lost silently: a line that is not UTF-8 and every repeat of an id (the first
    line wins) are counted in ``report`` with the file and line number; a byte-order mark is
    ignored.
    """
    name = os.path.basename(path)
    out: Dict[str, str] = {}

    def bad_line(lineno: int, reason: str) -> None:
        report.skip(f"{path}:{lineno}", f"{name} line {reason}")

    for lineno, line in iter_lines(path, bad_line):
        key, value = split_key(line)
        if not key:
            continue
        if key in out:
            report.skip(f"{key} ({path}:{lineno})", f"id repeated in {name} (first line kept)")
            continue
        out[key] = value
    return out


def build_data_dir(utterances: Iterable[Utterance], report: PrepReport,
                   check_files: bool = True) -> DataDir:
    """Collect usable utterances into a :class:`DataDir`, counting every skip in ``report``.

    Skipped: duplicate ids, transcripts that are empty after normalisation, and (with
    ``check_files``) audio files that do not exist.
    """
    d = DataDir(wav=OrderedDict(), text=OrderedDict(), utt2spk=OrderedDict())
    segmented: Optional[bool] = None
    exists_cache: Dict[str, bool] = {}
    for u in utterances:
        is_segment = u.recording is not None
        if segmented is None:
            segmented = is_segment
            if segmented:
                d.segments = OrderedDict()
                d.utt2dur = OrderedDict()
        elif segmented != is_segment:
            raise ValueError("mixing segmented and whole-file utterances in one data dir")
        if u.utt in d.text:
            report.skip(u.utt, "duplicate utterance id")
            continue
        text = normalize_transcript(u.text, report.changes)
        if not text:
            report.skip(u.utt, "empty transcript")
            continue
        if check_files and not u.wav.endswith("|"):
            if u.wav not in exists_cache:
                exists_cache[u.wav] = os.path.isfile(u.wav)
            if not exists_cache[u.wav]:
                report.skip(u.utt, "audio file missing")
                continue
        if is_segment:
            if not (u.start is not None and u.end is not None and 0 <= u.start < u.end):
                report.skip(u.utt, "bad segment times")
                continue
            d.segments[u.utt] = (u.recording, u.start, u.end)
            d.utt2dur[u.utt] = f"{u.end - u.start:.3f}"
            d.wav[u.recording] = u.wav
        else:
            d.wav[u.utt] = u.wav
        d.text[u.utt] = text
        d.utt2spk[u.utt] = u.spk or u.utt
        for name, value in u.extra.items():
            d.extra.setdefault(name, OrderedDict())[u.utt] = value
        report.keep()
    return d


def write_data_dir(d: DataDir, path: str, report: PrepReport,
                   expected: Optional[int] = None) -> None:
    """Save, validate, log the report, and warn when the count differs from the published one."""
    d.save(path)
    problems = validate(path)
    if problems:
        raise RuntimeError(f"prepared data dir {path} is invalid: " + "; ".join(problems))
    report.log()
    if expected is not None and len(d) != expected:
        logger.warning("%s has %d utterances; the published split has %d", path, len(d), expected)
