"""The AED tokenizer: one token per Chinese character, English spans through sentencepiece BPE."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple, Union

import sentencepiece as spm

from fireredasr.tokenizer.text_norm import is_cjk, replace_punctuation, split_cjk
from fireredasr.tokenizer.token_dict import TokenDict

SPM_SPACE = "\u2581"  # sentencepiece's word-boundary marker


class ChineseCharEnglishSpmTokenizer:
    """Released-compatible tokenizer over ``dict.txt`` and ``train_bpe1000.model``.

    - text is upper-cased and ``，。？！,.?!`` become spaces;
    - each CJK character is one token, spaces between them are ignored;
    - every other span is split into sentencepiece pieces (``▁`` marks word starts);
    - tokens missing from the dictionary map to ``<unk>``.
    Without a BPE model, English spans are spelt letter by letter with ``<space>``.
    """

    def __init__(self, token_dict: TokenDict, sp: Optional[spm.SentencePieceProcessor],
                 space: str = "<space>"):
        self.dict = token_dict
        self.sp = sp
        self.space = space

    @classmethod
    def from_files(cls, dict_path: str, spm_model: Optional[str]) -> "ChineseCharEnglishSpmTokenizer":
        sp = None
        if spm_model:
            if not os.path.isfile(spm_model):
                raise FileNotFoundError(f"sentencepiece model not found: {spm_model}")
            try:
                sp = spm.SentencePieceProcessor(model_file=spm_model)
            except (OSError, RuntimeError) as e:
                raise ValueError(f"cannot read the sentencepiece model {spm_model}: "
                                 f"{str(e).strip() or type(e).__name__} (corrupt or not a "
                                 "sentencepiece file?)") from e
        return cls(TokenDict.from_file(dict_path), sp)

    def tokenize(self, text: str, replace_punc: bool = True) -> Tuple[List[str], List[int]]:
        """Return (tokens, ids) for ``text``."""
        text = text.upper()
        if replace_punc:
            text = replace_punctuation(text)
        tokens: List[str] = []
        for part in split_cjk(text):
            if is_cjk(part):
                tokens.append(part)
            elif self.sp is not None:
                tokens.extend(self.sp.encode(part, out_type=str))
            else:
                tokens.extend(self.space if ch == " " else ch for ch in part)
        return tokens, self.dict.ids(tokens)

    def detokenize(self, inputs: Union[Sequence[int], Sequence[str]], join_symbol: str = "",
                   replace_spm_space: bool = True) -> str:
        """Join ids or tokens back into text; ``▁`` becomes a space."""
        if len(inputs) > 0 and isinstance(inputs[0], int):
            tokens = [self.dict[i] for i in inputs]
        else:
            tokens = list(inputs)
        s = join_symbol.join(tokens)
        if replace_spm_space:
            s = s.replace(SPM_SPACE, " ").strip()
        return s

    def __len__(self) -> int:
        return len(self.dict)
