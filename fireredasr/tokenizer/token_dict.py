"""``dict.txt``: one ``token id`` per line, ids dense from 0."""
from __future__ import annotations

import os
from typing import Dict, Iterable, List

from fireredasr.data.text_lines import iter_lines


class TokenDict:
    """Bidirectional token <-> id map read from a released-format ``dict.txt``."""

    def __init__(self, tokens: List[str], unk: str = "<unk>"):
        self.id2token = list(tokens)
        self.token2id: Dict[str, int] = {}
        for i, tok in enumerate(self.id2token):
            if tok in self.token2id:
                raise ValueError(f"duplicate token '{tok}' (ids {self.token2id[tok]} and {i})")
            self.token2id[tok] = i
        if unk not in self.token2id:
            raise ValueError(f"dictionary has no unknown-token entry '{unk}'")
        self.unk = unk
        self.unk_id = self.token2id[unk]

    @classmethod
    def from_file(cls, path: str, unk: str = "<unk>") -> "TokenDict":
        if not os.path.isfile(path):
            raise FileNotFoundError(f"token dictionary not found: {path}")
        pairs = []
        for lineno, line in iter_lines(path):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise ValueError(f"{path}:{lineno}: expected 'token id', got {line.rstrip()!r}")
            pairs.append((int(parts[1]), parts[0]))
        pairs.sort()
        ids = [i for i, _ in pairs]
        if ids != list(range(len(ids))):
            raise ValueError(f"{path}: ids must be dense 0..{len(ids) - 1}")
        return cls([t for _, t in pairs], unk=unk)

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for i, tok in enumerate(self.id2token):
                f.write(f"{tok} {i}\n")

    def __len__(self) -> int:
        return len(self.id2token)

    def __contains__(self, token: str) -> bool:
        return token in self.token2id

    def __getitem__(self, idx: int) -> str:
        return self.id2token[idx]

    def get_id(self, token: str) -> int:
        return self.token2id.get(token, self.unk_id)

    def ids(self, tokens: Iterable[str]) -> List[int]:
        return [self.get_id(t) for t in tokens]
