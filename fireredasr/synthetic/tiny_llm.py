"""A tiny Qwen2 for the mini recipe's LLM stages, made without any download.

The LLM stages expect a Hugging Face causal-LM folder with the Qwen2 chat tokens
(``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``). This module makes one from the training
transcripts: a byte-level BPE tokenizer (Qwen2's scheme) trained on the transcripts and the
prompt, and a small Qwen2ForCausalLM pretrained as a language model on the transcripts wrapped
in the same ChatML conversation the ASR prompt uses. Stage 9 then adapts it with LoRA exactly
as it would adapt Qwen2-7B-Instruct.

The ASR stage has the LLM write out what its context (the adapted speech) holds, which an
instruction-tuned LLM can do out of the box; a tiny model pretrained only as a language model
of short transcripts never needs to read its context. Pretraining reports how well the model
repeats validation transcripts placed where the speech goes (``CopyTask.accuracy``). An
optional copy task teaches it (``copy_fraction``: random token sequences to repeat, nothing to
guess from the language; best with tied embeddings, lr 1e-3 held constant until the last
fifth). Speech spans several slot positions per token, so the copied sequence can be
stretched (``copy_max_repeat``), with the pad token as CTC's blank between repeats
(``copy_blanks``, matching an adapter trained with ``model.adapter_ctc_weight``), and
``char_tokens`` gives one token per Chinese character, as the AED's dictionary has. None of
this is on by default: stage 9 on such a stand-in has not yet read the speech within the mini
recipe's budget (RESULTS.md, issue 9).
"""
from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

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
    steps: int = 1500             # pretraining steps
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 1
    tie_word_embeddings: bool = False  # True as in Qwen2-0.5B; one copy circuit serves all tokens
    copy_fraction: float = 0.0    # share of each batch that is the copy task
    copy_max_len: int = 16        # random sequences of 4..copy_max_len tokens
    char_tokens: bool = False     # BPE merges never cross a Chinese character: one token per
                                  # character, as the AED's dictionary has
    copy_max_repeat: int = 1      # each copied token fills 1..copy_max_repeat slot positions,
                                  # as speech spans several positions per token
    copy_blanks: bool = False     # stretched positions hold the token or the pad token (the
                                  # blank of an adapter trained with CTC, adapter_ctc_weight)


def conversation(text: str) -> str:
    """The training conversation of one transcript, without the speech placeholder (the ASR
    stages add ``<speech>`` to the vocabulary themselves)."""
    return chat_prompt(clean_text(text), decode=False).replace(SPEECH_TOKEN, "")


def train_chat_tokenizer(texts: Sequence[str], vocab_size: int, char_tokens: bool = False):
    """A byte-level BPE tokenizer with the Qwen2 chat tokens, as a transformers tokenizer.
    ``char_tokens``: merges stay inside each Chinese character, so a word is one token per
    character (the vocabulary then holds no multi-character words)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = byte_level
    if char_tokens:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(r"\p{Han}"), behavior="isolated"), byte_level])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=CHAT_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    corpus = [conversation(t) for t in texts] + [PROMPT, "system\nuser\nassistant\n"]
    tok.train_from_iterator(corpus, trainer)
    # Qwen2's own pre-tokenizer: with no merge across characters it gives the same tokens, and
    # the folder loads like any Qwen2 folder (check_round_trip verifies it).
    tok.pre_tokenizer = byte_level
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
        max_position_embeddings=4096, tie_word_embeddings=cfg.tie_word_embeddings,
        bos_token_id=tokenizer.convert_tokens_to_ids(BOS_TOKEN),
        eos_token_id=tokenizer.convert_tokens_to_ids(EOS_TOKEN),
        pad_token_id=tokenizer.pad_token_id)
    return Qwen2ForCausalLM(config)


def _pad(rows: Sequence[Tuple[List[int], List[int]]], pad_id: int):
    """(input ids, labels) rows -> right-padded input_ids, attention_mask, labels."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_ID, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, :len(x)], labels[i, :len(y)], mask[i, :len(x)] = (
            torch.tensor(x), torch.tensor(y), 1)
    return ids, mask, labels


def _lm_rows(tokenizer, texts: Sequence[str]) -> List[Tuple[List[int], List[int]]]:
    """Language-model rows: each transcript's conversation, every token scored."""
    encoded = tokenizer([conversation(t) for t in texts], add_special_tokens=False)["input_ids"]
    return [(ids, ids) for ids in encoded]


class CopyTask:
    """Copy examples in the ASR conversation: the user turn holds a token sequence where the
    speech goes, then the instruction; the assistant repeats the sequence. Only the
    assistant's tokens are scored."""

    def __init__(self, tokenizer):
        prompt = chat_prompt("", decode=True)
        speech_at = prompt.index(SPEECH_TOKEN)

        def ids(text: str) -> List[int]:
            return tokenizer(text, add_special_tokens=False)["input_ids"]

        self.before = ids(prompt[:speech_at])
        self.after = ids(prompt[speech_at + len(SPEECH_TOKEN):])
        self.end = ids(EOS_TOKEN)
        self.tokenizer = tokenizer
        self.blank = tokenizer.pad_token_id
        special = set(tokenizer.all_special_ids)
        self.pool = [i for i in range(len(tokenizer)) if i not in special]

    def example(self, source: List[int], slot: Optional[List[int]] = None
                ) -> Tuple[List[int], List[int]]:
        """Repeat ``source``, which the user turn holds as ``slot`` (default: ``source``)."""
        context = self.before + (source if slot is None else slot) + self.after
        answer = source + self.end
        return context + answer, [IGNORE_ID] * len(context) + answer

    def stretch(self, source: List[int], rng: random.Random, max_repeat: int,
                blanks: bool = False) -> List[int]:
        """Each token over 1..max_repeat positions: the token, then the token again or
        (``blanks``) as likely the pad token, CTC's blank. Unlike CTC output, the token may
        come back after a blank within its own stretch."""
        out: List[int] = []
        for i in source:
            out.append(i)
            for _ in range(rng.randint(1, max_repeat) - 1):
                out.append(self.blank if blanks and rng.random() < 0.5 else i)
        return out

    def random_example(self, rng: random.Random, max_len: int, max_repeat: int = 1,
                       blanks: bool = False) -> Tuple[List[int], List[int]]:
        source: List[int] = []
        for _ in range(rng.randint(4, max_len)):
            token = rng.choice(self.pool)
            while source and token == source[-1]:  # a stretched slot must stay readable
                token = rng.choice(self.pool)
            source.append(token)
        return self.example(source, self.stretch(source, rng, max_repeat, blanks))

    def text_ids(self, text: str) -> List[int]:
        return self.tokenizer(clean_text(text), add_special_tokens=False)["input_ids"]

    @torch.no_grad()
    def accuracy(self, model, sources: Sequence[List[int]], max_repeat: int = 1,
                 blanks: bool = False, seed: int = 0) -> float:
        """Next-token accuracy of the model repeating ``sources`` (token id lists), each
        token stretched over 1..max_repeat slot positions."""
        rng = random.Random(seed)
        rows = [self.example(list(x), self.stretch(list(x), rng, max_repeat, blanks))
                for x in sources]
        ids, mask, labels = _pad(rows, self.tokenizer.pad_token_id)
        model.eval()
        pred = model(input_ids=ids, attention_mask=mask).logits[:, :-1].argmax(-1)
        model.train()
        target = labels[:, 1:]
        scored = target != IGNORE_ID
        return float((pred[scored] == target[scored]).float().mean())


@torch.no_grad()
def perplexity(model, tokenizer, texts: Sequence[str], batch_size: int = 64) -> float:
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(texts), batch_size):
        ids, mask, labels = _pad(_lm_rows(tokenizer, texts[i: i + batch_size]),
                                 tokenizer.pad_token_id)
        n = int((labels[:, 1:] != IGNORE_ID).sum())
        total += float(model(input_ids=ids, attention_mask=mask, labels=labels).loss) * n
        count += n
    model.train()
    return math.exp(total / max(count, 1))


def pretrain(model, tokenizer, texts: Sequence[str], valid_texts: Sequence[str],
             cfg: TinyLlmConfig) -> List[float]:
    """Language-model and copy training on the conversations; returns the validation
    perplexities (before training and after)."""
    rng = random.Random(cfg.seed)
    copy = CopyTask(tokenizer)
    num_copy = round(cfg.batch_size * cfg.copy_fraction)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    warmup, decay = max(1, cfg.steps // 20), max(1, cfg.steps // 5)

    def lr_scale(step: int) -> float:
        # Linear warmup, constant, linear decay over the last fifth. The copy task learns
        # after a plateau of a few hundred steps at full lr; a cosine decay over the whole
        # run lowers the lr before it gets there.
        return min(1.0, (step + 1) / warmup, max(0.0, cfg.steps - step) / decay)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_scale)
    ppl = [perplexity(model, tokenizer, valid_texts)]
    logger.info("validation perplexity before pretraining: %.1f", ppl[0])
    model.train()
    texts = list(texts)
    sources = [copy.text_ids(t) for t in list(valid_texts)[:64]]
    for step in range(1, cfg.steps + 1):
        sample = rng.sample(texts, min(cfg.batch_size - num_copy, len(texts)))
        # Two passes: a copy row is several times as long as a transcript row, and one
        # padded batch would spend most of the language model's compute on padding.
        parts = [_lm_rows(tokenizer, sample),
                 [copy.random_example(rng, cfg.copy_max_len, cfg.copy_max_repeat,
                                      cfg.copy_blanks) for _ in range(num_copy)]]
        losses = []
        for rows in (r for r in parts if r):
            ids, mask, labels = _pad(rows, tokenizer.pad_token_id)
            losses.append(model(input_ids=ids, attention_mask=mask, labels=labels).loss)
        loss = sum(losses) / len(losses)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % max(1, cfg.steps // 10) == 0 or step == cfg.steps:
            logger.info("step %d/%d: loss %s, repeating accuracy %.3f", step, cfg.steps,
                        " / ".join(f"{x.item():.3f}" for x in losses),
                        copy.accuracy(model, sources, cfg.copy_max_repeat, cfg.copy_blanks))
    ppl.append(perplexity(model, tokenizer, valid_texts))
    logger.info("validation perplexity after %d steps: %.1f", cfg.steps, ppl[-1])
    logger.info("accuracy of repeating validation transcripts: %.3f, each token 1-4 times: %.3f",
                copy.accuracy(model, sources), copy.accuracy(model, sources, 4))
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
    tokenizer = train_chat_tokenizer(texts, cfg.vocab_size, cfg.char_tokens)
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
