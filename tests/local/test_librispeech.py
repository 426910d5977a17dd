"""LibriSpeech: the download (md5, resume, file:// mirror), the data dirs, and the recipe's
stages 0-7 and 12 with a tiny model on a miniature tree in the release layout."""
import hashlib
import json
import subprocess
import sys

import pytest

from fireredasr.data.kaldi_dir import DataDir, validate
from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.text_norm import is_cjk
from tests import fake_corpora as fake
from tests.conftest import REPO
from tests.local.http_server import FileServer
from tests.recipes.test_prep_stages import run_recipe

SUBSETS = ["train-clean-100", "dev-clean", "test-clean", "test-other"]


def md5_args(archives):
    return [a for name, b in archives.items()
            for a in ("--md5", name[:-len(".tar.gz")], hashlib.md5(b).hexdigest())]


def run_download(dest, base_url, *extra):
    return subprocess.run([sys.executable, str(REPO / "local" / "download_librispeech.py"),
                           "--dest", str(dest), "--base_url", base_url, *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    return fake.make_librispeech_archives(tmp_path_factory.mktemp("librispeech_src"))


def test_download_resumes_and_checks_md5(tmp_path, archives):
    with FileServer(archives) as srv:
        srv.cut_once.add("dev-clean.tar.gz")
        proc = run_download(tmp_path, srv.url, "--subsets", *SUBSETS, *md5_args(archives))
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr
    for utt, (subset, _) in fake.LIBRISPEECH_UTTS.items():
        spk, chapter, _ = utt.split("-")
        assert (tmp_path / "LibriSpeech" / subset / spk / chapter / f"{utt}.flac").is_file()


def test_download_from_a_file_mirror(tmp_path, archives):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, data in archives.items():
        (mirror / name).write_bytes(data)
    dest = tmp_path / "dest"
    dest.mkdir()
    # A half-finished download is completed (file:// cannot resume: it starts over) and
    # its md5 checked.
    (dest / "test-clean.tar.gz.part").write_bytes(archives["test-clean.tar.gz"][:100])
    proc = run_download(dest, mirror.as_uri(), "--subsets", "test-clean", *md5_args(archives))
    assert proc.returncode == 0, proc.stderr
    assert (dest / "test-clean.tar.gz").read_bytes() == archives["test-clean.tar.gz"]
    assert (dest / "LibriSpeech" / "test-clean").is_dir()
    # A wrong checksum (the real one, for the fake archive) stops before unpacking.
    fresh = tmp_path / "fresh"
    proc = run_download(fresh, mirror.as_uri(), "--subsets", "test-other")
    assert proc.returncode == 1 and "does not match" in proc.stderr
    assert not (fresh / "LibriSpeech").exists()
    proc = run_download(fresh, mirror.as_uri(), "--subsets", "test-cleen")
    assert proc.returncode == 1 and "unknown LibriSpeech subsets ['test-cleen']" in proc.stderr


def test_prepare_counts_every_skip(tmp_path):
    corpus = fake.make_librispeech(tmp_path)
    proc = subprocess.run([sys.executable, str(REPO / "local" / "prepare_librispeech.py"),
                           str(corpus), str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "audio without transcript (e.g. 1034-121119-0001)" in proc.stderr
    assert "audio file missing (e.g. 1089-134686-0002)" in proc.stderr
    for subset in SUBSETS:
        assert validate(str(tmp_path / "data" / subset.replace("-", "_"))) == []
    dev = DataDir.load(str(tmp_path / "data" / "dev_clean"))
    assert dev.text["2277-149896-0001"] == "THE STUDENTS' BOOKS WERE ON THE TABLE"
    assert dev.utt2spk["2277-149896-0001"] == "2277"
    proc = subprocess.run([sys.executable, str(REPO / "local" / "prepare_librispeech.py"),
                           str(tmp_path / "nowhere"), str(tmp_path / "data2")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "no LibriSpeech subset folder" in proc.stderr


def test_recipe_stages_0_to_7_and_12(tmp_path):
    corpus = fake.make_librispeech(tmp_path / "src")
    data, exp = tmp_path / "data", tmp_path / "exp"
    overrides = ("model.n_layers_enc=1 model.n_layers_dec=1 model.d_model=64 model.n_head=2 "
                 "model.kernel_size=7 trainer.max_steps=4 trainer.save_every=2 "
                 "trainer.log_every=1 data.num_workers=0 data.max_frames_per_batch=400 "
                 "scheduler.warmup_steps=2 trainer.progress_bar=False")
    common = ["--librispeech_dir", str(corpus), "--data", str(data), "--exp", str(exp),
              "--nj", "2", "--subsets", "train-clean-100 dev-clean test-clean test-other"]
    run_recipe("librispeech", *common, "--stop_stage", "7", "--bpe_vocab_size", "60",
               "--train_overrides", overrides, "--average_num", "2", "--master_port", "29691",
               "--decode_overrides", "--decode_max_len 4")
    for s in ("train_clean_100", "dev_clean", "test_clean", "test_other"):
        assert validate(str(data / s)) == [], s
        assert (data / s / "feats.scp").is_file()
    assert (data / "train_clean_100" / "cmvn.ark").is_file()
    # Stage 2: an English-only dictionary, BPE pieces and the special tokens, read by the
    # same mixed tokenizer.
    tok = ChineseCharEnglishSpmTokenizer.from_files(str(data / "lang" / "dict.txt"),
                                                   str(data / "lang" / "bpe.model"))
    assert not any(is_cjk(t) for t in tok.dict.id2token if len(t) == 1)
    tokens, ids = tok.tokenize("IT'S A GOOD THING")
    assert tok.dict.unk_id not in ids and tok.detokenize(ids) == "IT'S A GOOD THING"
    assert list((exp / "aed" / "checkpoints").iterdir()), "no checkpoints"
    assert (exp / "aed" / "model" / "model.pth.tar").is_file()
    for s, column in (("test_clean", "librispeech_clean"), ("test_other", "librispeech_other")):
        res = json.loads((exp / "aed" / f"decode_{s}" / "wer.json").read_text())
        assert res["metric"] == "WER" and res["test_set"] == column
        assert (exp / "aed" / f"decode_{s}" / "hyp").is_file()
        assert "WER" in (exp / "aed" / f"decode_{s}" / "wer").read_text()
    run_recipe("librispeech", *common, "--stage", "12", "--stop_stage", "12")
    table = (exp / "RESULTS.md").read_text()
    assert "LibriSpeech test-clean (WER)" in table and "| aed |" in table
    assert "| 1.93 | 4.44 |" in table   # the published AED row beside ours
