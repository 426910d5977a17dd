"""Benchmark: cached batch beam search vs. the released (uncached) algorithm, and bf16.

A randomly initialised AED of realistic shape (d_model 512, 8 heads, 12 encoder and 6 decoder
layers, vocabulary 7832) decodes the four real examples as one batch, beam 3, on CPU. The
same weights and encoder output feed both searches, so the ratio isolates the decoder work.

    .venv/bin/python bench/decode_aed.py [--threads 2] [--repeats 1]

Prints the speed-up of the cached search over the released re-run-everything search, checks
that their hypotheses are identical (exit 1 if not), and prints the bf16 autocast speed ratio
and how many bf16 hypotheses agree with fp32.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fireredasr.data.audio import load_audio  # noqa: E402
from fireredasr.data.cmvn import GlobalCMVN, accumulate_cmvn_stats  # noqa: E402
from fireredasr.data.fbank import compute_fbank  # noqa: E402
from fireredasr.data.frontend import Frontend, pad_features  # noqa: E402
from fireredasr.decode.beam_search import (BeamSearchConfig, batch_beam_search,  # noqa: E402
                                           uncached_batch_beam_search)
from fireredasr.models.fireredasr_aed import FireRedAsrAed  # noqa: E402

EXAMPLES = REPO / "tests" / "fixtures" / "real_examples"


def realistic_args() -> argparse.Namespace:
    return argparse.Namespace(idim=80, n_layers_enc=12, n_layers_dec=6, n_head=8, d_model=512,
                              residual_dropout=0.1, dropout_rate=0.1, kernel_size=33,
                              pe_maxlen=5000, odim=7832, sos_id=3, eos_id=4, pad_id=2)


def load_features():
    wavs = sorted(EXAMPLES.glob("*.wav"))
    samples = [load_audio(str(w))[0] for w in wavs]
    stats = accumulate_cmvn_stats((compute_fbank(s) for s in samples), 80)
    fe = Frontend(GlobalCMVN(stats))
    return pad_features([fe.features(s) for s in samples])


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def seqs(hyps):
    return [[h["yseq"].tolist() for h in nbest] for nbest in hyps]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--decode_max_len", type=int, default=0,
                   help="0: the padded encoder length, as the released default")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = FireRedAsrAed(realistic_args()).eval()
    n_params = sum(p.numel() for p in model.parameters())
    feats, lengths = load_features()
    cfg = BeamSearchConfig(beam_size=args.beam, decode_max_len=args.decode_max_len)
    print(f"model: {n_params / 1e6:.1f}M parameters; batch {feats.size(0)}, "
          f"{int(lengths.max())} frames max; beam {args.beam}; threads {args.threads}")

    with torch.no_grad():
        (enc, _, mask), t_enc = timed(lambda: model.encoder(feats, lengths))
    dec = model.decoder
    cached, t_cached = timed(lambda: batch_beam_search(dec, enc, mask, cfg))
    plain, t_plain = timed(lambda: uncached_batch_beam_search(dec, enc, mask, cfg))
    steps = max(len(n[0]["yseq"]) for n in cached)
    identical = seqs(cached) == seqs(plain)
    print(f"encoder (fp32):                       {t_enc:8.2f} s")
    print(f"released uncached beam search (fp32): {t_plain:8.2f} s  ({steps} steps)")
    print(f"toolkit cached beam search (fp32):    {t_cached:8.2f} s")
    print(f"speed-up cached vs uncached:          {t_plain / t_cached:8.1f}x  "
          f"hypotheses identical: {identical}")

    def bf16_run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            e, _, m = model.encoder(feats, lengths)
            return batch_beam_search(dec, e, m, cfg)

    def fp32_run():
        with torch.no_grad():
            e, _, m = model.encoder(feats, lengths)
            return batch_beam_search(dec, e, m, cfg)

    fp32, t_fp32 = timed(fp32_run)
    bf16, t_bf16 = timed(bf16_run)
    agree = sum(a == b for a, b in zip(seqs(fp32), seqs(bf16)))
    tok_agree = np.mean([np.mean([x == y for x, y in zip(a[0], b[0])] or [1.0])
                         for a, b in zip(seqs(fp32), seqs(bf16))])
    print(f"encoder + cached search, fp32:        {t_fp32:8.2f} s")
    print(f"encoder + cached search, bf16:        {t_bf16:8.2f} s")
    print(f"speed-up bf16 vs fp32:                {t_fp32 / t_bf16:8.2f}x  "
          f"identical hypotheses: {agree}/{len(fp32)}; position-wise token agreement "
          f"{100 * tok_agree:.1f}%")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
