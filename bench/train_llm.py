"""Benchmark: Encoder-Adapter-LLM LoRA training throughput and MFU, fp32 and bf16.

    .venv/bin/python bench/train_llm.py [--llm qwen2-0.5b] [--encoder aed_s] [--steps 3]
        [--utts 4 --frames 500] [--device cuda] [--precisions fp32,bf16]

Builds, in a temporary folder and without any download, an AED package (random weights of a
conf/model preset) and a Qwen2-architecture LLM folder of the chosen shape (random weights, a
byte-level BPE tokenizer with the Qwen2 chat tokens), loads them through the training task
(``fireredasr.train.llm_task.build_model``: LoRA on the frozen LLM, adapter, encoder), and runs
real DeepSpeed steps (ZeRO-2, AdamW on the trainable parameters only) on synthetic batches of
N utterances x T frames with 20-character transcripts. Prints audio seconds trained per wall
second and MFU: the FLOPs one step really does (forward, and backward through the frozen LLM's
activations without its weight gradients; counted by torch's FlopCounterMode) per second,
divided by the device's matmul peak measured in the same run. ``RESULT`` lines carry the
figures for bench/gpu_check.sh.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import add_training_bench_options  # noqa: E402
from bench.train_aed import make_model, report_training_speed, time_steps  # noqa: E402
from fireredasr.models.checkpoint import save_package  # noqa: E402
from fireredasr.synthetic.tiny_llm import (TinyLlmConfig, build_model,  # noqa: E402
                                           save_llm_folder, train_chat_tokenizer)
from fireredasr.train import llm_task  # noqa: E402
from fireredasr.train.trainer import deepspeed_config, init_distributed  # noqa: E402

# Qwen2 shapes (hidden, layers, heads, kv heads, intermediate); the vocabulary is the
# benchmark tokenizer's (a few thousand rows), which the note beside each figure states.
LLM_SHAPES = {
    "qwen2-0.5b": TinyLlmConfig(hidden_size=896, num_layers=24, num_heads=14, num_kv_heads=2,
                                intermediate_size=4864),
    "mini": TinyLlmConfig(),  # the base LLM recipes/mini builds (stage 8)
    "tiny": TinyLlmConfig(hidden_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                          intermediate_size=256),
}


def texts() -> list:
    """Chinese sentences for the tokenizer and the batches (the real examples' transcripts,
    shuffled into more lines)."""
    lines = (REPO / "tests" / "fixtures" / "real_examples" / "text").read_text(
        encoding="utf-8").splitlines()
    chars = "".join(line.split(maxsplit=1)[1] for line in lines)
    rng = random.Random(0)
    return ["".join(rng.choice(chars) for _ in range(20)) for _ in range(200)]


def build_folders(root: str, encoder: str, llm_shape: str, vocab: int, corpus: list,
                  **encoder_overrides) -> tuple:
    """(AED package path, LLM folder) with random weights; the tokenizer learns ``corpus``."""
    aed = make_model(encoder, vocab, **encoder_overrides)
    aed_path = os.path.join(root, "aed", "model.pth.tar")
    save_package(aed_path, aed.args, aed.state_dict())
    tokenizer = train_chat_tokenizer(corpus, 4000)
    llm = build_model(tokenizer, LLM_SHAPES[llm_shape])
    llm_dir = os.path.join(root, "llm")
    save_llm_folder(llm_dir, llm, tokenizer, corpus)
    return aed_path, llm_dir


def step_flops(model, loss_fn, batch) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        loss_fn(model, batch)[0].backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def run(mcfg, precision: str, batch, steps: int, device: str) -> float:
    import deepspeed

    model, _ = llm_task.build_model(mcfg)
    trainer = OmegaConf.create({"precision": precision, "grad_accum": 1, "grad_clip": 5.0})
    ds = OmegaConf.load(REPO / "conf" / "deepspeed" / "zero2.yaml")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=params, optimizer=opt,
                                           config=deepspeed_config(ds, trainer))
    return time_steps(engine, lambda: llm_task.compute_loss(engine, batch)[0], steps, 1, device)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llm", default="qwen2-0.5b", choices=sorted(LLM_SHAPES))
    p.add_argument("--encoder", default="aed_s", help="conf/model preset of the encoder")
    p.add_argument("--lora_r", type=int, default=64)
    add_training_bench_options(p, utts=4, frames=500, steps=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    init_distributed()
    with tempfile.TemporaryDirectory(prefix="bench_llm.") as root:
        corpus = texts()
        aed_path, llm_dir = build_folders(root, args.encoder, args.llm, 1000, corpus)
        mcfg = OmegaConf.merge(OmegaConf.load(REPO / "conf" / "model" / "llm.yaml"),
                               {"encoder_init": aed_path, "llm_dir": llm_dir,
                                "lora_r": args.lora_r, "attn_implementation": "sdpa"})
        g = torch.Generator().manual_seed(0)
        model, tokenizer = llm_task.build_model(mcfg)
        batch = {"feats": torch.randn(args.utts, args.frames, 80, generator=g),
                 "feat_lengths": torch.full((args.utts,), args.frames, dtype=torch.long),
                 **llm_task.prompt_targets(tokenizer, corpus[: args.utts])}
        model.to(args.device)
        n_all = sum(q.numel() for q in model.parameters())
        n_train = sum(q.numel() for q in model.parameters() if q.requires_grad)
        flops = step_flops(model, llm_task.compute_loss, batch)
        del model
        audio = args.utts * args.frames / 100.0
        shape = (f"{args.llm} LLM body, vocabulary {len(tokenizer)}; encoder {args.encoder}; "
                 f"LoRA r {args.lora_r}")
        print(f"{shape}: {n_all / 1e6:.1f}M parameters, {n_train / 1e6:.1f}M trainable; batch "
              f"{args.utts} x {args.frames} frames = {audio:.0f} s of audio; "
              f"{flops / 1e9:.1f} GFLOP per training step; {args.device}, {args.threads} threads")
        report_training_speed(lambda precision: run(mcfg, precision, batch, args.steps,
                                                    args.device),
                              args.precisions.split(","), args.device, flops, audio,
                              f"LLM LoRA training, {args.llm} shape")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    sys.exit(main())
