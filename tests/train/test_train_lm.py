"""External LSTM LM training on the shared trainer: real DeepSpeed on CPU (2 processes), resume,
export to the released elm/ layout, and a clear error for a dictionary it cannot use."""
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fireredasr.data.processor import collate_tokens
from fireredasr.models.checkpoint import load_elm
from fireredasr.tokenizer.build import build_tokenizer
from fireredasr.train.aed_task import load_tokenizer
from tests.conftest import REPO

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
SENTENCES = ["今天天气很好", "我们去公园散步", "明天上海下雨", "你好世界", "换一首歌听听",
             "好的没有问题", "一二三四五六", "开会的时间到了"]


@pytest.fixture(scope="module")
def text_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm_data")
    for name, sents in (("train", SENTENCES * 4), ("dev", SENTENCES[:3])):
        (root / name).mkdir()
        (root / name / "text").write_text(
            "".join(f"{name}{i:03d} {s}\n" for i, s in enumerate(sents)), encoding="utf-8")
    (root / "extra.txt").write_text("天气很好我们去公园\n\n", encoding="utf-8")
    build_tokenizer(SENTENCES + ["天气很好我们去公园"], str(root / "lang"), bpe_vocab_size=30)
    return root


def _train(root, exp, port, *extra, nproc=2):
    launcher = ([str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", str(nproc),
                 "--master_port", str(port)] if nproc > 1 else [sys.executable])
    cmd = [*launcher, "-m", "fireredasr.bin.train_lm",
           f"data.train_dir={root / 'train'}", f"data.valid_dir={root / 'dev'}",
           f"data.lang_dir={root / 'lang'}", f"data.extra_text=[{root / 'extra.txt'}]",
           f"exp_dir={exp}", "model.embedding_dim=32", "model.hidden_size=32",
           "data.max_frames_per_batch=60", "data.num_workers=0", "optim.lr=1e-2",
           "scheduler.warmup_steps=5", "scheduler.total_steps=200", "trainer.log_every=5",
           "trainer.valid_every=0", "trainer.save_every=10", "trainer.progress_bar=false",
           *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)


def _sentence_logprob(lm, tokenizer, text):
    ids = tokenizer.tokenize(text)[1]
    batch = collate_tokens([ids], 3, 4, 2)
    with torch.no_grad():
        logits, _ = lm(batch["ys_in"])
    lp = logits.log_softmax(-1)[0]
    return sum(float(lp[k, t]) for k, t in enumerate(batch["ys_out"][0].tolist()))


def test_lm_trains_resumes_and_exports_the_released_layout(text_data, tmp_path):
    exp = tmp_path / "exp"
    res = _train(text_data, exp, 29721, "trainer.max_steps=20")
    assert res.returncode == 0, res.stderr[-3000:]
    log = (exp / "train.log").read_text()
    assert "2 process(es)" in log and "train (" in log
    assert "1 skipped" in log or "empty text" in log  # the blank line of extra.txt is counted
    # Re-running with a larger budget resumes at step 20 instead of starting again.
    res = _train(text_data, exp, 29722, "trainer.max_steps=60")
    assert res.returncode == 0, res.stderr[-3000:]
    log = (exp / "train.log").read_text()
    assert "resumed" in log.lower() or "resuming" in log.lower(), log[-2000:]
    steps = [int(s) for s in __import__("re").findall(r"step (\d+): loss", log)]
    assert steps and max(steps) == 60 and 5 not in steps[steps.index(20) + 1:]

    from fireredasr.bin.export_lm import main as export_main

    assert export_main(["--exp_dir", str(exp), "--num", "2"]) == 0
    lm = load_elm(str(exp / "elm"))
    tokenizer = load_tokenizer(str(text_data / "lang"))
    assert lm.vocab_size == len(tokenizer)
    assert lm.fc.weight.data_ptr() == lm.embedding.weight.data_ptr()  # tied, as released
    # It learnt the training sentences: each scores far above its own characters reversed.
    for s in SENTENCES[:4]:
        assert _sentence_logprob(lm, tokenizer, s) > _sentence_logprob(lm, tokenizer, s[::-1]) + 3


def test_lm_refuses_a_dictionary_with_other_special_ids(text_data, tmp_path):
    lang = tmp_path / "lang"
    lang.mkdir()
    lines = (text_data / "lang" / "dict.txt").read_text(encoding="utf-8").splitlines()
    lines[3], lines[5] = lines[5].split()[0] + " 3", lines[3].split()[0] + " 5"  # move <sos>
    (lang / "dict.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (lang / "bpe.model").write_bytes(
        (text_data / "lang" / "bpe.model").read_bytes())
    res = _train(text_data, tmp_path / "exp", 29723, "trainer.max_steps=2",
                 f"data.lang_dir={lang}", nproc=1)
    assert res.returncode == 1
    assert "the released LSTM LM fixes them at 3/4/2" in res.stderr
    assert "Traceback" not in res.stderr
