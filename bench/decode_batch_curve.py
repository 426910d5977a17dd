"""Benchmark: AED decoding throughput against batch size, fp32 and bf16, with a PNG plot.

    .venv/bin/python bench/decode_batch_curve.py --model_dir recipes/mini/exp/aed/model \
        --data_dir recipes/mini/data/test [--batch_sizes 1,4,16,32] [--beam 3] \
        [--png exp/decode_batch_curve.png] [--threads 2]

Decodes every utterance of the data dir in the order and batches the decode stage uses
(longest first, so a batch holds similar lengths), once per batch size and precision, through
``FireRedAsr.decode_features`` (features computed before the clock). Prints utterances per
second and RTF per batch size, the bf16/fp32 speed ratio and how many bf16 hypotheses differ
from fp32, and plots utterances per second against batch size.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import decode_in_batches, result  # noqa: E402
from fireredasr.data.kaldi_dir import DataDir  # noqa: E402
from fireredasr.decode.api import FireRedAsr  # noqa: E402
from fireredasr.decode.decode_data_dir import decode_order  # noqa: E402


def plot(path: str, batch_sizes, curves: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, ys in curves.items():
        ax.plot(batch_sizes, ys, marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
    ax.set_xlabel("batch size (utterances)")
    ax.set_ylabel("utterances / s")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model_dir", default=str(REPO / "recipes/mini/exp/aed/model"))
    p.add_argument("--data_dir", default=str(REPO / "recipes/mini/data/test"))
    p.add_argument("--batch_sizes", default="1,4,16,32")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--limit", type=int, default=0, help="first N utterances only (0: all)")
    p.add_argument("--png", default="decode_batch_curve.png")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    precisions = args.precisions.split(",")
    data = DataDir.load(args.data_dir)
    uttids = decode_order(data, list(data.wav)[: args.limit or None])
    api = FireRedAsr.from_pretrained("aed", args.model_dir)
    feats = {u: api.feat_extractor.load(data.wav[u]) for u in uttids}
    audio = sum(d for _, d in feats.values())
    settings = {"beam_size": args.beam, "softmax_smoothing": 1.25, "aed_length_penalty": 0.6}
    api.decode_features(uttids[:2], [feats[u][0] for u in uttids[:2]], settings)  # warm-up
    print(f"{len(uttids)} utterances ({audio:.1f} s) of {args.data_dir}, longest first; "
          f"beam {args.beam}; {args.threads} threads")
    print("| batch | " + " | ".join(f"{p} utt/s | {p} RTF" for p in precisions)
          + (" | bf16/fp32 speed | bf16 hyps != fp32 |" if "bf16" in precisions else " |"))
    print("|---" * (1 + 2 * len(precisions) + (2 if "bf16" in precisions else 0)) + "|")
    curves = {prec: [] for prec in precisions}
    for b in batch_sizes:
        cells, hyps, secs = [], {}, {}
        for prec in precisions:
            hyps[prec], secs[prec] = decode_in_batches(api, feats, uttids, b,
                                                dict(settings, bf16=prec == "bf16"))
            curves[prec].append(len(uttids) / secs[prec])
            cells += [f"{len(uttids) / secs[prec]:.1f}", f"{secs[prec] / audio:.4f}"]
            result(f"aed_decode_{prec}_batch{b}_utt_per_s", len(uttids) / secs[prec])
        if "bf16" in precisions and "fp32" in precisions:
            changed = sum(hyps["bf16"][u] != hyps["fp32"][u] for u in uttids)
            cells += [f"{secs['fp32'] / secs['bf16']:.2f}x", f"{changed}/{len(uttids)}"]
        print(f"| {b} | " + " | ".join(cells) + " |")
    plot(args.png, batch_sizes, curves, f"AED decoding, beam {args.beam}, {args.threads} "
         f"threads, {len(uttids)} utterances")
    print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
