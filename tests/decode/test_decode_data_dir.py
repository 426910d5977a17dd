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


def _hyps(out):
    return open(os.path.join(out, "hyp"), encoding="utf-8").read()


def test_a_changed_model_wav_or_text_is_decoded_again(ref_aed_dir, tmp_path, caplog):
    """A finished decode is reused only while the model folder, the data dir and its audio
    are unchanged; each change is named in the log."""
    import shutil

    import numpy as np
    import soundfile as sf

    model = tmp_path / "model"
    shutil.copytree(ref_aed_dir, model)
    data = real_examples_dir(tmp_path / "test", utts=REAL_UTTS[:2])
    out = str(tmp_path / "d")
    assert _decode(model, data, out, "--beam_size", "1") == 0
    first = json.load(open(os.path.join(out, "wer.json")))

    # Re-exported model: same path, new weights.
    import torch

    pkg = torch.load(model / "model.pth.tar", weights_only=False)
    pkg["model_state_dict"]["decoder.tgt_word_emb.weight"].mul_(1.5)
    torch.save(pkg, model / "model.pth.tar")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _decode(model, data, out, "--beam_size", "1") == 0
    assert "model folder: model.pth.tar changed" in caplog.text
    assert "skipped" not in caplog.text

    # A test wav edited in place (wav.scp unchanged): decoded again.
    wav = REAL_UTTS[0]
    edited = tmp_path / "edited.wav"
    sf.write(edited, np.zeros(16000, dtype=np.int16), 16000)
    d = open(os.path.join(data, "wav.scp"), encoding="utf-8").read()
    target = d.split("\n")[0].split(maxsplit=1)[1]
    local = tmp_path / "local.wav"
    shutil.copy(target, local)
    open(os.path.join(data, "wav.scp"), "w", encoding="utf-8").write(d.replace(target, str(local)))
    assert _decode(model, data, out, "--beam_size", "1") == 0  # wav.scp changed: decoded
    caplog.clear()
    shutil.copy(edited, local)  # same path, new content
    with caplog.at_level(logging.INFO):
        assert _decode(model, data, out, "--beam_size", "1") == 0
    assert "audio files changed" in caplog.text

    # An edited reference: decoded again and the score follows the new text.
    text_path = os.path.join(data, "text")
    lines = open(text_path, encoding="utf-8").read().splitlines()
    lines[1] = lines[1].split()[0] + " 完全不同的文字"
    open(text_path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _decode(model, data, out, "--beam_size", "1") == 0
    assert "data dir: text changed" in caplog.text
    assert json.load(open(os.path.join(out, "wer.json")))["n"] != first["n"]
    assert wav in _hyps(out)

    # Nothing changed: skipped.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _decode(model, data, out, "--beam_size", "1") == 0
    assert "unchanged model, data and settings, skipped" in caplog.text


def test_decode_order_measures_lengths_without_utt2num_frames(tmp_path):
    from fireredasr.data.kaldi_dir import DataDir
    from fireredasr.decode.decode_data_dir import decode_order
    from tests.conftest import REAL_EXAMPLES

    from tests.fake_corpora import synth_audio, write_wav

    pipe = f"cat {REAL_EXAMPLES / (REAL_UTTS[3] + '.wav')} |"  # the longest, as a pipe
    short = write_wav(tmp_path / "short.wav", synth_audio(0.5, 1))  # the shortest, first by id
    data = real_examples_dir(tmp_path / "t", utts=REAL_UTTS[:3],
                             extra_wavs={"zz_pipe": pipe, "AAA_short": str(short)})
    d = DataDir.load(data)
    assert d.utt2num_frames is None and d.utt2dur is None
    order = decode_order(d, sorted(d.utt_ids()))
    # Durations: meeting (pipe) 12.4 s, BAC009 4.2 s, IT0011 2.0 s, TEST_NET 1.8 s, short 0.5 s.
    assert order == ["zz_pipe", *REAL_UTTS[:3], "AAA_short"]
