import subprocess
from collections import OrderedDict

import numpy as np
import pytest

from fireredasr.data import kaldi_dir as kd
from fireredasr.data.audio import load_audio
from tests.conftest import REAL_EXAMPLES, REAL_UTTS, REPO


def make_dir(tmp_path, name="d", n=6) -> str:
    d = kd.DataDir(
        wav=OrderedDict((f"u{i}", str(REAL_EXAMPLES / f"{REAL_UTTS[i % 2]}.wav")) for i in range(n)),
        text=OrderedDict((f"u{i}", f"文本{i}") for i in range(n)),
        utt2spk=OrderedDict((f"u{i}", f"s{i % 2}") for i in range(n)),
        extra={"utt2subdialect": OrderedDict((f"u{i}", "Mandarin") for i in range(n))})
    path = tmp_path / name
    d.save(str(path))
    return str(path)


def test_save_load_validate_round_trip(tmp_path):
    path = make_dir(tmp_path)
    assert kd.validate(path) == []
    d = kd.DataDir.load(path)
    assert len(d) == 6 and d.spk2utt()["s0"] == "u0 u2 u4"
    assert "utt2subdialect" in d.extra


def test_validate_reports_problems(tmp_path):
    path = make_dir(tmp_path)
    with open(f"{path}/text", "a") as f:
        f.write("a_extra 文本\n")
    (tmp_path / "d" / "utt2spk").write_text("u1 s1\nu0 s0\n")
    problems = " | ".join(kd.validate(path))
    assert "utt2spk is not sorted" in problems
    assert "text has 1 utterances without audio" in problems
    assert "utt2spk lacks 4 utterances" in problems
    with open(f"{path}/text", "a") as f:
        f.write("u1 duplicate\n")
    assert "duplicate key u1" in " ".join(kd.validate(path))


def test_fix_keeps_consistent_utterances_and_counts(tmp_path):
    path = make_dir(tmp_path)
    d = kd.DataDir.load(path)
    d.text["u3"] = "  "
    del d.utt2spk["u5"]
    d.text["zz"] = "没有音频"
    fixed, reasons = kd.fix(d)
    assert sorted(fixed.text) == ["u0", "u1", "u2", "u4"]
    assert reasons == {"empty transcript": 1, "no speaker": 1, "transcript without audio": 1}
    fixed.save(path)
    assert kd.validate(path) == []


def test_subset_combine_split(tmp_path):
    d = kd.DataDir.load(make_dir(tmp_path))
    assert kd.subset_first(d, 2).utt_ids() == ["u0", "u1"]
    r1, r2 = kd.subset_random(d, 3, seed=1), kd.subset_random(d, 3, seed=1)
    assert r1.utt_ids() == r2.utt_ids() and len(r1) == 3
    assert kd.subset_list(d, ["u5", "u1"]).utt_ids() == ["u1", "u5"]
    parts = kd.split(d, 4)
    assert [len(p) for p in parts] == [2, 1, 1, 2]
    assert sum((p.utt_ids() for p in parts), []) == sorted(d.utt_ids())
    other = kd.DataDir.load(make_dir(tmp_path, "e", 2))
    with pytest.raises(ValueError, match="duplicate"):
        kd.combine([d, other])
    other = kd.subset_list(d, ["u0"])
    renamed = kd.speed_perturb(other, [0.9])
    both = kd.combine([d, renamed])
    assert len(both) == 7 and "sp0.9-u0" in both.text


def test_speed_perturbed_copy_decodes_at_new_length(tmp_path):
    d = kd.DataDir.load(make_dir(tmp_path, n=1))
    sp = kd.speed_perturb(d, [0.9, 1.0, 1.1])
    assert sorted(sp.text) == ["sp0.9-u0", "sp1.1-u0", "u0"]
    assert sp.utt2spk["sp0.9-u0"] == "sp0.9-s0"
    out = tmp_path / "sp"
    sp.save(str(out))
    assert kd.validate(str(out)) == []
    orig = load_audio(sp.wav["u0"])[0]
    slow = load_audio(sp.wav["sp0.9-u0"])[0]
    fast = load_audio(sp.wav["sp1.1-u0"])[0]
    assert abs(len(slow) - len(orig) / 0.9) <= 2 and abs(len(fast) - len(orig) / 1.1) <= 2
    assert np.abs(slow).max() > 1000


def test_segments_select_and_perturb(tmp_path):
    d = kd.DataDir(wav=OrderedDict(rec="r.wav", rec2="r2.wav"),
                   text=OrderedDict(a="一", b="二", c="三"),
                   utt2spk=OrderedDict(a="a", b="b", c="c"),
                   segments=OrderedDict(a=("rec", 0.0, 1.0), b=("rec", 1.0, 2.5),
                                        c=("rec2", 0.0, 1.0)))
    sel = d.select(["a", "b"])
    assert list(sel.wav) == ["rec"]
    sp = kd.speed_perturb(sel, [1.1])
    assert sp.segments["sp1.1-b"] == ("sp1.1-rec", pytest.approx(1 / 1.1), pytest.approx(2.5 / 1.1))
    sp.save(str(tmp_path / "seg"))
    assert "sp1.1-b sp1.1-rec 0.909 2.273" in (tmp_path / "seg" / "segments").read_text()


def test_shell_wrappers(tmp_path):
    path = make_dir(tmp_path)
    utils = REPO / "utils"
    ok = subprocess.run([str(utils / "validate_data_dir.sh"), path], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    subprocess.run([str(utils / "split_data.sh"), path, "3"], check=True, capture_output=True)
    assert kd.validate(f"{path}/split3/2") == []
    subprocess.run([str(utils / "subset_data_dir.sh"), "--first", "2", path, str(tmp_path / "s")],
                   check=True, capture_output=True)
    assert len(kd.DataDir.load(str(tmp_path / "s"))) == 2
    (tmp_path / "d" / "text").write_text("u0 x\n")
    bad = subprocess.run([str(utils / "validate_data_dir.sh"), path], capture_output=True, text=True)
    assert bad.returncode == 1 and "text lacks 5 utterances" in bad.stderr
    subprocess.run([str(utils / "fix_data_dir.sh"), path], check=True, capture_output=True)
    assert kd.validate(path) == []


def test_parse_options(tmp_path):
    script = tmp_path / "s.sh"
    script.write_text(f"stage=0\nstop_stage=2\ntrain_overrides=\n. {REPO}/utils/parse_options.sh\n"
                      'echo "$stage|$stop_stage|$train_overrides|$*"\n')
    out = subprocess.run(["bash", str(script), "--stage", "3", "--stop-stage=5",
                          "--train_overrides", "a=1 b=2", "rest"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "3|5|a=1 b=2|rest"
    bad = subprocess.run(["bash", str(script), "--nope", "1"], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown option --nope" in bad.stderr


def test_validate_and_stage_1_see_missing_and_truncated_arks(tmp_path, caplog):
    """A killed feature job leaves arks shorter than feats.scp says; a deleted one leaves
    none. validate names them, stage 1 recomputes instead of skipping, and CMVN names the
    file instead of failing inside numpy."""
    import logging
    import os

    from fireredasr.data.feature_extraction import (compute_cmvn_stats, compute_fbank_dir,
                                                    features_complete)

    path = make_dir(tmp_path, n=4)
    compute_fbank_dir(path, nj=2)
    assert kd.validate(path) == [] and features_complete(path)
    arks = sorted((tmp_path / "d" / "fbank").glob("*.ark"))
    size = arks[-1].stat().st_size
    with open(arks[-1], "r+b") as f:
        f.truncate(size - 100)
    problems = kd.validate(path)
    assert len(problems) == 1 and "truncated" in problems[0] and str(arks[-1]) in problems[0]
    with pytest.raises(RuntimeError, match="truncated"):
        compute_cmvn_stats(path)
    os.remove(arks[0])
    assert any("missing" in p and str(arks[0]) in p for p in kd.validate(path))
    with caplog.at_level(logging.WARNING):
        assert not features_complete(path)
    assert "computing the features again" in caplog.text
    compute_fbank_dir(path, nj=2)
    assert kd.validate(path) == [] and features_complete(path)
    proc = subprocess.run(["bash", str(REPO / "utils" / "validate_data_dir.sh"), path],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    arks[0].unlink()
    proc = subprocess.run(["bash", str(REPO / "utils" / "validate_data_dir.sh"), path],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "missing" in proc.stderr
