"""Reading line-based text files (Kaldi maps, transcripts, hypotheses) without surprises.

Every text input of the toolkit goes through :func:`iter_lines`, so the same rules hold
everywhere: a UTF-8 byte-order mark is removed (editors on Windows add one, and it would
otherwise become part of the first key), and a line that is not valid UTF-8 is reported with
the file and line number instead of a bare ``UnicodeDecodeError``.
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional, Tuple

BOM = "\ufeff"


class TextFileError(ValueError):
    """A text file that cannot be read as UTF-8; the message names the file and line."""


def iter_lines(path: str, on_bad_line: Optional[Callable[[int, str], None]] = None
               ) -> Iterator[Tuple[int, str]]:
    """(line number, line without its newline) for each line of ``path``.

    A line that is not valid UTF-8 raises :class:`TextFileError`, or, with ``on_bad_line``,
    is handed to it as (line number, reason) and left out.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                reason = f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
                if on_bad_line is None:
                    raise TextFileError(f"{path}:{lineno}: {reason}; convert the file to "
                                        "UTF-8 (e.g. iconv -f GBK -t UTF-8)") from None
                on_bad_line(lineno, reason)
                continue
            if lineno == 1 and line.startswith(BOM):
                line = line[len(BOM):]
            yield lineno, line.rstrip("\r\n")


def split_key(line: str) -> Tuple[str, str]:
    """``key value...`` -> (key, value stripped); ("", "") for a blank line."""
    parts = line.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""

