"""Benchmark: FireRedASR-LLM decoding, the toolkit against the released loader's way.

    .venv/bin/python bench/decode_llm.py [--llm qwen2-0.5b] [--encoder aed_s] [--beam 3]
        [--decode_max_len 24] [--threads 2]

Builds, in a temporary folder and without any download, a released-layout FireRedASR-LLM
folder: an AED encoder package (random weights of a conf/model preset), a Qwen2-architecture
LLM of the chosen shape (random weights, byte-level BPE tokenizer with the Qwen2 chat tokens)
and LoRA r 64 with random (non-zero) B matrices, exported by the training task's own export.
The four real example recordings are decoded as one batch through the same call,
``FireRedAsr.decode_features`` (beam search in ``transformers`` ``generate``), by:

- released: the folder loaded as the released code loads it (PEFT LoRA layers kept apart,
  eager attention);
- toolkit: ``FireRedAsr.from_pretrained("llm", ...)`` (LoRA folded into the weights, SDPA).

Prints both times and their ratio, and exits 1 unless the hypotheses are identical.
``RESULT`` lines carry the figures for bench/gpu_check.sh.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import result  # noqa: E402
from bench.decode_aed import EXAMPLES  # noqa: E402
from bench.train_llm import LLM_SHAPES, build_folders, texts  # noqa: E402
from fireredasr.data.audio import load_audio  # noqa: E402
from fireredasr.data.cmvn import accumulate_cmvn_stats, write_cmvn  # noqa: E402
from fireredasr.data.fbank import compute_fbank  # noqa: E402
from fireredasr.data.frontend import Frontend  # noqa: E402
from fireredasr.decode.api import FireRedAsr  # noqa: E402
from fireredasr.models.checkpoint import load_llm_model  # noqa: E402
from fireredasr.train import llm_task  # noqa: E402


def build_released_folder(root: str, encoder: str, llm_shape: str, lora_r: int) -> str:
    """A FireRedASR-LLM folder in the released layout with random weights."""
    corpus = texts()
    aed_path, llm_dir = build_folders(root, encoder, llm_shape, 1000, corpus)
    mcfg = OmegaConf.merge(OmegaConf.load(REPO / "conf" / "model" / "llm.yaml"),
                           {"encoder_init": aed_path, "llm_dir": llm_dir, "lora_r": lora_r})
    model, _ = llm_task.build_model(mcfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # LoRA B starts at zero (a no-op); trained adapters are not
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
    samples = [load_audio(str(w))[0] for w in sorted(EXAMPLES.glob("*.wav"))]
    cmvn = os.path.join(root, "cmvn.ark")
    write_cmvn(cmvn, accumulate_cmvn_stats((compute_fbank(s) for s in samples), 80))
    out = os.path.join(root, "model")
    llm_task.export_model_folder(out, mcfg, model.state_dict(), cmvn)
    return out


def decode(api: FireRedAsr, feats, durs, args: dict):
    """(texts, seconds) of one timed batch decode after one untimed warm-up."""
    uttids = [f"u{i}" for i in range(len(feats))]
    api.decode_features(uttids, feats, dict(args, decode_max_len=2), durs)
    start = time.perf_counter()
    results, _ = api.decode_features(uttids, feats, args, durs)
    return [r["text"] for r in results], time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llm", default="qwen2-0.5b", choices=sorted(LLM_SHAPES))
    p.add_argument("--encoder", default="aed_s", help="conf/model preset of the encoder")
    p.add_argument("--lora_r", type=int, default=64)
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--decode_max_len", type=int, default=24)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    settings = {"beam_size": args.beam, "decode_max_len": args.decode_max_len,
                "repetition_penalty": 3.0, "llm_length_penalty": 1.0}
    with tempfile.TemporaryDirectory(prefix="bench_llm_decode.") as root:
        folder = build_released_folder(root, args.encoder, args.llm, args.lora_r)
        toolkit = FireRedAsr.from_pretrained("llm", folder)
        wavs = sorted(EXAMPLES.glob("*.wav"))
        loaded = [toolkit.feat_extractor.load(str(w)) for w in wavs]
        feats, durs = [f for f, _ in loaded], [d for _, d in loaded]
        n_params = sum(q.numel() for q in toolkit.model.parameters())
        print(f"{args.llm} LLM + {args.encoder} encoder + adapter: {n_params / 1e6:.1f}M "
              f"parameters (LoRA r {args.lora_r}); {len(feats)} utterances as one batch, "
              f"{sum(durs):.1f} s of audio; beam {args.beam}, decode_max_len "
              f"{args.decode_max_len}; {args.threads} threads")
        new_texts, t_new = decode(toolkit, feats, durs, settings)
        del toolkit
        model, tokenizer = load_llm_model(folder)  # the released loader's way
        released = FireRedAsr("llm", Frontend.from_cmvn_file(os.path.join(folder, "cmvn.ark")),
                              model.eval(), tokenizer)
        old_texts, t_old = decode(released, feats, durs, settings)
    identical = new_texts == old_texts
    print(f"released (PEFT LoRA apart, eager attention): {t_old:8.2f} s")
    print(f"toolkit (LoRA merged, SDPA):                 {t_new:8.2f} s")
    print(f"speed-up: {t_old / t_new:.2f}x; hypotheses identical: {identical}")
    result("llm_decode_speedup", t_old / t_new, f"{args.llm}, identical={identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    sys.exit(main())
