"""The bad-input matrix: every command meets broken files, typos and impossible options with a
one-line message that names the file or option and a non-zero exit, or with a counted skip
that gives its reason. Nothing is silently lost and nothing ends in a traceback.

Stage 0 (tests/local/test_corpus_layouts.py), features (tests/data), training
(tests/train/test_train_aed.py) and scoring (tests/scoring) have their own cases beside
the code they exercise; docs/bad_input.md lists the whole matrix.
"""
import argparse
import logging
import os
import shutil
from pathlib import Path

import pytest
import torch

from fireredasr.bin import build_tokenizer, data_dir, decode, transcribe
from tests.conftest import REAL_EXAMPLES, REAL_UTTS
from tests.fake_corpora import real_examples_dir

WAV = str(REAL_EXAMPLES / f"{REAL_UTTS[1]}.wav")


def _transcribe(model_dir, *args, asr_type="aed"):
    return transcribe.main(["--asr_type", asr_type, "--model_dir", str(model_dir),
                            "--use_gpu", "0", *args])


@pytest.fixture
def aed_copy(ref_aed_dir, tmp_path):
    dst = tmp_path / "aed"
    shutil.copytree(ref_aed_dir, dst)
    return dst


# ---- fireredasr-transcribe --------------------------------------------------------------------


def test_transcribe_output_in_a_new_folder_is_created(ref_aed_dir, tmp_path):
    out = tmp_path / "new" / "deeper" / "hyp.txt"
    assert _transcribe(ref_aed_dir, "--wav_path", WAV, "--output", str(out)) == 0
    assert out.read_text(encoding="utf-8").startswith(REAL_UTTS[1])


@pytest.mark.parametrize("flags,needle", [
    (["--nbest", "5", "--beam_size", "3"], "nbest must be in [1, beam_size=3]"),
    (["--beam_size", "0"], "beam_size must be >= 1"),
    (["--eos_penalty", "0"], "eos_penalty must be > 0"),
    (["--elm_weight", "0.3"], "elm_weight=0.3 needs elm_dir"),
])
def test_transcribe_impossible_options(ref_aed_dir, caplog, flags, needle):
    assert _transcribe(ref_aed_dir, "--wav_path", WAV, *flags) == 2
    assert needle in caplog.text


def test_transcribe_corrupt_bpe_model(aed_copy, caplog):
    (aed_copy / "train_bpe1000.model").write_bytes(b"\x00garbage" * 10)
    assert _transcribe(aed_copy, "--wav_path", WAV) == 2
    assert "cannot read the sentencepiece model" in caplog.text
    assert "train_bpe1000.model" in caplog.text


def test_transcribe_refuses_a_pickled_callable(aed_copy, caplog):
    torch.save({"args": argparse.Namespace(), "model_state_dict": {}, "hook": os.system},
               aed_copy / "model.pth.tar")
    assert _transcribe(aed_copy, "--wav_path", WAV) == 2
    assert "refusing to load" in caplog.text and "system" in caplog.text
    assert "not a torch checkpoint" not in caplog.text


def test_transcribe_missing_wav_says_not_found(ref_aed_dir, tmp_path, caplog):
    missing = tmp_path / "missing.wav"
    assert _transcribe(ref_aed_dir, "--wav_path", str(missing)) == 1
    assert f"audio file not found: {missing}" in caplog.text
    assert "System error" not in caplog.text


def test_transcribe_empty_inputs_are_errors(ref_aed_dir, tmp_path, caplog):
    empty_scp = tmp_path / "wav.scp"
    empty_scp.write_text("")
    assert _transcribe(ref_aed_dir, "--wav_scp", str(empty_scp)) == 2
    assert f"{empty_scp} is empty" in caplog.text
    (tmp_path / "no_wavs").mkdir()
    assert _transcribe(ref_aed_dir, "--wav_dir", str(tmp_path / "no_wavs")) == 2


def test_transcribe_wav_scp_bom_duplicates_and_bad_bytes(ref_aed_dir, tmp_path, caplog):
    scp = tmp_path / "wav.scp"
    scp.write_bytes(f"\ufeffa {WAV}\nb {WAV}\na {WAV}\n".encode("utf-8"))
    out = tmp_path / "hyp"
    with caplog.at_level(logging.WARNING):
        assert _transcribe(ref_aed_dir, "--wav_scp", str(scp), "--output", str(out)) == 0
    ids = [line.split("\t")[0] for line in out.read_text(encoding="utf-8").splitlines()]
    assert ids == ["a", "b"]  # no BOM in the first uttid, the repeat written once
    assert "skipped 1 repeated uttids" in caplog.text and "line 3" in caplog.text
    scp.write_bytes(f"a {WAV}\n".encode() + "b 路径.wav\n".encode("gbk"))
    assert _transcribe(ref_aed_dir, "--wav_scp", str(scp)) == 2
    assert f"{scp}:2: not valid UTF-8" in caplog.text


def test_transcribe_llm_folder_with_an_aed_package(ref_llm_dir, ref_aed_dir, tmp_path, caplog):
    llm = tmp_path / "llm"
    shutil.copytree(ref_llm_dir, llm, symlinks=True)
    shutil.copy(ref_aed_dir / "model.pth.tar", llm / "model.pth.tar")
    assert _transcribe(llm, "--wav_path", WAV, asr_type="llm") == 2
    assert "is an AED model" in caplog.text and "--asr_type aed" in caplog.text


def test_transcribe_truncated_llm_weights(ref_llm_dir, tmp_path, caplog):
    llm = tmp_path / "llm"
    shutil.copytree(ref_llm_dir, llm)
    weights = next((llm / "Qwen2-7B-Instruct").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert _transcribe(llm, "--wav_path", WAV, asr_type="llm") == 2
    assert "cannot load the LLM from" in caplog.text and "Qwen2-7B-Instruct" in caplog.text


# ---- fireredasr-decode ------------------------------------------------------------------------


def _decode(model_dir, data, out, *extra):
    return decode.main(["--model_dir", str(model_dir), "--data_dir", str(data), "--out_dir",
                        str(out), *extra])


@pytest.mark.parametrize("flags,needle", [
    (["--nbest", "5", "--beam_size", "3"], "nbest must be in [1, beam_size=3]"),
    (["--beam_size", "0"], "beam_size must be >= 1"),
])
def test_decode_impossible_options(ref_aed_dir, tmp_path, caplog, flags, needle):
    data = real_examples_dir(tmp_path / "d", utts=REAL_UTTS[:1])
    assert _decode(ref_aed_dir, data, tmp_path / "o", *flags) == 1
    assert needle in caplog.text


def test_decode_non_utf8_data_dir_is_named(ref_aed_dir, tmp_path, caplog):
    data = Path(real_examples_dir(tmp_path / "d", utts=REAL_UTTS[:1]))
    with open(data / "text", "ab") as f:
        f.write("zz 坏\n".encode("gbk"))
    assert _decode(ref_aed_dir, data, tmp_path / "o") == 1
    assert f"{data / 'text'}:2: not valid UTF-8" in caplog.text


# ---- fireredasr-build-tokenizer, fireredasr-data-dir -----------------------------------------


def test_build_tokenizer_checks_every_input_before_writing(tmp_path, caplog):
    text = tmp_path / "text"
    text.write_text("u1 你好世界\nu2 HELLO 世界\n", encoding="utf-8")
    out = tmp_path / "lang"
    assert build_tokenizer.main(["--text", str(text), "--out_dir", str(out), "--bpe_vocab_size",
                                 "30", "--check_text", str(tmp_path / "typo")]) == 1
    assert f"--check_text not found: {tmp_path / 'typo'}" in caplog.text
    assert not (out / "dict.txt").exists()  # nothing a recipe could take for a finished stage
    text.write_bytes("u1 你好\n".encode() + "u2 世界\n".encode("gbk"))
    assert build_tokenizer.main(["--text", str(text), "--out_dir", str(out)]) == 1
    assert f"{text}:2: not valid UTF-8" in caplog.text
    assert not (out / "dict.txt").exists()


def test_data_dir_tools_name_an_undecodable_file(tmp_path, caplog):
    data = Path(real_examples_dir(tmp_path / "d", utts=REAL_UTTS[:2]))
    with open(data / "utt2spk", "ab") as f:
        f.write("zz 说话人\n".encode("gbk"))
    for cmd in (["validate"], ["fix"], ["subset", "--first", "1"]):
        args = cmd + [str(data)] + ([str(tmp_path / "sub")] if cmd[0] == "subset" else [])
        assert data_dir.main(args) == 1
        assert f"{data / 'utt2spk'}:3: not valid UTF-8" in caplog.text
        caplog.clear()
