"""Pinyin units of the dictionary's Chinese characters, the targets of an auxiliary CTC.

Each character becomes its initial (when it has one) and its final with tone, in pypinyin's
default context-free reading (tone 5: neutral): 中 -> zh ong1, 爱 -> ai4. A few dozen initials
and a couple of hundred toned finals cover thousands of characters, so each unit has far more
training examples than a character, and homophones share theirs: an encoder trained to emit
them learns the sounds of the language sooner than one trained on characters alone. The
readings are approximate (polyphones and tone sandhi take the default), which an auxiliary
loss tolerates. Tokens that are not Chinese characters (English pieces, specials) have none.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch

from fireredasr.tokenizer.text_norm import is_cjk

PINYIN_BLANK = "<blank>"  # unit id 0: the CTC blank id, as for the characters


def char_units(char: str) -> List[str]:
    """[initial, final+tone] of one Chinese character (the initial may be absent)."""
    from pypinyin import Style, pinyin

    initial = pinyin(char, style=Style.INITIALS)[0][0]
    final = pinyin(char, style=Style.FINALS_TONE3, neutral_tone_with_five=True)[0][0]
    return [u for u in (initial, final) if u]


class PinyinUnits:
    """The unit inventory of a dictionary and a (vocabulary, 2) token -> units table."""

    def __init__(self, tokens: Sequence[str]):
        per_token = [char_units(t) if len(t) == 1 and is_cjk(t) else [] for t in tokens]
        self.units = [PINYIN_BLANK] + sorted({u for us in per_token for u in us})
        index = {u: i for i, u in enumerate(self.units)}
        self.table = torch.full((len(tokens), 2), -1, dtype=torch.long)
        for i, us in enumerate(per_token):
            for j, u in enumerate(us):
                self.table[i, j] = index[u]

    def __len__(self) -> int:
        return len(self.units)

    def targets(self, ys: torch.Tensor, lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Token ids (N, L), read up to ``lengths`` -> padded unit ids (N, S) and their lengths."""
        table = self.table.to(ys.device)
        valid = torch.arange(ys.size(1), device=ys.device)[None] < lengths[:, None]
        units = table[ys.clamp(min=0)].masked_fill(~valid[..., None], -1).flatten(1)  # (N, 2L)
        keep = units >= 0
        out_lengths = keep.sum(dim=1)
        # Stable sort moves every kept unit to the front, in order.
        order = torch.sort((~keep).int(), dim=1, stable=True).indices
        packed = torch.gather(units, 1, order)
        width = int(out_lengths.max()) if out_lengths.numel() else 0
        return packed[:, :max(width, 1)].clamp(min=0), out_lengths
