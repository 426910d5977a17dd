import logging

from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.build import SPECIAL_TOKENS, build_tokenizer, report_unknown_tokens
from fireredasr.tokenizer.token_dict import TokenDict

TRAIN = ["今天 天气 很好", "我们 去 PARK 散步", "HELLO WORLD 你好", "天天 向上", "ｏｋ，好的。"]


def test_dict_layout_and_round_trip(tmp_path, caplog):
    d = build_tokenizer(TRAIN, str(tmp_path), bpe_vocab_size=60, char_min_count=1)
    loaded = TokenDict.from_file(str(tmp_path / "dict.txt"))
    assert loaded.id2token == d.id2token
    assert loaded.id2token[:5] == list(SPECIAL_TOKENS)
    assert loaded.id2token[5] == "天"  # most frequent character first
    tok = ChineseCharEnglishSpmTokenizer.from_files(str(tmp_path / "dict.txt"),
                                                   str(tmp_path / "bpe.model"))
    for text in ["今天 HELLO 我们 PARK", "hello world你好", "好的 OK"]:
        tokens, ids = tok.tokenize(text)
        assert tok.dict.unk_id not in ids, tokens
        assert tok.detokenize(ids) == tok.detokenize(tokens)
    assert tok.detokenize(tok.tokenize("今天 HELLO 我们 PARK")[1]) == "今天 HELLO我们 PARK"
    # Any upper-case word can be spelt, even one never seen in training.
    assert tok.dict.unk_id not in tok.tokenize("ZYXWV")[1]
    with caplog.at_level(logging.WARNING):
        unknown = report_unknown_tokens(tok, [("u1", "今天下雨"), ("u2", "天天")], "test")
    assert unknown == {"下": 1, "雨": 1}
    assert "1 of 2 utterances hold 2 tokens outside the dictionary" in caplog.text


def test_min_count_leaves_rare_characters_out(tmp_path):
    d = build_tokenizer(TRAIN, str(tmp_path), bpe_vocab_size=40, char_min_count=2)
    assert "天" in d and "散" not in d


def test_empty_training_text_is_refused(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="no transcript"):
        build_tokenizer([], str(tmp_path))
