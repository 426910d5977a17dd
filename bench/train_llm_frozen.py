"""Benchmark: what a frozen encoder, LoRA dropout and output scoring cost a stage-9 training
step on CPU.

    .venv/bin/python bench/train_llm_frozen.py [--utts 33 --frames 240] [--steps 6]
        [--threads 1] [--precisions bf16]

The shapes of recipes/mini's stage 9: its d 128 Conformer encoder (6 layers) and its tiny
Qwen2 base LLM (hidden 256, 4 layers), LoRA r 16, random weights built without a download
(as bench/train_llm.py does). Times real DeepSpeed steps of the same batch for

  * ``trained encoder``: the encoder trains (train mode, dropout), LoRA dropout 0.05;
  * ``frozen, train mode``: encoder weights frozen but left in train mode, which is what
    ``model.freeze_encoder`` did before it kept the encoder in eval mode;
  * ``frozen (eval)``: ``model.freeze_encoder=true`` as it is now;
  * ``frozen, LoRA dropout 0``: plus ``model.lora_dropout=0``;
  * ``+ cached encoder``: plus ``model.encoder_cache_gb`` (the warm-up step fills the cache,
    as the first epoch does);
  * ``+ LM head on the transcript``: plus output scores only where the loss needs them
    (``FireRedAsrLlm.scored_tail_length``), as training does now: the mini recipe's setting.
    The settings above score every position, as training did before;

and prints each one's seconds per step and its speed relative to ``frozen, train mode``;
with ``--precisions fp32,bf16`` also bf16's speed against fp32 in the recipe's setting.
The default batch is one of the mini recipe's (8000 frames of ~2.4 s utterances) and one
thread, as each of stage 9's two processes has.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import add_training_bench_options  # noqa: E402
from bench.train_aed import time_steps  # noqa: E402
from bench.train_llm import build_folders, texts  # noqa: E402
from fireredasr.train import llm_task  # noqa: E402
from fireredasr.train.encoder_cache import EncoderOutputCache  # noqa: E402
from fireredasr.train.trainer import deepspeed_config, init_distributed  # noqa: E402

SETTINGS = [  # (name, freeze_encoder, frozen encoder left in train mode, LoRA dropout, cache,
    #            output scores at every position)
    ("trained encoder", False, False, 0.05, False, True),
    ("frozen, train mode", True, True, 0.05, False, True),
    ("frozen (eval)", True, False, 0.05, False, True),
    ("frozen, LoRA dropout 0", True, False, 0.0, False, True),
    ("+ cached encoder", True, False, 0.0, True, True),
    ("+ LM head on the transcript", True, False, 0.0, True, False),
]
BASELINE = "frozen, train mode"


def step_seconds(mcfg, encoder_train_mode: bool, cache: bool, score_all: bool,
                 precision: str, batch, steps: int) -> float:
    import deepspeed

    model, _ = llm_task.build_model(mcfg)
    if encoder_train_mode:  # the behaviour before freeze_encoder kept the encoder in eval
        model.encoder_frozen = False
    if score_all:  # the behaviour before training scored only the transcript's positions
        model.scored_tail_length = lambda labels: labels.size(1)
    params = [p for p in model.parameters() if p.requires_grad]
    trainer = OmegaConf.create({"precision": precision, "grad_accum": 1, "grad_clip": 5.0})
    ds = OmegaConf.load(REPO / "conf" / "deepspeed" / "zero2.yaml")
    engine, _, _, _ = deepspeed.initialize(
        model=model, model_parameters=params, optimizer=torch.optim.AdamW(params, lr=1e-4),
        config=deepspeed_config(ds, trainer))
    engine.train()
    cached = EncoderOutputCache(10 ** 10) if cache else None
    return time_steps(engine, lambda: llm_task.compute_loss(engine, batch, 0.3, cached)[0],
                      steps, 1, "cpu")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_training_bench_options(p, utts=33, frames=240, steps=6)
    p.set_defaults(threads=1, precisions="bf16", device="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    init_distributed()
    with tempfile.TemporaryDirectory(prefix="bench_llm_frozen.") as root:
        corpus = [t[:8] for t in texts()]
        aed_path, llm_dir = build_folders(root, "aed_xs", "mini", 2000, corpus, d_model=128)
        base = OmegaConf.merge(OmegaConf.load(REPO / "conf" / "model" / "llm.yaml"),
                               {"encoder_init": aed_path, "llm_dir": llm_dir, "lora_r": 16,
                                "lora_alpha": 32, "attn_implementation": "eager"})
        _, tokenizer = llm_task.build_model(base)
        g = torch.Generator().manual_seed(0)
        batch = {"utts": [f"u{i}" for i in range(args.utts)],
                 "feats": torch.randn(args.utts, args.frames, 80, generator=g),
                 "feat_lengths": torch.full((args.utts,), args.frames, dtype=torch.long),
                 **llm_task.prompt_targets(tokenizer, corpus[: args.utts])}
        print(f"batch {args.utts} x {args.frames} frames, {args.threads} thread(s), cpu; "
              f"LLM vocabulary {len(tokenizer)}")
        by_precision = {}
        for precision in args.precisions.split(","):
            seconds = by_precision[precision] = {}
            for name, frozen, train_mode, lora_dropout, cache, score_all in SETTINGS:
                mcfg = OmegaConf.merge(base, {"freeze_encoder": frozen,
                                              "lora_dropout": lora_dropout})
                seconds[name] = step_seconds(mcfg, train_mode, cache, score_all, precision,
                                             batch, args.steps)
            for name, s in seconds.items():
                print(f"{precision} {name:24s} {s:6.3f} s/step  {seconds[BASELINE] / s:5.2f}x "
                      f"vs '{BASELINE}'")
        if "fp32" in by_precision and "bf16" in by_precision:
            recipe = SETTINGS[-1][0]  # the mini recipe's setting
            print(f"'{recipe}': bf16 speed-up over fp32 "
                  f"{by_precision['fp32'][recipe] / by_precision['bf16'][recipe]:.2f}x")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
