"""Fingerprints of the inputs a result was made from, so a stage re-uses a finished result
only while every input is unchanged, and says which one changed when it is not.

Small files (a data dir's maps) are identified by their content hash; large ones (model
weights, audio, feature archives) by size and modification time, which every rewrite
changes and which costs one ``stat`` per file.
"""
from __future__ import annotations

import hashlib
import os
from typing import Dict, Iterable, List, Mapping

# Files up to this size are hashed; larger ones are identified by size and mtime.
HASH_LIMIT_BYTES = 64 * 1024 * 1024


def file_state(path: str) -> str:
    """``sha256:<hex>`` of a small file's content, ``stat:<size>:<mtime_ns>`` of a large
    one, ``missing`` when there is no file."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    if st.st_size > HASH_LIMIT_BYTES:
        return f"stat:{st.st_size}:{st.st_mtime_ns}"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def folder_state(folder: str) -> Dict[str, str]:
    """{relative path: :func:`file_state`} of every file under ``folder`` (links followed,
    so a linked LLM folder counts as part of the model)."""
    out: Dict[str, str] = {}
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = file_state(path)
    return out


def stat_digest(paths: Iterable[str]) -> str:
    """One digest of the (path, size, mtime) of many files, e.g. every audio file of a test
    set; a missing file contributes ``missing``."""
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        try:
            st = os.stat(path)
            h.update(f"{path}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{path}\tmissing\n".encode())
    return h.hexdigest()


def describe_changes(old: Mapping[str, object], new: Mapping[str, object],
                     what: str) -> List[str]:
    """Readable differences between two fingerprints (nested dicts compare file by file)."""
    changes: List[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            changes += describe_changes(a, b, f"{what} {key}")
        elif a is None:
            changes.append(f"{what}: {key} is new")
        elif b is None or b == "missing":
            changes.append(f"{what}: {key} is gone")
        else:
            changes.append(f"{what}: {key} changed")
    return changes
