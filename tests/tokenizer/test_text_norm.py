"""One definition of "a Chinese character" and one punctuation set, shared by the training
normaliser, both tokenizers and the scorer."""
from collections import Counter

import pytest

from fireredasr.scoring.cer import text_to_tokens
from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.llm_tokenizer import clean_text
from fireredasr.tokenizer.text_norm import is_cjk, normalize_transcript
from fireredasr.tokenizer.token_dict import TokenDict

EXT_A = "\u3400"           # 㐀, CJK Extension A
EXT_C = "\U0002b5af"       # 𫖯 (U+2B5AF, Extension C), found in AISHELL-2 transcripts
EXT_B = "\U00020000"       # 𠀀, Extension B
EXT_G = "\U00030000"       # Extension G
COMPAT = "\uf900"          # 豈, CJK Compatibility Ideograph (NFC: 豈 U+8C48)
COMPAT_SUPP = "\U0002f800"  # CJK Compatibility Ideographs Supplement


@pytest.mark.parametrize("ch", ["中", EXT_A, EXT_C, EXT_B, EXT_G, COMPAT, COMPAT_SUPP])
def test_every_ideograph_block_is_chinese_everywhere(ch):
    assert is_cjk(ch)
    # Scorer: one token per character, never glued to a neighbouring word.
    assert text_to_tokens(f"赵孟{ch}的书法") == ["赵", "孟", ch, "的", "书", "法"]
    assert text_to_tokens(f"A{ch}B") == ["A", ch, "B"]
    # AED tokenizer: its own token (here <unk>), not sent through BPE.
    tok = ChineseCharEnglishSpmTokenizer(TokenDict(["<blank>", "<unk>", "赵"]), None)
    assert tok.tokenize(f"赵{ch}")[0] == ["赵", ch]
    # Normaliser: no space inserted around it.
    assert " " not in normalize_transcript(f"赵 孟 {ch} 的")
    # LLM target cleaning: glued to its Chinese neighbours.
    assert clean_text(f"赵 {ch} 的") == f"赵{ch}的"


@pytest.mark.parametrize("ch", ["A", "1", "\uff21", "\u3001", "\u2e80", "\u31c0"])
def test_non_ideographs_are_not_chinese(ch):
    assert not is_cjk(ch)  # letters, digits, full-width forms, punctuation, radicals, strokes


def test_normaliser_removes_the_scorers_punctuation_and_counts_it():
    changes = Counter()
    assert normalize_transcript("搬不走的要及时'关停并转'", changes) == "搬不走的要及时关停并转"
    assert normalize_transcript("A股市场（上证）iPhone销量", changes) == "A 股市场上证 IPHONE 销量"
    assert normalize_transcript("《红楼梦》“很好”——真的…", changes) == "红楼梦很好真的"
    assert normalize_transcript("it's the students' book", changes) == "IT'S THE STUDENTS' BOOK"
    assert normalize_transcript("ＯＫ，好的。", changes) == "OK 好的"
    assert changes["punctuation removed"] == 4  # the English apostrophes stay
    assert normalize_transcript(f"{COMPAT}子", changes) == "\u8c48子"
    assert changes["compatibility ideograph unified"] == 1
    # What the normaliser keeps, the scorer scores the same way.
    for raw in ("A股市场（上证）iPhone销量", "《红楼梦》“很好”"):
        assert text_to_tokens(normalize_transcript(raw)) == text_to_tokens(raw)
