"""The LLM side of FireRedASR-LLM: the Hugging Face tokenizer with ``<speech>``, the ChatML
prompt, and target-text cleaning."""
from __future__ import annotations

import re
from typing import List, Sequence, Tuple

import torch

from fireredasr.data.processor import IGNORE_ID  # the labels' padding (llm_task imports it here)
from fireredasr.tokenizer.text_norm import CJK_CHAR

SPEECH_TOKEN = "<speech>"
PROMPT = "请转写音频为文字"
PAD_TOKEN, BOS_TOKEN, EOS_TOKEN = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

_PUNCT = re.compile(r"[，。？！,.!?《》（）·“”、\\/]")


def build_llm_tokenizer(llm_dir: str):
    """The LLM folder's tokenizer plus the special ``<speech>`` token, right padding."""
    from transformers import AddedToken, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(llm_dir)
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"cannot load the tokenizer of {llm_dir}: {e}") from e
    tok.padding_side = "right"
    tok.add_tokens([AddedToken(SPEECH_TOKEN, special=True, normalized=False)],
                   special_tokens=True)
    for name in (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN):
        if tok.convert_tokens_to_ids(name) in (None, tok.unk_token_id):
            raise ValueError(f"the tokenizer in {llm_dir} lacks the ChatML token {name}")
    if tok.pad_token is None:
        tok.pad_token = PAD_TOKEN
    return tok


def clean_text(text: str) -> str:
    """Target cleaning: drop punctuation, collapse spaces, no spaces between Chinese
    characters (kept between English words), lower-case."""
    text = _PUNCT.sub("", text)
    text = re.sub(r"\s+", " ", text)
    parts = [p for p in CJK_CHAR.split(text.strip()) if p.strip()]
    return "".join(parts).strip().lower()


def chat_prompt(text: str, decode: bool) -> str:
    """The ChatML conversation: a user turn with the speech placeholder and the instruction,
    and an assistant turn with the transcript (open and empty when decoding)."""
    user = f"{BOS_TOKEN}user\n{SPEECH_TOKEN}{PROMPT}{EOS_TOKEN}\n"
    return user + f"{BOS_TOKEN}assistant\n" + ("" if decode else f"{text}{EOS_TOKEN}")


def encode_prompts(tokenizer, texts: Sequence[str], decode: bool
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, List[str]]:
    """(input_ids, attention_mask, labels, cleaned texts), right-padded. Labels keep only the
    assistant content and its closing token; everything else is ``IGNORE_ID``."""
    cleaned = [clean_text(t) for t in texts]
    ids = [tokenizer(chat_prompt(t, decode), add_special_tokens=False)["input_ids"]
           for t in cleaned]
    prefix = len(tokenizer(chat_prompt("", True), add_special_tokens=False)["input_ids"])
    width = max(len(x) for x in ids)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    labels = torch.full((len(ids), width), IGNORE_ID, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.bool)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = True
        labels[i, prefix: len(x)] = torch.tensor(x[prefix:])
    return input_ids, mask, labels, cleaned
