import json
import logging
import os

import pytest

from fireredasr.bin.decode import main as decode_main
from tests.conftest import REAL_UTTS
from tests.fake_corpora import real_examples_dir


@pytest.fixture
def test_dir(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage")
    return real_examples_dir(tmp_path / "test", extra_wavs={"zz_broken": str(bad)})


def _decode(ref_aed_dir, data, out, *extra):
    return decode_main(["--model_dir", str(ref_aed_dir), "--data_dir", data, "--out_dir", out,
                        "--batch_size", "2", "--test_set", "four", "--model_name", "ref", *extra])


def test_parallel_decode_equals_one_job_and_reference(ref_aed_dir, expected_hyps, test_dir,
                                                      tmp_path, caplog):
    out1, out2 = str(tmp_path / "nj1"), str(tmp_path / "nj2")
    with caplog.at_level(logging.WARNING):
        assert _decode(ref_aed_dir, test_dir, out1, "--nj", "1") == 0
    assert "skipping zz_broken" in caplog.text
    assert _decode(ref_aed_dir, test_dir, out2, "--nj", "2") == 0
    hyp1 = open(os.path.join(out1, "hyp"), encoding="utf-8").read()
    assert hyp1 == open(os.path.join(out2, "hyp"), encoding="utf-8").read()
    # The default settings are the released ones (beam 3, smoothing 1.25, lp 0.6).
    got = dict(line.split(maxsplit=1) for line in hyp1.splitlines())
    assert got == expected_hyps["beam3"]["batch"]
    res = json.load(open(os.path.join(out1, "wer.json"), encoding="utf-8"))
    assert res["missing_hyps"] == 1 and res["sentences"] == 5
    assert "RTF" in open(os.path.join(out1, "rtf")).read()
    summary = json.load(open(os.path.join(out2, "decode.json")))
    assert summary["jobs"] == 2 and summary["failed"] == 1 and summary["decoded"] == 4


def test_finished_decode_is_skipped_and_settings_change_redecodes(ref_aed_dir, test_dir,
                                                                  tmp_path, caplog):
    out = str(tmp_path / "d")
    assert _decode(ref_aed_dir, test_dir, out, "--beam_size", "1") == 0
    with caplog.at_level(logging.INFO):
        assert _decode(ref_aed_dir, test_dir, out, "--beam_size", "1") == 0
    assert "skipped" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _decode(ref_aed_dir, test_dir, out, "--beam_size", "2", "--nbest", "2") == 0
    assert "settings changed" in caplog.text
    nbest = open(os.path.join(out, "nbest"), encoding="utf-8").read().splitlines()
    assert len(nbest) == 8 and nbest[0].startswith(f"{sorted(REAL_UTTS)[0]}-1 ")


def test_missing_data_dir_is_a_clear_error(ref_aed_dir, tmp_path, caplog):
    assert _decode(ref_aed_dir, str(tmp_path / "nope"), str(tmp_path / "o")) == 1
    assert "data dir not found" in caplog.text
