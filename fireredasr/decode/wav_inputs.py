"""Resolve the released CLI's input flags (--wav_path/--wav_paths/--wav_dir/--wav_scp)."""
from __future__ import annotations

import glob
import os
from typing import List, Optional, Sequence, Tuple

AUDIO_EXTENSIONS = (".wav", ".flac")


def uttid_from_path(path: str) -> str:
    base = os.path.basename(path)
    for ext in AUDIO_EXTENSIONS:
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def read_wav_scp(path: str) -> List[Tuple[str, str]]:
    """Kaldi wav.scp: ``utt path`` or ``utt command |`` per line, in file order."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"wav.scp not found: {path}")
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected 'uttid path-or-command', got {line!r}")
            entries.append((parts[0], parts[1]))
    return entries


def collect_wavs(wav_path: Optional[str] = None, wav_paths: Optional[Sequence[str]] = None,
                 wav_dir: Optional[str] = None, wav_scp: Optional[str] = None
                 ) -> List[Tuple[str, str]]:
    """(uttid, path) pairs from the first input option given, as the released CLI resolves them."""
    if wav_path:
        return [(uttid_from_path(wav_path), wav_path)]
    if wav_paths:
        return [(uttid_from_path(p), p) for p in sorted(wav_paths)]
    if wav_scp:
        return read_wav_scp(wav_scp)
    if wav_dir:
        if not os.path.isdir(wav_dir):
            raise FileNotFoundError(f"--wav_dir is not a folder: {wav_dir}")
        found = [p for ext in AUDIO_EXTENSIONS
                 for p in glob.glob(os.path.join(wav_dir, "**", f"*{ext}"), recursive=True)]
        return [(uttid_from_path(p), p) for p in sorted(found)]
    raise ValueError("no input: give --wav_path, --wav_paths, --wav_dir or --wav_scp")
