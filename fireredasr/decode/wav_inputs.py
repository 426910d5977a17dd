"""Resolve the released CLI's input flags (--wav_path/--wav_paths/--wav_dir/--wav_scp)."""
from __future__ import annotations

import glob
import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple

from fireredasr.data.text_lines import iter_lines, split_key

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac")


def uttid_from_path(path: str) -> str:
    base = os.path.basename(path)
    for ext in AUDIO_EXTENSIONS:
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def read_wav_scp(path: str) -> List[Tuple[str, str]]:
    """Kaldi wav.scp: ``utt path`` or ``utt command |`` per line, in file order.

    A repeated uttid would be transcribed twice under one id: every repeat is skipped (the
    first line wins) and the skips are logged with their line numbers.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"wav.scp not found: {path}")
    entries: List[Tuple[str, str]] = []
    first_line: Dict[str, int] = {}
    repeats: List[str] = []
    for lineno, line in iter_lines(path):
        uttid, spec = split_key(line)
        if not uttid:
            continue
        if not spec:
            raise ValueError(f"{path}:{lineno}: expected 'uttid path-or-command', got {line!r}")
        if uttid in first_line:
            repeats.append(f"{uttid} (line {lineno}, first on line {first_line[uttid]})")
            continue
        first_line[uttid] = lineno
        entries.append((uttid, spec))
    if repeats:
        logger.warning("%s: skipped %d repeated uttids, the first line of each is kept: %s",
                       path, len(repeats),
                       "; ".join(repeats[:5]) + (" ..." if len(repeats) > 5 else ""))
    return entries


def collect_wavs(wav_path: Optional[str] = None, wav_paths: Optional[Sequence[str]] = None,
                 wav_dir: Optional[str] = None, wav_scp: Optional[str] = None
                 ) -> List[Tuple[str, str]]:
    """(uttid, path) pairs from the first input option given, as the released CLI resolves them."""
    if wav_path:
        return [(uttid_from_path(wav_path), wav_path)]
    if wav_paths:
        return _unique_file_ids([(uttid_from_path(p), p) for p in sorted(wav_paths)],
                                "--wav_paths")
    if wav_scp:
        return read_wav_scp(wav_scp)
    if wav_dir:
        if not os.path.isdir(wav_dir):
            raise FileNotFoundError(f"--wav_dir is not a folder: {wav_dir}")
        found = [p for ext in AUDIO_EXTENSIONS
                 for p in glob.glob(os.path.join(wav_dir, "**", f"*{ext}"), recursive=True)]
        pairs = [(uttid_from_path(p), p) for p in sorted(found)]
        return _unique_file_ids(pairs, wav_dir)
    raise ValueError("no input: give --wav_path, --wav_paths, --wav_dir or --wav_scp")


def _unique_file_ids(pairs: List[Tuple[str, str]], source: str) -> List[Tuple[str, str]]:
    """Files named alike in different folders (a/x.wav, b/x.wav) would share an uttid: keep
    the first and log the others."""
    seen: Dict[str, str] = {}
    out = []
    for uttid, path in pairs:
        if uttid in seen:
            logger.warning("%s: skipped %s: its uttid %s is already used by %s",
                           source, path, uttid, seen[uttid])
            continue
        seen[uttid] = path
        out.append((uttid, path))
    return out
