"""Text inputs: byte-order marks, undecodable lines and repeated ids are never silent."""
import logging

import pytest

from fireredasr.data.corpus_prep import read_corpus_map
from fireredasr.data.kaldi_dir import iter_text_lines, read_map
from fireredasr.data.prep_report import PrepReport
from fireredasr.data.text_lines import TextFileError


def test_bom_is_not_part_of_the_first_key(tmp_path):
    p = tmp_path / "text"
    p.write_bytes("\ufeffutt1 你好\nutt2 世界\n".encode("utf-8"))
    assert list(read_map(str(p))) == ["utt1", "utt2"]
    assert list(iter_text_lines(str(p)))[0] == ("utt1", "你好")


def test_non_utf8_line_names_file_and_line(tmp_path):
    p = tmp_path / "text"
    p.write_bytes("utt1 你好\n".encode() + "utt2 世界\n".encode("gbk"))
    with pytest.raises(TextFileError, match=r"text:2: not valid UTF-8"):
        read_map(str(p))
    with pytest.raises(ValueError, match=r"text:2"):
        list(iter_text_lines(str(p)))


def test_corpus_map_counts_repeats_and_bad_lines(tmp_path, caplog):
    p = tmp_path / "trans.txt"
    p.write_bytes("\ufeffa 第一\n".encode() + "b 坏行\n".encode("gbk") + "a 重复\nc 第三\n".encode())
    report = PrepReport("t")
    got = read_corpus_map(str(p), report)
    assert got == {"a": "第一", "c": "第三"}
    assert report.skipped == {"trans.txt line not valid UTF-8 (byte 0xbb at column 3)": 1,
                              "id repeated in trans.txt (first line kept)": 1}
    assert any("trans.txt:2" in e for e in report.examples[next(iter(report.skipped))])
    with caplog.at_level(logging.WARNING):
        report.log()
    assert "a (" in caplog.text and "trans.txt:3" in caplog.text
