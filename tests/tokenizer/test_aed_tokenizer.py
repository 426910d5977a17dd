import pytest

from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.text_norm import fullwidth_to_halfwidth, normalize_transcript
from fireredasr.tokenizer.token_dict import TokenDict


@pytest.fixture(scope="module")
def tok(ref_aed_dir):
    return ChineseCharEnglishSpmTokenizer.from_files(str(ref_aed_dir / "dict.txt"),
                                                     str(ref_aed_dir / "train_bpe1000.model"))


def test_chinese_characters_are_single_tokens(tok):
    tokens, ids = tok.tokenize("甚至 出现，交易。")
    assert tokens == ["甚", "至", "出", "现", "交", "易"]
    assert tok.detokenize(ids) == "甚至出现交易"


def test_english_goes_through_bpe_and_round_trips(tok):
    tokens, ids = tok.tokenize("换一首 hello world 歌!")
    assert tokens[:3] == ["换", "一", "首"] and tokens[-1] == "歌"
    english = tokens[3:-1]
    assert english[0].startswith("\u2581") and "".join(english).replace("\u2581", " ").strip() \
        == "HELLO WORLD"
    # Pieces missing from this small dictionary become <unk>; known ones keep their ids.
    for t, i in zip(tokens, ids):
        assert i == (tok.dict.token2id[t] if t in tok.dict else tok.dict.unk_id)
    assert tok.detokenize(tokens) == "换一首 HELLO WORLD歌"


def test_unknown_characters_map_to_unk(tok):
    _, ids = tok.tokenize("齉")
    assert ids == [tok.dict.unk_id]
    assert tok.detokenize([tok.dict.unk_id]) == "<unk>"


def test_token_dict_errors(tmp_path):
    bad = tmp_path / "dict.txt"
    bad.write_text("<unk> 0\na 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="dense"):
        TokenDict.from_file(str(bad))
    bad.write_text("<unk> 0\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        TokenDict.from_file(str(bad))
    with pytest.raises(FileNotFoundError):
        TokenDict.from_file(str(tmp_path / "none.txt"))


def test_text_normalisation():
    assert fullwidth_to_halfwidth("ＡＢＣ１２３！\u3000x") == "ABC123! x"
    assert normalize_transcript("甚至  出现 交易，Hello  World。ＯＫ") == "甚至出现交易 HELLO WORLD OK"
