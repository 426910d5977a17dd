"""A tiny training set (real and synthetic audio) prepared through stages 1-2."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from fireredasr.data.feature_extraction import compute_cmvn_file, compute_fbank_dir
from fireredasr.data.kaldi_dir import DataDir
from fireredasr.tokenizer.build import build_tokenizer
from tests.conftest import REAL_EXAMPLES, REAL_UTTS
from tests.fake_corpora import REAL_TEXT, synth_audio, write_wav

SYNTH_TEXTS = ["今天天气很好", "我们去公园", "你好世界", "上海的天气", "换一首歌", "好的没问题",
               "开会了", "一二三四五"]


def make_train_data(root: Path, n_synth: int = 8) -> dict:
    """data/{train,dev} with fbank + CMVN and data/lang; returns the paths."""
    wav, text = OrderedDict(), OrderedDict()
    for u in REAL_UTTS[:3]:  # the 12 s meeting utterance is left out to keep steps cheap
        wav[u], text[u] = str(REAL_EXAMPLES / f"{u}.wav"), REAL_TEXT[u]
    for i in range(n_synth):
        u = f"synth{i:02d}"
        wav[u] = str(write_wav(root / "wav" / f"{u}.wav", synth_audio(0.8 + 0.1 * i, 100 + i)))
        text[u] = SYNTH_TEXTS[i % len(SYNTH_TEXTS)]
    train = DataDir(wav=wav, text=text, utt2spk=OrderedDict((u, u) for u in wav))
    train.save(str(root / "train"))
    dev_ids = list(wav)[:2] + list(wav)[-2:]
    train.select(dev_ids).save(str(root / "dev"))
    for name in ("train", "dev"):
        compute_fbank_dir(str(root / name))
    compute_cmvn_file(str(root / "train"), str(root / "train" / "cmvn.ark"))
    build_tokenizer(text.values(), str(root / "lang"), bpe_vocab_size=40)
    return {"train": root / "train", "dev": root / "dev", "lang": root / "lang",
            "cmvn": root / "train" / "cmvn.ark"}


def tiny_overrides(data: dict, exp_dir: Path, **extra) -> list:
    """Hydra overrides for a seconds-per-step CPU model on the tiny set."""
    o = {"data.train_dir": data["train"], "data.valid_dir": data["dev"],
         "data.lang_dir": data["lang"], "data.cmvn": data["cmvn"], "exp_dir": exp_dir,
         "model.n_layers_enc": 2, "model.n_layers_dec": 1, "model.d_model": 64,
         "model.n_head": 2, "model.kernel_size": 7, "data.max_frames_per_batch": 800,
         "data.num_workers": 0, "optim.lr": 2e-3, "scheduler.warmup_steps": 5,
         "trainer.log_every": 2, "trainer.valid_every": 0, "trainer.save_every": 5,
         "trainer.progress_bar": False}
    o.update(extra)
    return [f"{k}={v}" for k, v in o.items()]
