"""Stage 0 on miniature releases in the corpora's real layouts, with the flaws real copies have.

Layout facts and where they come from:
- AISHELL-1 (OpenSLR 33): ``data_aishell/transcript/aishell_transcript_v0.8.txt`` with
  ``utt word word ...`` lines and ``data_aishell/wav/{train,dev,test}/SPK/UTT.wav``
  (the release's README; Kaldi egs/aishell/s5/local/aishell_data_prep.sh).
- AISHELL-2: ``iOS/data/{wav.scp,trans.txt,wav/}`` with tab-separated lines; the dev/test
  sets ship as ``AISHELL-DEV-TEST-SET/{iOS,Android,Mic}/{dev,test}.tar.gz`` whose members
  are ``<part>/{wav.scp,trans.txt,wav/...}`` (Kaldi egs/aishell2/s5/local/prepare_data.sh;
  WeNet examples/aishell2). Transcripts hold quote marks, brackets, full-width letters and
  rare variants such as 𫖯 (WeNet examples/multi_cn/s0/local/aishell2_data_prep.sh and
  lhotse recipes/aishell2.py clean them; lhotse's docstring lists the quoted lines).
- WenetSpeech: ``WenetSpeech.json`` with ``audios[].path`` relative to the corpus folder
  and ``segments[].subsets`` tags S, M, L, W, DEV, TEST_NET, TEST_MEETING (WenetSpeech
  README, "metadata" section).
"""
import os
import shutil
import subprocess
import sys
import tarfile

from fireredasr.data.kaldi_dir import DataDir, read_map, validate
from tests import fake_corpora as fake
from tests.conftest import REPO
from tests.recipes.test_prep_stages import unpack_fake_aishell


def run_local(script, *args, cwd=REPO, ok=True):
    proc = subprocess.run([sys.executable, str(REPO / "local" / script), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    if ok:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


# ---- AISHELL-1 transcript flaws (issue: no silent losses) ----------------------------------


def test_aishell_transcript_repeats_bad_bytes_and_bom_are_counted(tmp_path):
    corpus = unpack_fake_aishell(tmp_path)
    transcript = corpus / "transcript" / "aishell_transcript_v0.8.txt"
    lines = transcript.read_bytes().splitlines()
    first_utt = lines[0].split()[0].decode()
    dup = lines[1].split()[0] + " 重复 的 一行".encode()
    bad = b"BAC009S0002W0999 " + "编码 错误".encode("gbk")
    transcript.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines[:2] + [dup, bad] + lines[2:]) + b"\n")
    proc = run_local("prepare_aishell.py", str(corpus), str(tmp_path / "data"))
    err = proc.stderr
    assert "id repeated in aishell_transcript_v0.8.txt (first line kept)" in err
    assert "aishell_transcript_v0.8.txt line not valid UTF-8" in err
    assert "aishell_transcript_v0.8.txt:4" in err  # the bad line is named
    all_text = {}
    for part in ("train", "dev", "test"):
        all_text.update(DataDir.load(str(tmp_path / "data" / part)).text)
    assert first_utt in all_text  # the BOM did not hide the first utterance
    repeated = lines[1].split()[0].decode()
    assert all_text[repeated] != "重复的一行"  # the first line won


# ---- AISHELL-2 ------------------------------------------------------------------------------


def _aishell2_with_flawed_text(tmp_path):
    src = fake.make_aishell2(tmp_path / "src")
    trans = src["train_dir"] / "trans.txt"
    text = trans.read_text(encoding="utf-8")
    text = text.replace("IC0001W0001\t厨房用具", "IC0001W0001\t搬不走的要及时'关停并转'")
    text = text.replace("IC0001W0002\t电蒸锅", "IC0001W0002\tＡ股市场（上证）iPhone销量")
    text = text.replace("IC0002W0001\t换一首英文歌 HELLO", "IC0002W0001\t赵孟𫖯的书法 it's")
    trans.write_text(text, encoding="utf-8")
    return src


def test_aishell2_transcripts_are_cleaned_like_the_established_recipes(tmp_path):
    src = _aishell2_with_flawed_text(tmp_path)
    proc = run_local("prepare_aishell2.py", "--train_dir", str(src["train_dir"]),
                     "--out_dir", str(tmp_path / "data"))
    text = DataDir.load(str(tmp_path / "data" / "train")).text
    assert text["IC0001W0001"] == "搬不走的要及时关停并转"
    assert text["IC0001W0002"] == "A 股市场上证 IPHONE 销量"
    assert text["IC0002W0001"] == "赵孟頫的书法 IT'S"
    assert "transcripts rewritten: punctuation removed" in proc.stderr
    assert "transcripts rewritten: variant 𫖯 -> 頫" in proc.stderr


def test_aishell2_shipped_dev_test_archives_are_unpacked(tmp_path):
    src = fake.make_aishell2(tmp_path / "src")
    dev_test = src["dev_test_dir"]
    for ch in ("iOS", "Android", "Mic"):  # as shipped: <part>.tar.gz with <part>/ inside
        for part in ("dev", "test"):
            with tarfile.open(dev_test / ch / f"{part}.tar.gz", "w:gz") as tar:
                tar.add(dev_test / ch / part, arcname=part)
            shutil.rmtree(dev_test / ch / part)
    out = tmp_path / "data"
    run_local("prepare_aishell2.py", "--dev_test_dir", str(dev_test), "--out_dir", str(out))
    for s in ("dev_ios", "test_ios", "dev_android", "test_mic"):
        assert validate(str(out / s)) == [], s
    wav = DataDir.load(str(out / "test_ios")).wav
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in wav.values())


def test_aishell2_missing_dev_set_stops_stage_0(tmp_path):
    src = fake.make_aishell2(tmp_path / "src")
    shutil.rmtree(src["dev_test_dir"] / "Mic" / "dev")
    proc = run_local("prepare_aishell2.py", "--dev_test_dir", str(src["dev_test_dir"]),
                     "--out_dir", str(tmp_path / "data"), ok=False)
    assert proc.returncode == 1
    assert "no Mic dev set" in proc.stderr and "--channels" in proc.stderr
    proc = run_local("prepare_aishell2.py", "--dev_test_dir", str(src["dev_test_dir"]),
                     "--channels", "iOS", "Android", "--out_dir", str(tmp_path / "data"))


# ---- WenetSpeech ----------------------------------------------------------------------------


def test_wenetspeech_relative_corpus_dir_gives_data_dirs_usable_anywhere(tmp_path):
    fake.make_wenetspeech(tmp_path / "src")
    run_local("prepare_wenetspeech.py", "--corpus_dir", "WenetSpeech", "--out_dir",
              str(tmp_path / "data"), "--train_subset", "S", cwd=tmp_path / "src")
    wav = read_map(str(tmp_path / "data" / "test_net" / "wav.scp"))
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in wav.values())
    # Stage 1 from another directory reads every segment.
    other = tmp_path / "elsewhere"
    other.mkdir()
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.compute_fbank",
                           str(tmp_path / "data" / "test_net")], capture_output=True, text=True,
                          cwd=other, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert validate(str(tmp_path / "data" / "test_net")) == []


def test_wenetspeech_unknown_subset_tags_are_named(tmp_path):
    corpus = fake.make_wenetspeech(tmp_path / "src")
    meta = corpus / "WenetSpeech.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"M"', '"MEDIUM"'),
                    encoding="utf-8")
    proc = run_local("prepare_wenetspeech.py", "--corpus_dir", str(corpus), "--out_dir",
                     str(tmp_path / "data"), "--train_subset", "M", ok=False)
    assert proc.returncode == 1
    assert "train_m: no usable segments" in proc.stderr
    assert "MEDIUM (2 segments)" in proc.stderr
    assert "subset tags this script does not know were left out: MEDIUM" in proc.stderr


def test_wenetspeech_recipe_passes_no_check_files(tmp_path):
    corpus = fake.make_wenetspeech(tmp_path / "src")
    proc = subprocess.run(["bash", str(REPO / "recipes/wenetspeech/run.sh"), "--corpus_dir",
                           str(corpus), "--data", str(tmp_path / "data"), "--stop_stage", "0",
                           "--check_files", "false"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The missing opus file is not looked for, so its segment stays in L.
    assert "audio file missing" not in proc.stderr
    assert "Y0000000003_missing_S00000" in DataDir.load(str(tmp_path / "data" / "train_l")).text


def test_missing_audio_at_stage_1_is_reported_as_missing(tmp_path):
    data = fake.real_examples_dir(tmp_path / "d", extra_wavs={"zz_gone": str(tmp_path / "gone.wav")})
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.compute_fbank", data],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "audio file missing" in proc.stderr and "System error" not in proc.stderr
