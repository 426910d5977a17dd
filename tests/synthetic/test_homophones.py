"""Homophone floors of the synthetic corpus: decoding the exact syllables with the lexicon."""
from fireredasr.synthetic.homophones import (decode_templates, decode_words, spelling_table,
                                             substitution_kind, syllables)
from fireredasr.synthetic.sentences import Lexicon

# 是/事 (shi4) are homophones; 时候 has no homophone here; 夏天 and 下天 sound alike.
LEXICON = Lexicon(words={"n": ["事", "夏天", "时候"], "v": ["是", "下"], "r": ["我"]},
                  weights={"n": [1.0, 1.0, 1.0], "v": [5.0, 1.0], "r": [1.0]})


def test_syllables_are_what_espeak_is_given():
    assert syllables(["夏天", "是"]) == ("xia4", "tian1", "shi4")


def test_word_floor_picks_the_most_weighted_spelling_of_each_sound():
    tables = spelling_table(LEXICON)
    # 是 (weight 5) outweighs 事 (1) for shi4 wherever it stands.
    assert decode_words(syllables(["我", "事"]), tables) == "我是"
    assert decode_words(syllables(["时候"]), tables) == "时候"
    assert decode_words(("zzz1",), tables) == ""  # no word has this sound


def test_template_floor_uses_the_part_of_speech_order():
    tables = spelling_table(LEXICON)
    # r v n: the noun slot takes 事 although 是 is the heavier spelling of shi4 overall.
    sounds = syllables(["我", "是", "事"])
    assert decode_templates(sounds, tables, [("r", "v", "n")]) == "我是事"
    assert decode_words(sounds, tables) == "我是是"
    assert decode_templates(syllables(["我"]), tables, [("r", "v", "n")]) == ""


def test_substitutions_are_sorted_by_how_they_sound():
    assert substitution_kind("夏", "下") == "homophone"   # xia4 / xia4
    assert substitution_kind("紧", "近") == "tone"        # jin3 / jin4
    assert substitution_kind("夏", "天") == "other"


def test_equal_weights_pick_the_same_spelling_whatever_the_tag_order():
    # 是 and 事 weigh the same; the pooled table must not follow the tags' order (a set's
    # order changes with the hash seed from one process to the next).
    a = Lexicon(words={"n": ["事"], "v": ["是"]}, weights={"n": [1.0], "v": [1.0]})
    b = Lexicon(words={"v": ["是"], "n": ["事"]}, weights={"v": [1.0], "n": [1.0]})
    assert spelling_table(a)["*"] == spelling_table(b)["*"]
