"""AED training with real DeepSpeed on CPU: ZeRO-2 with 2 processes, resume, overrides, export."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fireredasr.train.checkpoint import complete_checkpoints, fp32_state_dict
from tests.conftest import REAL_EXAMPLES, REPO
from tests.train_fixtures import make_train_data, tiny_overrides

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_train_data(tmp_path_factory.mktemp("train_data"))


def torchrun(overrides, port, nproc=2, log=None):
    """Start a torchrun job; its output goes to ``log`` (a file) or a pipe read by the caller."""
    cmd = [str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", str(nproc),
           "--master_port", str(port), "-m", "fireredasr.bin.train_aed", *overrides]
    return subprocess.Popen(cmd, stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=ENV, cwd=REPO)


def run_ok(overrides, port, nproc=2, timeout=600):
    proc = torchrun(overrides, port, nproc)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def test_zero2_two_processes_train_checkpoint_export_decode(data, tmp_path):
    exp = tmp_path / "exp"
    run_ok(tiny_overrides(data, exp, **{"trainer.max_steps": 16, "trainer.valid_every": 4}), 29611)
    log = (exp / "train.log").read_text()
    assert "2 process(es)" in log
    losses = [float(x) for x in re.findall(r"step \d+: loss ([\d.]+)", log)]
    assert len(losses) >= 4 and losses[-1] < losses[0] * 0.8, losses
    assert [s for s, _ in complete_checkpoints(str(exp / "checkpoints"))][-1] == 16
    events = EventAccumulator(str(next((exp / "tensorboard").iterdir()).parent)).Reload()
    assert {"train/loss", "train/lr", "train/grad_norm", "train/acc", "valid/loss",
            "train/audio_seconds_per_second"} <= set(events.Tags()["scalars"])
    cfg = yaml.safe_load((exp / "config.yaml").read_text())
    assert cfg["model"]["d_model"] == 64 and cfg["deepspeed"]["zero_optimization"]["stage"] == 2
    # Stage 4: average and export; the folder decodes through the inference API.
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.export_aed", "--exp_dir",
                           str(exp), "--num", "3"], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from fireredasr.models.fireredasr import FireRedAsr

    model = FireRedAsr.from_pretrained("aed", str(exp / "model"))
    (res,) = model.transcribe(["u"], [str(REAL_EXAMPLES / "IT0011W0001.wav")],
                              {"beam_size": 2, "decode_max_len": 10})
    assert res["uttid"] == "u"
    # The exported weights are the mean of the last three checkpoints, computed here by hand.
    tags = [t for _, t in complete_checkpoints(str(exp / "checkpoints"))][-3:]
    states = [fp32_state_dict(str(exp / "checkpoints"), t) for t in tags]
    exported = torch.load(exp / "model" / "model.pth.tar", map_location="cpu",
                          weights_only=False)["model_state_dict"]
    assert exported and set(exported) <= set(states[0])
    for k, v in exported.items():
        mean = sum(st[k].float() for st in states) / 3
        assert torch.allclose(v.float(), mean, atol=1e-6), k
    # model.init_from fine-tunes from an exported (or released) folder ...
    ft = tmp_path / "finetune"
    cmd = [sys.executable, "-m", "fireredasr.bin.train_aed",
           *tiny_overrides(data, ft, **{"trainer.max_steps": 1}), f"model.init_from={exp / 'model'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"initialised from {exp / 'model'}" in (ft / "train.log").read_text()
    # ... and refuses one that does not fit the configured model.
    cmd = [sys.executable, "-m", "fireredasr.bin.train_aed", *tiny_overrides(
        data, tmp_path / "bad_ft", **{"trainer.max_steps": 1, "model.d_model": 32}),
        f"model.init_from={exp / 'model'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode != 0 and "does not fit the configured model" in proc.stderr


def test_sigkill_and_rerun_resumes_exactly(data, tmp_path):
    # With the CTC head (joint CTC/attention, FireRedASR2): the superset of the v1 model.
    common = {"trainer.max_steps": 60, "trainer.save_every": 5, "trainer.deterministic": True,
              "model.ctc_weight": 0.3}
    ref_exp, exp = tmp_path / "uninterrupted", tmp_path / "killed"
    run_ok(tiny_overrides(data, ref_exp, **common), 29621)
    overrides = tiny_overrides(data, exp, **common)
    log = open(tmp_path / "killed.log", "w")  # a pipe nobody reads could block the job
    proc = torchrun(overrides, 29622, log=log)
    ckpts = exp / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline:
        done = complete_checkpoints(str(ckpts)) if ckpts.exists() else []
        if done and done[-1][0] >= 5:
            break
        assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        time.sleep(0.02)
    assert proc.poll() is None, "training ended before it could be killed"
    # torchrun starts its workers in sessions of their own: kill the whole tree.
    tree = psutil.Process(proc.pid)
    victims = [tree] + tree.children(recursive=True)
    for p in victims:
        p.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=30)
    proc.wait()
    killed_at = complete_checkpoints(str(ckpts))[-1][0]
    assert killed_at < 60
    # A save interrupted by a crash leaves a folder without the completion marker.
    (ckpts / "step_99999999").mkdir()
    (ckpts / "step_99999999" / "mp_rank_00_model_states.pt").write_bytes(b"half written")
    out = run_ok(overrides, 29623)
    assert f"resumed from {ckpts}/step_{killed_at:08d}" in out
    assert "ctc_loss" in out and "att_loss" in out
    a = fp32_state_dict(str(ref_exp / "checkpoints"), "step_00000060")
    b = fp32_state_dict(str(ckpts), "step_00000060")
    assert a.keys() == b.keys() and "ctc.ctc_lo.weight" in a
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_overrides_multirun_and_config_typos(data, tmp_path):
    base = tiny_overrides(data, tmp_path / "exp", **{"trainer.max_steps": 1})
    base = [o for o in base if not o.startswith(("exp_dir=", "model.n_layers_enc="))]
    cmd = [sys.executable, "-m", "fireredasr.bin.train_aed", "-m", *base,
           "model.n_layers_enc=1,2", "optim.lr=5e-4", f"exp_dir={tmp_path / 'sweep'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs = sorted(p for p in (tmp_path / "sweep_multirun").iterdir() if p.is_dir())
    assert len(runs) == 2
    layers = []
    for run in runs:
        cfg = yaml.safe_load((run / "config.yaml").read_text())
        layers.append(cfg["model"]["n_layers_enc"])
        assert cfg["optim"]["lr"] == 5e-4 and cfg["exp_dir"] == str(run)
        assert complete_checkpoints(str(run / "checkpoints"))
    assert layers == [1, 2]
    typo = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed",
                           "model.n_layer_enc=3", *base], capture_output=True, text=True,
                          env=ENV, cwd=REPO)
    assert typo.returncode != 0 and "n_layer_enc" in typo.stderr
    assert "Could not override 'model.n_layer_enc'" in typo.stderr
    missing = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed", *base,
                              f"data.train_dir={tmp_path / 'nope'}"],
                             capture_output=True, text=True, env=ENV, cwd=REPO)
    assert missing.returncode == 1 and f"data dir not found: {tmp_path / 'nope'}" in missing.stderr
    assert "Traceback" not in missing.stderr
    value = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed", *base,
                            "data.shard_by=utterances"], capture_output=True, text=True,
                           env=ENV, cwd=REPO)
    assert value.returncode == 1 and "unknown data.shard_by='utterances'" in value.stderr
    assert "Traceback" not in value.stderr


def test_bad_utterances_and_non_finite_batches_are_skipped(data, tmp_path):
    import kaldiio
    from fireredasr.data.kaldi_dir import DataDir

    d = DataDir.load(str(data["train"]))
    bad = tmp_path / "bad.ark"
    with kaldiio.WriteHelper(f"ark,scp:{bad},{tmp_path / 'bad.scp'}") as w:
        w("zz_nan", np.full((120, 80), np.nan, dtype=np.float32))
    d.feats["zz_nan"] = (tmp_path / "bad.scp").read_text().split()[1]
    d.feats["zz_missing"] = f"{tmp_path / 'missing.ark'}:10"
    for u, n in (("zz_nan", "120"), ("zz_missing", "100")):
        d.wav[u], d.text[u], d.utt2spk[u] = "/nonexistent.wav", "你好", u
        d.utt2num_frames[u] = n
    d.save(str(tmp_path / "train_bad"))
    exp = tmp_path / "exp"
    overrides = tiny_overrides(dict(data, train=tmp_path / "train_bad"), exp,
                               **{"trainer.max_steps": 20, "data.max_frames_per_batch": 130,
                                  "data.bucket_size": 1})
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed", *overrides],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    log = (exp / "train.log").read_text()
    assert "skipping utterance zz_missing" in proc.stderr
    assert "non-finite loss" in log and "no readable utterance" in log
    assert "training finished at step 20" in log


def test_deepspeed_launcher_auto_precision_and_fp16_message(data, tmp_path):
    exp = tmp_path / "exp"
    launcher = Path(sys.executable).parent / "deepspeed"
    env = dict(ENV, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.run([str(launcher), "--no_local_rank", "--num_gpus", "2", "--master_port",
                           "29631", "--module", "fireredasr.bin.train_aed",
                           *tiny_overrides(data, exp, **{"trainer.max_steps": 2,
                                                          "trainer.precision": "auto"})],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    log = (exp / "train.log").read_text()
    assert "2 process(es)" in log and "training finished at step 2" in log
    # auto is resolved once, logged, and the snapshot holds what the run trained in.
    chosen = yaml.safe_load((exp / "config.yaml").read_text())["trainer"]["precision"]
    assert chosen in ("fp32", "bf16") and f"trainer.precision=auto: {chosen}" in log
    if not torch.cuda.is_available():
        # fp16 on the CPU accelerator depends on the processor (oneDNN fp16 support): where
        # DeepSpeed has it, fp16 trains; elsewhere it is refused with a message.
        from deepspeed.accelerator import get_accelerator

        proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed",
                               *tiny_overrides(data, tmp_path / "fp16",
                                               **{"trainer.precision": "fp16",
                                                  "trainer.max_steps": 2})],
                              capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
        if get_accelerator().is_fp16_supported():
            assert proc.returncode == 0, proc.stderr[-3000:]
        else:
            assert proc.returncode != 0
            assert "trainer.precision=fp16 is not supported on the cpu accelerator" in proc.stderr


def test_no_readable_data_stops_with_an_error(data, tmp_path):
    from fireredasr.data.kaldi_dir import DataDir

    d = DataDir.load(str(data["train"]))
    for u in d.feats:  # every feature archive gone
        d.feats[u] = f"{tmp_path / 'gone.ark'}:{10 + len(u)}"
    d.save(str(tmp_path / "train_gone"))
    exp = tmp_path / "exp"
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed",
                           *tiny_overrides(dict(data, train=tmp_path / "train_gone"), exp,
                                           **{"trainer.max_epochs": 3})],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "nothing was trained" in proc.stderr or "held nothing to train on" in proc.stderr
    assert "gone.ark" in proc.stderr and "Traceback" not in proc.stderr
    assert not complete_checkpoints(str(exp / "checkpoints")) if (exp / "checkpoints").exists() \
        else True


@pytest.mark.parametrize("stage", ["zero0", "zero3"])
def test_every_zero_stage_trains_and_logs_a_grad_norm(data, tmp_path, stage):
    exp = tmp_path / "exp"
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_aed", f"deepspeed={stage}",
                           *tiny_overrides(data, exp, **{"trainer.max_steps": 2,
                                                         "trainer.log_every": 1})],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    norms = re.findall(r"grad_norm (\S+)", (exp / "train.log").read_text())
    assert len(norms) == 2 and all(float(n) > 0 for n in norms), norms
