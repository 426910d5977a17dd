"""fireredasr-sweep-elm-weight: one decode per weight, each with the search it was given."""
import json

import pytest

from fireredasr.bin import sweep_elm_weight
from tests.fake_corpora import real_examples_dir


def _sweep(ref_aed2_dir, tmp_path, *flags):
    data = real_examples_dir(tmp_path / "data")
    out = tmp_path / "sweep"
    rc = sweep_elm_weight.main(["--model_dir", str(ref_aed2_dir), "--data_dir", data,
                                "--out_dir", str(out), "--weights", "0.3", *flags])
    return rc, out


def test_every_decode_of_the_sweep_uses_the_given_search(ref_aed2_dir, tmp_path, caplog,
                                                         capsys):
    rc, out = _sweep(ref_aed2_dir, tmp_path, "--elm_dir", str(ref_aed2_dir / "elm"),
                     "--decode_mode", "joint_ctc_attention", "--beam_size", "2",
                     "--repetition_penalty", "2.0", "--batch_size", "3")
    assert rc == 0
    for weight in ("0", "0.3"):
        settings = json.loads((out / f"elm{weight}" / "decode.json").read_text())["settings"]
        assert (settings["decode_mode"], settings["beam_size"]) == ("joint_ctc_attention", 2)
        assert settings["elm_weight"] == float(weight)
        # The paper's settings stay under the flags given.
        assert (settings["softmax_smoothing"], settings["aed_length_penalty"]) == (1.25, 0.6)
    rows = (out / "elm_weight_sweep.tsv").read_text().splitlines()
    assert [r.split("\t")[0] for r in rows] == ["elm_weight", "0", "0.3"]
    assert capsys.readouterr().out.strip() == (out / "best_elm_weight").read_text().strip()
    assert "not AED options, ignored: --repetition_penalty 2.0" in caplog.text


def test_the_sweep_needs_an_lm(ref_aed2_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _sweep(ref_aed2_dir, tmp_path)
    assert e.value.code == 2 and "--elm_dir" in capsys.readouterr().err


def test_a_search_the_lm_cannot_fuse_with_is_refused(ref_aed2_dir, tmp_path, caplog):
    rc, out = _sweep(ref_aed2_dir, tmp_path, "--elm_dir", str(ref_aed2_dir / "elm"),
                     "--decode_mode", "attention_rescoring")
    assert rc == 1 and "fuses with the attention searches" in caplog.text
    assert not out.exists()   # refused before the first decode
