"""Benchmark: the CTC prefix beam search of attention rescoring, against its first version.

``fireredasr.models.ctc_search.ctc_prefix_beam_search`` is pure Python: per frame it expands
each of ``beam`` prefixes by each of the frame's ``beam`` best tokens. Wide beams pay off on
the mini recipe (RESULTS.md: 30 prefixes), so its constant factor matters. The baseline below
is the search as first written (a closure per frame, a generic log-add over a generator); both
run on the same CTC-like posteriors (mostly blank, a peak per token, random elsewhere), and
the bench exits 1 unless their n-best lists, scores included, are identical.

    .venv/bin/python bench/ctc_prefix_beam.py [--frames 250] [--vocab 7832] [--beams 10,30]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fireredasr.models.ctc import CTC_BLANK_ID  # noqa: E402
from fireredasr.models.ctc_search import ctc_prefix_beam_search  # noqa: E402

NEG_INF = -float("inf")


def baseline_log_add(*xs: float) -> float:
    m = max(xs)
    if m == NEG_INF:
        return NEG_INF
    return m + math.log(sum(math.exp(x - m) for x in xs))


def baseline_prefix_beam_search(log_probs: torch.Tensor, beam_size: int
                                ) -> List[Tuple[Tuple[int, ...], float]]:
    """The first version of the search (same results, slower constant factor)."""
    hyps: Dict[Tuple[int, ...], Tuple[float, float]] = {(): (0.0, NEG_INF)}
    k = min(beam_size, log_probs.size(1))
    for t in range(log_probs.size(0)):
        top_scores, top_ids = log_probs[t].topk(k)
        nxt: Dict[Tuple[int, ...], List[float]] = {}

        def add(prefix: Tuple[int, ...], pb: float, pnb: float) -> None:
            if pb == NEG_INF and pnb == NEG_INF:
                return
            old = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
            old[0], old[1] = baseline_log_add(old[0], pb), baseline_log_add(old[1], pnb)

        for token, p in zip(top_ids.tolist(), top_scores.tolist()):
            for prefix, (pb, pnb) in hyps.items():
                last = prefix[-1] if prefix else None
                if token == CTC_BLANK_ID:
                    add(prefix, baseline_log_add(pb, pnb) + p, NEG_INF)
                elif token == last:
                    add(prefix, NEG_INF, pnb + p)
                    add(prefix + (token,), NEG_INF, pb + p)
                else:
                    add(prefix + (token,), NEG_INF, baseline_log_add(pb, pnb) + p)
        ranked = sorted(nxt.items(), key=lambda kv: -baseline_log_add(*kv[1]))[:beam_size]
        hyps = {prefix: (pb, pnb) for prefix, (pb, pnb) in ranked}
    return sorted(((prefix, baseline_log_add(*v)) for prefix, v in hyps.items()),
                  key=lambda x: -x[1])


def ctc_like_posteriors(frames: int, vocab: int, seed: int) -> torch.Tensor:
    """(frames, vocab) log-probs shaped like a trained CTC head's: blank-dominated frames with
    a token peak every ~3 frames, the rest of the mass spread at random."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(frames, vocab, generator=g) * 2.0
    peaks = torch.randint(1, vocab, (frames,), generator=g)
    is_token = torch.rand(frames, generator=g) < 0.35
    logits[torch.arange(frames), torch.where(is_token, peaks, torch.zeros_like(peaks))] += 12.0
    return logits.log_softmax(-1)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def beam_list(text: str) -> List[int]:
    """``--beams``: comma-separated beam sizes, each at least 1."""
    return [positive_int(b) for b in text.split(",")]


def timed(fn, *args) -> Tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=positive_int, default=250,
                    help="encoder frames (10 s at 40 ms)")
    ap.add_argument("--vocab", type=positive_int, default=7832)
    ap.add_argument("--beams", type=beam_list, default="10,30")
    ap.add_argument("--utts", type=positive_int, default=4)
    args = ap.parse_args()
    if args.vocab < 2:
        ap.error("--vocab must be >= 2: the blank and at least one token")
    torch.set_num_threads(1)
    posts = [ctc_like_posteriors(args.frames, args.vocab, seed) for seed in range(args.utts)]
    same = True
    for beam in args.beams:
        t_new = t_old = 0.0
        for lp in posts:
            dt, old = timed(baseline_prefix_beam_search, lp, beam)
            t_old += dt
            dt, new = timed(ctc_prefix_beam_search, lp, lp.size(0), beam)
            t_new += dt
            same &= old == new
        print(f"beam {beam:3d}: baseline {t_old / len(posts) * 1000:8.1f} ms/utt, toolkit "
              f"{t_new / len(posts) * 1000:8.1f} ms/utt, speed-up {t_old / t_new:.2f}x "
              f"({args.frames} frames, vocabulary {args.vocab})")
    print("n-best lists and scores identical:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
