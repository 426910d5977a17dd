"""Mandarin text -> espeak-ng input: polyphones, neutral tones, 一/不 sandhi, iong syllables."""
import pytest

from fireredasr.synthetic.pinyin import apply_yi_bu_sandhi, espeak_syllable, sentence_to_espeak


def test_word_context_resolves_polyphones_and_keeps_the_neutral_tone():
    assert sentence_to_espeak(["银行", "的", "我们"]) == "yin2 hang2 de5 wo3 men5"
    assert sentence_to_espeak(["行走"]).startswith("xing2")


@pytest.mark.parametrize("chars,syllables,expected", [
    ("不对", ["bu4", "dui4"], ["bu2", "dui4"]),          # 不 before tone 4
    ("不好", ["bu4", "hao3"], ["bu4", "hao3"]),
    ("一个", ["yi1", "ge4"], ["yi2", "ge4"]),             # 一 before tone 4
    ("一天", ["yi1", "tian1"], ["yi4", "tian1"]),         # ... before the other tones
    ("第一", ["di4", "yi1"], ["di4", "yi1"]),             # ordinal
    ("十一", ["shi2", "yi1"], ["shi2", "yi1"]),           # numeral, sentence end
    ("一二", ["yi1", "er4"], ["yi1", "er4"]),             # counting
])
def test_yi_bu_sandhi(chars, syllables, expected):
    assert apply_yi_bu_sandhi(list(chars), syllables) == expected


def test_sandhi_crosses_word_boundaries():
    # pypinyin alone sees 不 and 是 in different words and leaves bu4.
    assert sentence_to_espeak(["他", "不", "是"]) == "ta1 bu2 shi4"


def test_iong_syllables_become_phonemes():
    assert espeak_syllable("xiong1") == "[[S;j'ong55]]"
    assert espeak_syllable("qiong2") == "[[tS;hj'ong35]]"
    assert espeak_syllable("jiong3") == "[[tS;j'ong214]]"
    assert espeak_syllable("yong3") == "yong3" and espeak_syllable("zhong1") == "zhong1"
    assert "[[S;j'ong" in sentence_to_espeak(["兄弟"])


def test_unreadable_text_is_refused():
    with pytest.raises(ValueError, match="no reading"):
        sentence_to_espeak(["ABC"])
