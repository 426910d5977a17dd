"""Stream the elements of one top-level JSON array without loading the whole document.

WenetSpeech's metadata is a single multi-gigabyte JSON object whose ``audios`` array holds
every recording; parsing it with ``json.load`` needs tens of GB. This reader keeps only the
element being decoded (plus one read buffer) in memory.
"""
from __future__ import annotations

import json
from typing import Any, Iterator, TextIO

_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


class _Buffer:
    def __init__(self, f: TextIO, chunk: int):
        self.f, self.chunk, self.buf, self.pos = f, chunk, "", 0

    def fill(self) -> bool:
        data = self.f.read(self.chunk)
        if not data:
            return False
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        """Next non-space character (not consumed); '' at end of input."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""


def iter_json_array(f: TextIO, key: str, chunk: int = 1 << 20) -> Iterator[Any]:
    """Yield each element of the array stored under top-level ``key`` of the JSON in ``f``."""
    b = _Buffer(f, chunk)
    needle = f'"{key}"'
    # Find `"key"` followed by ':' and '['. Keys before it are small scalars in WenetSpeech.
    while True:
        idx = b.buf.find(needle, b.pos)
        if idx >= 0:
            b.pos = idx + len(needle)
            if b.skip_ws() == ":":
                b.pos += 1
                if b.skip_ws() == "[":
                    b.pos += 1
                    break
            continue
        keep = len(needle)
        b.pos = max(b.pos, len(b.buf) - keep)
        if not b.fill():
            raise ValueError(f"no array under key {key!r} in the JSON input")
    first = True
    while True:
        c = b.skip_ws()
        if c == "":
            raise ValueError(f"JSON input ends inside the {key!r} array")
        if c == "]":
            return
        if not first:
            if c != ",":
                raise ValueError(f"expected ',' between elements of {key!r}, got {c!r}")
            b.pos += 1
            b.skip_ws()
        first = False
        while True:
            try:
                value, end = _DECODER.raw_decode(b.buf, b.pos)
                # A number at the buffer's end may continue in the next chunk.
                if end == len(b.buf) and b.fill():
                    continue
                break
            except json.JSONDecodeError:
                if not b.fill():
                    raise
        b.pos = end
        yield value
