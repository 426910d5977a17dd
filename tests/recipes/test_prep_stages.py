"""Stages 0-2 of each corpus recipe, end to end, on tiny fakes in the exact release layouts."""
import io
import os
import subprocess
import tarfile
from pathlib import Path

import kaldiio
import numpy as np

from fireredasr.data.cmvn import GlobalCMVN
from fireredasr.data.frontend import Frontend
from fireredasr.data.kaldi_dir import DataDir, validate
from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.text_norm import is_cjk
from tests.conftest import REPO
from tests import fake_corpora as fake


def run_recipe(corpus: str, *args: str) -> subprocess.CompletedProcess:
    """Run a recipe; without --exp its experiment folder goes next to --data, not into the
    repository."""
    if "--exp" not in args and "--data" in args:
        args = (*args, "--exp", args[args.index("--data") + 1] + "_exp")
    proc = subprocess.run(["bash", str(REPO / "recipes" / corpus / "run.sh"), *args],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def unpack_fake_aishell(tmp_path: Path) -> Path:
    """The fake AISHELL-1 release, unpacked like local/download_aishell.py leaves it."""
    for data_bytes in fake.make_aishell1_archives(tmp_path / "src").values():
        with tarfile.open(fileobj=io.BytesIO(data_bytes)) as t:
            t.extractall(tmp_path / "corpus")
    corpus = tmp_path / "corpus" / "data_aishell"
    for spk_archive in (corpus / "wav").glob("*.tar.gz"):
        with tarfile.open(spk_archive) as t:
            t.extractall(corpus / "wav")
    return corpus


def check_sets(data: Path, sets, lang=True):
    for s in sets:
        assert validate(str(data / s)) == [], s
    if lang:
        tok = ChineseCharEnglishSpmTokenizer.from_files(str(data / "lang" / "dict.txt"),
                                                       str(data / "lang" / "bpe.model"))
        train_chars = set("".join(DataDir.load(str(data / sets[0])).text.values()))
        for s in sets:
            for _, text in DataDir.load(str(data / s)).text.items():
                _, ids = tok.tokenize(text)
                unseen = {c for c in text if is_cjk(c) and c not in train_chars}
                # A Chinese character is <unk> exactly when the training text lacks it.
                assert (tok.dict.unk_id in ids) == bool(unseen), (s, text, unseen)
                if not unseen:
                    assert tok.detokenize(ids).replace(" ", "") == text.replace(" ", "")


def test_aishell_recipe(tmp_path):
    corpus = unpack_fake_aishell(tmp_path)
    data = tmp_path / "data"
    proc = run_recipe("aishell", "--aishell_dir", str(corpus), "--data", str(data), "--nj", "2")
    err = proc.stderr
    # Every kind of bad entry is counted with its reason.
    assert "audio without transcript" in err
    assert "1 transcript lines have no audio" in err
    assert "unreadable audio" in err
    assert "published split has" in err  # counts differ from the real corpus: warned
    check_sets(data, ["train", "dev", "test"])
    train = DataDir.load(str(data / "train"))
    assert sorted(train.text) == ["BAC009S0002W0122", "BAC009S0002W0123",
                                  "BAC009S0003W0121", "BAC009S0003W0124"]
    assert train.text["BAC009S0002W0122"] == "而对楼市成交抑制作用最大的限购"
    assert train.text["BAC009S0003W0124"] == "OK 我们用 IPHONE 来说"
    assert (data / "train" / "cmvn.ark").is_file()
    # Re-running skips finished work.
    again = run_recipe("aishell", "--aishell_dir", str(corpus), "--data", str(data),
                       "--stage", "1")
    assert "features complete, skipped" in again.stderr and "complete, skipped" in again.stderr


def test_aishell_recipe_stored_features_equal_the_frontend(tmp_path):
    """The feature stage and the inference front end give the same features."""
    corpus = unpack_fake_aishell(tmp_path)
    data = tmp_path / "data"
    run_recipe("aishell", "--aishell_dir", str(corpus), "--data", str(data), "--stop_stage", "1")
    d = DataDir.load(str(data / "test"))
    raw = Frontend(None)
    cmvn = GlobalCMVN.from_file(str(data / "train" / "cmvn.ark"))
    with_cmvn = Frontend(cmvn)
    for utt, loc in d.feats.items():
        stored = kaldiio.load_mat(loc)
        np.testing.assert_array_equal(stored, raw.load(d.wav[utt])[0].numpy())
        np.testing.assert_allclose(cmvn(stored).astype(np.float32),
                                   with_cmvn.load(d.wav[utt])[0].numpy(), rtol=0, atol=1e-6)
        assert int(d.utt2num_frames[utt]) == stored.shape[0]


def test_aishell2_recipe(tmp_path):
    src = fake.make_aishell2(tmp_path / "src")
    data = tmp_path / "data"
    proc = run_recipe("aishell2", "--train_dir", str(src["train_dir"]), "--dev_test_dir",
                      str(src["dev_test_dir"]), "--data", str(data))
    for reason in ("audio file missing", "transcript without audio", "empty transcript"):
        assert reason in proc.stderr
    sets = ["train"] + [f"{p}_{c}" for c in ("ios", "android", "mic") for p in ("dev", "test")]
    check_sets(data, sets)
    assert sorted(DataDir.load(str(data / "train")).text) == ["IC0001W0001", "IC0001W0002",
                                                              "IC0002W0001"]
    assert DataDir.load(str(data / "train")).utt2spk["IC0002W0001"] == "C0002"


def test_wenetspeech_recipe(tmp_path):
    corpus = fake.make_wenetspeech(tmp_path / "src")
    data = tmp_path / "data"
    proc = run_recipe("wenetspeech", "--corpus_dir", str(corpus), "--data", str(data),
                      "--train_subset", "M", "--cmvn_num_utts", "2")
    assert "audio file missing" not in proc.stderr  # the missing file is only in L
    check_sets(data, ["train_m", "dev", "test_net", "test_meeting"])
    train = DataDir.load(str(data / "train_m"))
    assert sorted(train.text) == ["Y0000000001_train_S00000", "Y0000000001_train_S00001"]
    assert train.segments["Y0000000001_train_S00001"] == ("Y0000000001_train", 1.5, 3.2)
    assert (data / "train_m" / "cmvn.ark").is_file()
    # On-the-fly mode stores no features.
    assert not (data / "train_m" / "feats.scp").exists()
    # Subset L also sees the empty transcript and the missing opus file.
    proc = subprocess.run(["bash", str(REPO / "recipes/wenetspeech/run.sh"), "--corpus_dir",
                           str(corpus), "--data", str(tmp_path / "data_l"), "--stop_stage", "0"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "empty transcript" in proc.stderr and "audio file missing" in proc.stderr
    assert validate(str(tmp_path / "data_l" / "train_l")) == []


def test_wenetspeech_opus_segments_decode(tmp_path):
    """Segments of an opus recording decode through the front end (soundfile's Ogg Opus)."""
    corpus = fake.make_wenetspeech(tmp_path / "src")
    data = tmp_path / "data"
    run_recipe("wenetspeech", "--corpus_dir", str(corpus), "--data", str(data),
               "--train_subset", "S", "--stop_stage", "1", "--feat_mode", "ark")
    d = DataDir.load(str(data / "test_net"))
    (utt,) = d.feats
    feats = kaldiio.load_mat(d.feats[utt])
    assert abs(feats.shape[0] - 178) <= 2  # 1.80 s of speech after a 0.5 s lead-in


def test_kespeech_recipe(tmp_path):
    corpus = fake.make_kespeech(tmp_path / "src")
    data = tmp_path / "data"
    run_recipe("kespeech", "--corpus_dir", str(corpus), "--data", str(data))
    check_sets(data, ["train", "test"])
    train = DataDir.load(str(data / "train"))
    assert len(train) == 3
    assert train.extra["utt2subdialect"]["1000002_a1"] == "Southwestern"
    assert train.text["1000001_a1"] == "今天天气很好"  # <SPOKEN_NOISE> removed
    test = DataDir.load(str(data / "test"))
    assert set(test.extra["utt2subdialect"].values()) == {"Southwestern", "Beijing"}


def test_recipe_help_lists_the_stages_and_every_option_with_its_default():
    proc = subprocess.run(["bash", str(REPO / "recipes/librispeech/run.sh"), "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("LibriSpeech recipe") and any("0  download" in x for x in lines)
    options = {x.split()[0]: x for x in lines if x.startswith("  --")}
    # The recipe's own options, the shared ones of recipes/asr.sh, the recipe's default winning.
    assert "--nj" in options and "--librispeech_dir" in options
    assert options["--bpe_vocab_size"].split()[1] == "5000"
    assert "parallel jobs" in options["--nj"]
    # The stage table lives in recipes/asr.sh, whose --help prints it.
    shared = subprocess.run(["bash", str(REPO / "recipes/asr.sh"), "--help"],
                            capture_output=True, text=True)
    assert shared.returncode == 0, shared.stderr
    stages = [x.split()[0] for x in shared.stdout.splitlines() if x[:4].strip().isdigit()]
    assert stages == [str(s) for s in range(1, 13)], stages


def test_recipe_rejects_unknown_option(tmp_path):
    proc = subprocess.run(["bash", str(REPO / "recipes/aishell/run.sh"), "--no_such_thing", "1"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "unknown option --no_such_thing" in proc.stderr


def test_aishell_recipe_trains_exports_decodes_and_scores(tmp_path, ref_llm_dir):
    """Stages 0-7 and 12 of a recipe, end to end, with a tiny model (2 CPU processes)."""
    corpus = unpack_fake_aishell(tmp_path)
    overrides = ("model.n_layers_enc=1 model.n_layers_dec=1 model.d_model=64 model.n_head=2 "
                 "model.kernel_size=7 trainer.max_steps=6 trainer.save_every=2 "
                 "trainer.log_every=1 data.num_workers=0 data.max_frames_per_batch=400 "
                 "scheduler.warmup_steps=2 trainer.progress_bar=False")
    exp = tmp_path / "exp"
    proc = run_recipe("aishell", "--aishell_dir", str(corpus), "--data", str(tmp_path / "data"),
                      "--exp", str(exp), "--nj", "2", "--stop_stage", "7",
                      "--train_overrides", overrides, "--average_num", "2",
                      "--master_port", "29671")
    assert (exp / "aed" / "model" / "model.pth.tar").is_file()
    assert "2 process(es)" in (exp / "aed" / "train.log").read_text()
    wer = exp / "aed" / "decode_test" / "wer.json"
    assert wer.is_file(), proc.stderr[-2000:]
    # Stages 8-11: LoRA training on the reference tiny Qwen2, with the AED just trained as the
    # encoder, export, and decoding with the exported LLM folder.
    llm_overrides = ("model.lora_r=4 trainer.max_steps=3 trainer.save_every=3 "
                     "trainer.log_every=1 data.num_workers=0 data.max_frames_per_batch=400 "
                     "scheduler.warmup_steps=1 scheduler.total_steps=10 trainer.progress_bar=False")
    run_recipe("aishell", "--data", str(tmp_path / "data"), "--exp", str(exp), "--nj", "2",
               "--stage", "8", "--stop_stage", "11", "--master_port", "29672",
               "--llm_base_dir", str(ref_llm_dir / "Qwen2-7B-Instruct"), "--llm_train_overrides",
               llm_overrides, "--average_num", "1", "--decode_overrides", "--decode_max_len 3")
    assert (exp / "llm" / "model" / "model.pth.tar").is_file()
    assert (exp / "llm" / "decode_test" / "wer.json").is_file()
    run_recipe("aishell", "--data", str(tmp_path / "data"), "--exp", str(exp),
               "--stage", "12", "--stop_stage", "12")
    table = (exp / "RESULTS.md").read_text()
    assert "| aed |" in table and "| llm |" in table
