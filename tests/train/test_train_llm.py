"""FireRedASR-LLM training with real DeepSpeed (ZeRO-2, 2 CPU processes), peft LoRA and a tiny
Qwen2 from the reference folder; export to the released layout and decode it."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from fireredasr.train.checkpoint import complete_checkpoints
from tests.conftest import REAL_EXAMPLES, REPO
from tests.train_fixtures import make_train_data

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_train_data(tmp_path_factory.mktemp("llm_train_data"))


def test_lora_training_export_and_decode(data, ref_aed_dir, ref_llm_dir, tmp_path):
    exp = tmp_path / "exp"
    llm_dir = ref_llm_dir / "Qwen2-7B-Instruct"
    overrides = [f"data.train_dir={data['train']}", f"data.valid_dir={data['dev']}",
                 f"data.cmvn={data['cmvn']}", f"exp_dir={exp}",
                 f"model.encoder_init={ref_aed_dir}", f"model.llm_dir={llm_dir}",
                 "model.lora_r=8", "model.adapter_ctc_weight=0.3",
                 "data.max_frames_per_batch=800", "data.num_workers=0",
                 "optim.lr=5e-4", "scheduler.warmup_steps=2", "scheduler.total_steps=40",
                 "trainer.max_steps=12", "trainer.save_every=4", "trainer.log_every=2",
                 "trainer.valid_every=0", "trainer.progress_bar=false"]
    cmd = [str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", "2",
           "--master_port", "29711", "-m", "fireredasr.bin.train_llm", *overrides]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    log = (exp / "train.log").read_text()
    assert "2 process(es)" in log
    losses = [float(x) for x in re.findall(r"step \d+: loss ([\d.]+)", log)]
    assert len(losses) >= 5 and losses[-1] < losses[0] * 0.9, losses
    assert len(re.findall(r"adapter_ctc_loss [\d.]+", log)) == len(losses)
    # Only trainable weights (encoder, adapter, LoRA) are checkpointed.
    tag = complete_checkpoints(str(exp / "checkpoints"))[-1][1]
    states = torch.load(exp / "checkpoints" / tag / "mp_rank_00_model_states.pt",
                        map_location="cpu", weights_only=False)["module"]
    assert any("lora_A" in k for k in states)
    assert not any(k.startswith("llm.") and "lora_" not in k for k in states)
    cfg = yaml.safe_load((exp / "config.yaml").read_text())
    assert cfg["model"]["use_lora"] is True
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.export_llm", "--exp_dir",
                           str(exp), "--num", "2"], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from fireredasr.models.fireredasr import FireRedAsr

    model = FireRedAsr.from_pretrained("llm", str(exp / "model"))
    (res,) = model.transcribe(["u"], [str(REAL_EXAMPLES / "IT0011W0001.wav")],
                              {"beam_size": 1, "decode_max_len": 5})
    assert res["uttid"] == "u"
    # The exported LoRA weights are the trained ones (decoding folds them into the LLM).
    from fireredasr.models.checkpoint import load_package

    package = load_package(str(exp / "model" / "model.pth.tar"))
    lora = {k: v for k, v in package["model_state_dict"].items() if "lora_B" in k}
    assert lora and any(v.abs().sum() > 0 for v in lora.values())
    assert not any("lora_" in k for k in model.model.state_dict())


def test_frozen_encoder_is_exported_from_its_initialisation(data, ref_aed_dir, ref_llm_dir,
                                                            tmp_path):
    """Checkpoints leave frozen weights out; the exported package still holds the encoder
    (the AED's, unchanged) and decodes."""
    from fireredasr.models.checkpoint import load_package
    from fireredasr.models.fireredasr import FireRedAsr

    exp = tmp_path / "exp"
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_llm",
                           f"data.train_dir={data['train']}", f"data.valid_dir={data['dev']}",
                           f"data.cmvn={data['cmvn']}", f"exp_dir={exp}",
                           f"model.encoder_init={ref_aed_dir}",
                           f"model.llm_dir={ref_llm_dir / 'Qwen2-7B-Instruct'}",
                           "model.freeze_encoder=true", "model.lora_r=4",
                           "model.encoder_cache_gb=0.1", "data.spec_augment.enabled=false",
                           "data.shard_by=utterance", "data.max_frames_per_batch=800",
                           "data.num_workers=0",
                           "trainer.max_steps=2", "trainer.save_every=2", "trainer.valid_every=0",
                           "trainer.progress_bar=false"],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.export_llm", "--exp_dir",
                           str(exp), "--num", "1"], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exported = load_package(str(exp / "model" / "model.pth.tar"))["model_state_dict"]
    init = load_package(str(ref_aed_dir / "model.pth.tar"))["model_state_dict"]
    encoder = [k for k in init if k.startswith("encoder.")]
    assert encoder and all(torch.equal(exported[k], init[k]) for k in encoder)
    model = FireRedAsr.from_pretrained("llm", str(exp / "model"))
    (res,) = model.transcribe(["u"], [str(REAL_EXAMPLES / "IT0011W0001.wav")],
                              {"beam_size": 1, "decode_max_len": 3})
    assert res["uttid"] == "u"


def test_frozen_encoder_stays_in_eval_mode_while_the_rest_trains(ref_aed_dir, ref_llm_dir):
    """model.freeze_encoder: no encoder gradients, and no dropout noise in it after
    model.train() (what DeepSpeed calls), while the adapter and LoRA train."""
    from omegaconf import OmegaConf

    from fireredasr.train.llm_task import build_model

    mcfg = OmegaConf.load(REPO / "conf" / "model" / "llm.yaml")
    mcfg.encoder_init, mcfg.llm_dir = str(ref_aed_dir), str(ref_llm_dir / "Qwen2-7B-Instruct")
    mcfg.lora_r, mcfg.freeze_encoder = 4, True
    model, _ = build_model(mcfg)
    model.train()
    assert not model.encoder.training and model.encoder_projector.training
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert any(p.requires_grad for p in model.encoder_projector.parameters())
    feats, lens = torch.randn(2, 60, 80), torch.tensor([60, 45])
    first = model.embed_speech(feats, lens)[0]
    assert torch.equal(first, model.embed_speech(feats, lens)[0])
    mcfg.freeze_encoder = False
    model, _ = build_model(mcfg)
    model.train()
    assert model.encoder.training


def test_encoder_cache_with_changing_features_is_a_clear_error(data, ref_aed_dir, ref_llm_dir,
                                                               tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_llm",
                           f"data.train_dir={data['train']}", f"data.valid_dir={data['dev']}",
                           f"data.cmvn={data['cmvn']}", f"exp_dir={tmp_path / 'e'}",
                           f"model.encoder_init={ref_aed_dir}",
                           f"model.llm_dir={ref_llm_dir / 'Qwen2-7B-Instruct'}",
                           "model.freeze_encoder=true", "model.encoder_cache_gb=1"],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert proc.returncode == 1 and "data.spec_augment.enabled=true" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_llm_folder_is_a_clear_error(data, ref_aed_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_llm",
                           f"data.train_dir={data['train']}", f"data.valid_dir={data['dev']}",
                           f"data.cmvn={data['cmvn']}", f"exp_dir={tmp_path / 'e'}",
                           f"model.encoder_init={ref_aed_dir}", f"model.llm_dir={tmp_path / 'no'}"],
                          capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert proc.returncode == 1 and "LLM folder not found" in proc.stderr


def test_resume_with_frozen_weights_left_out(data, ref_aed_dir, ref_llm_dir, tmp_path):
    """Checkpoints without the frozen LLM weights resume to the same weights as a run that
    never stopped (a run stopped at step 4 and re-run with a later max_steps)."""
    from fireredasr.train.checkpoint import fp32_state_dict

    def overrides(exp, steps):
        return [f"data.train_dir={data['train']}", f"data.valid_dir={data['dev']}",
                f"data.cmvn={data['cmvn']}", f"exp_dir={exp}", f"model.encoder_init={ref_aed_dir}",
                f"model.llm_dir={ref_llm_dir / 'Qwen2-7B-Instruct'}", "model.lora_r=4",
                "data.max_frames_per_batch=800", "data.num_workers=0",
                "scheduler.warmup_steps=2", "scheduler.total_steps=20",
                f"trainer.max_steps={steps}", "trainer.save_every=2", "trainer.valid_every=0",
                "trainer.deterministic=true", "trainer.progress_bar=false"]

    def run(exp, steps):
        proc = subprocess.run([sys.executable, "-m", "fireredasr.bin.train_llm",
                               *overrides(exp, steps)], capture_output=True, text=True,
                              env=ENV, cwd=REPO, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stderr

    run(tmp_path / "straight", 6)
    run(tmp_path / "stopped", 4)
    log = run(tmp_path / "stopped", 6)
    assert "resumed from" in log and "step_00000004" in log
    a = fp32_state_dict(str(tmp_path / "straight" / "checkpoints"), "step_00000006", True)
    b = fp32_state_dict(str(tmp_path / "stopped" / "checkpoints"), "step_00000006", True)
    assert a.keys() == b.keys() and any("lora_A" in k for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
