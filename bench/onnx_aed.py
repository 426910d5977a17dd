"""Benchmark: PyTorch vs. its ONNX export (fp32 and int8) on one test set, side by side.

Exports the AED folder (fireredasr-export-onnx, with --int8) unless --onnx_dir already holds an
export, then decodes the same data dir with each system through the same API call
(``FireRedAsr.decode_features``, length-sorted batches, the same beam settings) and prints the
test CER, how many hypotheses differ from PyTorch, and the model's real-time factor (features
are computed before the clock starts, for every system alike).

    .venv/bin/python bench/onnx_aed.py --model_dir recipes/mini/exp/aed/model \
        --data_dir recipes/mini/data/test [--beam_size 3] [--batch_size 8] [--threads 2]

Then sherpa-onnx itself (``OfflineRecognizer.from_fire_red_asr``, greedy, its own fbank) decodes
the fp32 and int8 exports, against PyTorch at beam 1.

Exit status 1 when the fp32 export's hypotheses (toolkit or sherpa-onnx) differ from PyTorch's,
other than sherpa-onnx cutting a hypothesis short at its length limit.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import decode_in_batches, result  # noqa: E402
from fireredasr.data.kaldi_dir import DataDir  # noqa: E402
from fireredasr.decode.api import FireRedAsr  # noqa: E402
from fireredasr.decode.decode_data_dir import decode_order  # noqa: E402
from fireredasr.deploy.onnx_export import export_onnx  # noqa: E402
from fireredasr.scoring.cer import score  # noqa: E402

SYSTEMS = (("PyTorch fp32", "aed"), ("ONNX fp32", "aed_onnx"), ("ONNX int8", "aed_onnx_int8"))


def decode_all(api: FireRedAsr, data: DataDir, utts: List[str], args: Dict,
               batch_size: int) -> Tuple[Dict[str, str], float, float]:
    """Hypotheses, seconds in the model, seconds of audio."""
    feats = {u: api.feat_extractor.load(data.wav[u]) for u in utts}
    hyps, model_s = decode_in_batches(api, feats, utts, batch_size, args)
    return hyps, model_s, sum(d for _, d in feats.values())


def sherpa_decode(onnx_dir: str, suffix: str, data: DataDir, utts: List[str],
                  threads: int) -> Tuple[Dict[str, str], float]:
    """sherpa-onnx's greedy text of every utterance, and its seconds (fbank included)."""
    import time

    import sherpa_onnx

    from fireredasr.data.audio import load_audio

    rec = sherpa_onnx.OfflineRecognizer.from_fire_red_asr(
        encoder=os.path.join(onnx_dir, f"encoder{suffix}.onnx"),
        decoder=os.path.join(onnx_dir, f"decoder{suffix}.onnx"),
        tokens=os.path.join(onnx_dir, "tokens.txt"), num_threads=threads)
    hyps, seconds = {}, 0.0
    for u in utts:
        samples, sr = load_audio(data.wav[u], 16000)
        stream = rec.create_stream()
        stream.accept_waveform(sr, (samples / 32768.0).astype("float32"))
        start = time.perf_counter()
        rec.decode_stream(stream)
        seconds += time.perf_counter() - start
        hyps[u] = stream.result.text.replace("\u2581", " ").strip()
    return hyps, seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model_dir", default=str(REPO / "recipes/mini/exp/aed/model"))
    p.add_argument("--data_dir", default=str(REPO / "recipes/mini/data/test"))
    p.add_argument("--onnx_dir", help="an existing export (default: export into a temp dir)")
    p.add_argument("--beam_size", type=int, default=3)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--limit", type=int, default=0, help="first N utterances only (0: all)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    data = DataDir.load(args.data_dir)
    utts = decode_order(data, list(data.wav)[: args.limit or None])
    onnx_dir = args.onnx_dir or tempfile.mkdtemp(prefix="fireredasr_onnx_")
    if not os.path.isfile(os.path.join(onnx_dir, "encoder.int8.onnx")):
        export_onnx(args.model_dir, onnx_dir, int8=True)
    settings = {"beam_size": args.beam_size, "softmax_smoothing": 1.25,
                "aed_length_penalty": 0.6}
    print(f"{len(utts)} utterances of {args.data_dir}; beam {args.beam_size}, batch "
          f"{args.batch_size}, {args.threads} threads; onnx: {onnx_dir}")
    print("| system | CER | hyps != PyTorch | model s | RTF | speed vs PyTorch |")
    print("|---|---|---|---|---|---|")
    reference: Dict[str, str] = {}
    base_s = 0.0
    status = 0
    for name, asr_type in SYSTEMS:
        api = FireRedAsr.from_pretrained(asr_type, args.model_dir if asr_type == "aed" else onnx_dir)
        hyps, model_s, audio_s = decode_all(api, data, utts, settings, args.batch_size)
        summary, _ = score({u: data.text[u] for u in utts}, hyps)
        if not reference:
            reference, base_s = hyps, model_s
        changed = sum(hyps.get(u) != reference.get(u) for u in utts)
        if asr_type == "aed_onnx" and changed:
            status = 1
        print(f"| {name} | {summary.error_rate:.2f}% | {changed}/{len(utts)} | {model_s:.2f} | "
              f"{model_s / audio_s:.4f} | {base_s / model_s:.2f}x |")
        key = asr_type.replace("aed_", "")
        result(f"onnx_bench_{key}_cer", summary.error_rate)
        result(f"onnx_bench_{key}_rtf", model_s / audio_s)

    print("\nsherpa-onnx (greedy) against PyTorch beam 1:")
    # sherpa-onnx stops a hypothesis after a number of tokens that grows with the audio
    # length; a hypothesis it cut short is a strict prefix of PyTorch's (counted apart).
    print("| system | CER | hyps != PyTorch beam 1 | of them cut short | RTF (with fbank) |")
    print("|---|---|---|---|---|")
    api = FireRedAsr.from_pretrained("aed", args.model_dir)
    greedy, model_s, audio_s = decode_all(api, data, utts, {"beam_size": 1}, args.batch_size)
    summary, _ = score({u: data.text[u] for u in utts}, greedy)
    print(f"| PyTorch beam 1 | {summary.error_rate:.2f}% | 0/{len(utts)} | - | "
          f"{model_s / audio_s:.4f} |")
    for name, suffix in (("sherpa-onnx fp32", ""), ("sherpa-onnx int8", ".int8")):
        hyps, seconds = sherpa_decode(onnx_dir, suffix, data, utts, args.threads)
        summary, _ = score({u: data.text[u] for u in utts}, hyps)
        changed = [u for u in utts if hyps[u] != greedy.get(u)]
        cut = [u for u in changed if greedy.get(u, "").startswith(hyps[u])]
        if suffix == "" and len(changed) > len(cut):
            status = 1
        print(f"| {name} | {summary.error_rate:.2f}% | {len(changed)}/{len(utts)} | "
              f"{len(cut)} | {seconds / audio_s:.4f} |")
        result(f"onnx_bench_sherpa{suffix.replace('.', '_')}_changed", len(changed))
    return status


if __name__ == "__main__":
    sys.exit(main())
