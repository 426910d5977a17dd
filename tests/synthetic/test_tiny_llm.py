"""The mini recipe's base LLM: the copy task's examples and a short pretraining run."""
import random

from fireredasr.data.processor import IGNORE_ID
from fireredasr.synthetic.tiny_llm import (CopyTask, TinyLlmConfig, build_model, pretrain,
                                           save_llm_folder, train_chat_tokenizer)
from fireredasr.tokenizer.llm_tokenizer import EOS_TOKEN, PROMPT

TEXTS = ["今天天气很好", "我们明天去北京", "他说这个问题不大", "大家一起学习",
         "北京的天气很好", "明天我们学习", "这个很好", "他们去学习了"] * 4


def tiny_config(**kw) -> TinyLlmConfig:
    base = dict(vocab_size=400, hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1,
                intermediate_size=128, batch_size=8, steps=4)
    base.update(kw)
    return TinyLlmConfig(**base)


def read_back(slot, blank=None):
    """The sequence a stretched slot stands for: blanks dropped, then repeats merged (unlike
    CTC, a token may come back after a blank within its own stretch)."""
    kept = [t for t in slot if t != blank]
    return [t for k, t in enumerate(kept) if k == 0 or t != kept[k - 1]]


def test_copy_example_puts_the_sequence_where_the_speech_goes_and_scores_only_the_answer():
    tok = train_chat_tokenizer(TEXTS, 400)
    task = CopyTask(tok)
    source = tok("北京天气", add_special_tokens=False)["input_ids"]
    ids, labels = task.example(source)
    assert len(ids) == len(labels)
    context = [i for i, y in zip(ids, labels) if y == IGNORE_ID]
    answer = [y for y in labels if y != IGNORE_ID]
    assert answer == source + tok(EOS_TOKEN, add_special_tokens=False)["input_ids"]
    # The context is the decoding prompt with the sequence in place of <speech>.
    text = tok.decode(context)
    assert text.startswith("<|im_start|>user\n北京天气" + PROMPT)
    assert text.endswith("<|im_start|>assistant\n")
    rng = random.Random(0)
    special = set(tok.all_special_ids)
    for _ in range(20):
        ids, labels = task.random_example(rng, 6)
        answer = [y for y in labels if y != IGNORE_ID][:-1]
        assert 4 <= len(answer) <= 6 and not special & set(answer)


def test_stretched_copy_example_repeats_each_slot_token_but_answers_each_once():
    tok = train_chat_tokenizer(TEXTS, 400)
    task = CopyTask(tok)
    rng = random.Random(3)
    stretched = 0
    for _ in range(30):
        ids, labels = task.random_example(rng, 8, max_repeat=3)
        answer = [y for y in labels if y != IGNORE_ID][:-1]
        assert all(a != b for a, b in zip(answer, answer[1:]))  # no ambiguous doubled token
        slot = ids[len(task.before): labels.count(IGNORE_ID) - len(task.after)]
        assert read_back(slot) == answer and len(slot) <= 3 * len(answer)
        stretched += len(slot) > len(answer)
    assert stretched > 20
    # With blanks (CTC's shape) the slot reads back once blanks are dropped.
    blanks = 0
    for _ in range(30):
        ids, labels = task.random_example(rng, 8, max_repeat=3, blanks=True)
        answer = [y for y in labels if y != IGNORE_ID][:-1]
        slot = ids[len(task.before): labels.count(IGNORE_ID) - len(task.after)]
        assert slot[0] == answer[0]
        blanks += slot.count(task.blank)
        assert read_back(slot, task.blank) == answer
    assert blanks > 10 and task.blank == tok.pad_token_id


def test_pretraining_ties_embeddings_and_reports_perplexity():
    cfg = tiny_config(tie_word_embeddings=True, copy_fraction=0.5)
    tok = train_chat_tokenizer(TEXTS, cfg.vocab_size)
    model = build_model(tok, cfg)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    ppl = pretrain(model, tok, TEXTS, TEXTS[:4], cfg)
    assert len(ppl) == 2 and all(p > 1 for p in ppl)
    untied = build_model(tok, tiny_config())  # the default
    assert untied.lm_head.weight.data_ptr() != untied.model.embed_tokens.weight.data_ptr()


def test_char_tokens_give_one_token_per_character_and_the_folder_round_trips(tmp_path):
    tok = train_chat_tokenizer(TEXTS, 400, char_tokens=True)
    words = train_chat_tokenizer(TEXTS, 400)
    for text in ("今天天气很好", "北京的天气很好"):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert [tok.decode([i]) for i in ids] == list(text)
    assert len(words("今天天气很好", add_special_tokens=False)["input_ids"]) < 6  # words merge
    # Saved with Qwen2's usual pre-tokenizer, it loads and tokenizes the same way.
    save_llm_folder(str(tmp_path), build_model(tok, tiny_config()), tok, TEXTS)
