"""A tiny Qwen2 for the mini recipe's LLM stages, made without any download.

The LLM stages expect a Hugging Face causal-LM folder with the Qwen2 chat tokens
(``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``). This module makes one from the training
transcripts: a byte-level BPE tokenizer (Qwen2's scheme) trained on the transcripts and the
prompt, and a small Qwen2ForCausalLM pretrained as a language model on the transcripts wrapped
in the same ChatML conversation the ASR prompt uses. Stage 9 then adapts it with LoRA exactly
as it would adapt Qwen2-7B-Instruct.
"""
from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from typing import List, Sequence

import torch

from fireredasr.data.processor import IGNORE_ID
from fireredasr.tokenizer.llm_tokenizer import (BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, PROMPT,
                                                SPEECH_TOKEN, chat_prompt, clean_text)

logger = logging.getLogger(__name__)

CHAT_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN]
CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


@dataclass(frozen=True)
class TinyLlmConfig:
    vocab_size: int = 4000        # BPE target; the trained vocabulary may be smaller
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 1024
    steps: int = 1500             # language-model pretraining steps
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 1


def conversation(text: str) -> str:
    """The training conversation of one transcript, without the speech placeholder (the ASR
    stages add ``<speech>`` to the vocabulary themselves)."""
    return chat_prompt(clean_text(text), decode=False).replace(SPEECH_TOKEN, "")


def train_chat_tokenizer(texts: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer with the Qwen2 chat tokens, as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=CHAT_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    corpus = [conversation(t) for t in texts] + [PROMPT, "system\nuser\nassistant\n"]
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN,
                                   extra_special_tokens=[BOS_TOKEN, EOS_TOKEN],
                                   chat_template=CHAT_TEMPLATE, padding_side="right")


def build_model(tokenizer, cfg: TinyLlmConfig):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(cfg.seed)
    # Spare embedding rows, as Qwen2-7B-Instruct has: the ASR stages add <speech> to the
    # tokenizer and need a row for it.
    rows = (len(tokenizer) + 1 + 63) // 64 * 64
    config = Qwen2Config(
        vocab_size=rows, hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size, num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads, num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=4096, tie_word_embeddings=False,
        bos_token_id=tokenizer.convert_tokens_to_ids(BOS_TOKEN),
        eos_token_id=tokenizer.convert_tokens_to_ids(EOS_TOKEN),
        pad_token_id=tokenizer.pad_token_id)
    return Qwen2ForCausalLM(config)


def _batch(tokenizer, texts: Sequence[str]):
    enc = tokenizer([conversation(t) for t in texts], add_special_tokens=False, padding=True,
                    return_tensors="pt")
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, IGNORE_ID)
    return enc["input_ids"], enc["attention_mask"], labels


@torch.no_grad()
def perplexity(model, tokenizer, texts: Sequence[str], batch_size: int = 64) -> float:
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(texts), batch_size):
        ids, mask, labels = _batch(tokenizer, texts[i: i + batch_size])
        n = int((labels[:, 1:] != IGNORE_ID).sum())
        total += float(model(input_ids=ids, attention_mask=mask, labels=labels).loss) * n
        count += n
    model.train()
    return math.exp(total / max(count, 1))


def pretrain(model, tokenizer, texts: Sequence[str], valid_texts: Sequence[str],
             cfg: TinyLlmConfig) -> List[float]:
    """Language-model training on the conversations; returns the validation perplexities
    (before training and after)."""
    rng = random.Random(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    warmup = max(1, cfg.steps // 20)

    def lr_scale(step: int) -> float:  # linear warmup, then cosine decay to 0
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, cfg.steps) / cfg.steps))
        return min(1.0, (step + 1) / warmup) * cosine

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_scale)
    ppl = [perplexity(model, tokenizer, valid_texts)]
    logger.info("validation perplexity before pretraining: %.1f", ppl[0])
    model.train()
    for step in range(1, cfg.steps + 1):
        sample = rng.sample(list(texts), min(cfg.batch_size, len(texts)))
        ids, mask, labels = _batch(tokenizer, sample)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % max(1, cfg.steps // 10) == 0 or step == cfg.steps:
            logger.info("LM step %d/%d: loss %.3f", step, cfg.steps, float(loss))
    ppl.append(perplexity(model, tokenizer, valid_texts))
    logger.info("validation perplexity after %d steps: %.1f", cfg.steps, ppl[-1])
    return ppl


def _declare_qwen2_tokenizer(out_dir: str) -> None:
    """Name the Qwen2 tokenizer class and no unk/bos token in tokenizer_config.json, as
    Qwen2-7B-Instruct does: left out, Qwen2Tokenizer would default unk to <|endoftext|>, the
    pad token."""
    import json
    import os

    path = os.path.join(out_dir, "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    config.update(tokenizer_class="Qwen2Tokenizer", unk_token=None, bos_token=None)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)


def check_round_trip(out_dir: str, tokenizer, texts: Sequence[str]) -> None:
    """The folder, loaded as any LLM folder is, tokenizes exactly as the trained tokenizer
    (AutoTokenizer may pick the family's class and rebuild the pre-tokenizer)."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(out_dir)
    if loaded.unk_token_id is not None:
        raise RuntimeError(f"{out_dir}: the saved tokenizer has an unk token {loaded.unk_token!r}")
    for t in list(texts)[:50] + [chat_prompt("", decode=True).replace(SPEECH_TOKEN, "")]:
        a = tokenizer(conversation(t), add_special_tokens=False)["input_ids"]
        b = loaded(conversation(t), add_special_tokens=False)["input_ids"]
        if a != b or loaded.decode(b) != conversation(t):
            raise RuntimeError(f"{out_dir}: the saved tokenizer does not round-trip {t!r}")


def build_tiny_llm(texts: Sequence[str], valid_texts: Sequence[str], out_dir: str,
                   cfg: TinyLlmConfig = TinyLlmConfig()) -> List[float]:
    """Train the tokenizer, pretrain the model, save both into ``out_dir`` (safetensors)."""
    tokenizer = train_chat_tokenizer(texts, cfg.vocab_size)
    model = build_model(tokenizer, cfg)
    logger.info("tiny Qwen2: %.2fM parameters, vocabulary %d",
                sum(p.numel() for p in model.parameters()) / 1e6, len(tokenizer))
    ppl = pretrain(model, tokenizer, texts, valid_texts or list(texts)[:100], cfg)
    save_llm_folder(out_dir, model, tokenizer, texts)
    return ppl


def save_llm_folder(out_dir: str, model, tokenizer, texts: Sequence[str]) -> None:
    """Save the model and tokenizer as a Hugging Face folder the LLM stages load, and check
    that the saved tokenizer tokenizes ``texts`` exactly as the trained one."""
    tokenizer.save_pretrained(out_dir)
    _declare_qwen2_tokenizer(out_dir)
    model.save_pretrained(out_dir)
    check_round_trip(out_dir, tokenizer, texts)
