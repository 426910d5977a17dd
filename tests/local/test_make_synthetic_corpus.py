"""local/make_synthetic_corpus.py: data dirs, disjoint sets, byte-identical output, errors."""
import filecmp
import os
import subprocess
import sys

import soundfile as sf

from fireredasr.data.kaldi_dir import DataDir, validate
from tests.conftest import REPO

SCRIPT = str(REPO / "local" / "make_synthetic_corpus.py")


def make(out, *extra, env=None):
    return subprocess.run([sys.executable, SCRIPT, "--out_dir", str(out / "data"), "--wav_dir",
                           str(out / "wav"), "--num_train", "12", "--num_dev", "4",
                           "--num_test", "4", "--words_per_tag", "50", *extra],
                          capture_output=True, text=True, timeout=300, env=env)


def test_output_is_valid_and_byte_identical_for_a_seed(tmp_path):
    a, b = make(tmp_path / "a", "--nj", "2"), make(tmp_path / "b", "--nj", "1")
    assert a.returncode == 0 and b.returncode == 0, a.stderr[-2000:] + b.stderr[-2000:]
    for split, n in (("train", 12), ("dev", 4), ("test", 4)):
        path = tmp_path / "a" / "data" / split
        assert validate(str(path)) == []
        d = DataDir.load(str(path))
        assert len(d) == n
        for utt, wav in d.wav.items():
            info = sf.info(wav)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert utt.startswith(d.utt2spk[utt] + "-")
    texts = {s: set(DataDir.load(str(tmp_path / "a" / "data" / s)).text.values())
             for s in ("train", "dev", "test")}
    assert not texts["train"] & texts["test"] and not texts["dev"] & texts["test"]
    cmp = filecmp.dircmp(tmp_path / "a" / "wav", tmp_path / "b" / "wav")
    for split in ("train", "dev", "test"):
        names = sorted(os.listdir(tmp_path / "a" / "wav" / split))
        match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a" / "wav" / split,
                                                   tmp_path / "b" / "wav" / split, names,
                                                   shallow=False)
        assert not mismatch and not errors and len(match) == len(names)
    assert cmp.left_list == cmp.right_list
    other_seed = make(tmp_path / "c", "--seed", "2")
    assert other_seed.returncode == 0
    assert DataDir.load(str(tmp_path / "c" / "data" / "train")).text != \
        DataDir.load(str(tmp_path / "a" / "data" / "train")).text


def test_unusable_word_list_is_a_clear_message(tmp_path):
    bad = tmp_path / "words.txt"
    bad.write_text("这不是 一个词表\n", encoding="utf-8")
    proc = make(tmp_path / "x", "--word_list", str(bad))
    assert proc.returncode == 1 and "expected 'word frequency tag'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = make(tmp_path / "y", "--word_list", str(tmp_path / "missing.txt"))
    assert proc.returncode == 1 and "missing.txt" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_espeak_library_is_a_clear_message(tmp_path):
    fake = tmp_path / "fake" / "espeakng_loader"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "def get_library_path():\n    return '/nonexistent/libespeak-ng.so'\n"
        "def get_data_path():\n    return '/nonexistent/espeak-ng-data'\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "fake"))
    proc = make(tmp_path / "z", env=env)
    assert proc.returncode == 1
    assert "cannot load the espeak-ng library /nonexistent/libespeak-ng.so" in proc.stderr
    assert "Traceback" not in proc.stderr
