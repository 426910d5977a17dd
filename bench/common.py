"""What the benchmarks share: device synchronisation, the precision names, and the
machine-readable ``RESULT`` lines that bench/gpu_check.sh collects into its table."""
from __future__ import annotations

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def sync(device: str) -> None:
    """Wait for queued GPU work, so that wall-clock timings cover it (no-op on the CPU)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def result(name: str, value: float, note: str = "") -> None:
    """A machine-readable line for bench/gpu_check.sh's table."""
    print(f"RESULT\t{name}\t{value:.4g}\t{note}")


def decode_in_batches(api, feats: dict, uttids: list, batch_size: int, args: dict):
    """Decode ``uttids`` in order, ``batch_size`` at a time, through a ``FireRedAsr``'s
    ``decode_features``; ``feats`` maps uttid -> (features, seconds of audio).
    Returns (uttid -> text, seconds spent in the model)."""
    hyps, seconds = {}, 0.0
    for i in range(0, len(uttids), batch_size):
        batch = uttids[i: i + batch_size]
        results, elapsed = api.decode_features(batch, [feats[u][0] for u in batch], args,
                                               [feats[u][1] for u in batch])
        hyps.update({r["uttid"]: r["text"] for r in results})
        seconds += elapsed
    return hyps, seconds


def add_training_bench_options(parser, utts: int, frames: int, steps: int) -> None:
    """The batch, step, thread, device and precision options of the training benchmarks."""
    parser.add_argument("--utts", type=int, default=utts, help="utterances per batch")
    parser.add_argument("--frames", type=int, default=frames, help="frames per utterance")
    parser.add_argument("--steps", type=int, default=steps, help="timed steps (after warm-up)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precisions", default="fp32,bf16",
                        help="comma-separated: fp32,bf16,fp16")
