"""Benchmark: cached batch beam search vs. the released (uncached) algorithm, and bf16/fp16.

A randomly initialised AED of realistic shape (d_model 512, 8 heads, 12 encoder and 6 decoder
layers, vocabulary 7832) decodes the four real examples as one batch, beam 3, on the CPU or a
GPU. The same weights and encoder output feed both searches, so the ratio isolates the decoder
work.

    .venv/bin/python bench/decode_aed.py [--threads 2] [--device cuda] [--half bf16,fp16]
                                         [--shape tiny]   # a smoke run of the script

Prints the speed-up of the cached search over the released re-run-everything search, the
time of each decoding mode of a model with a CTC head (joint_ctc_attention, ctc_greedy,
ctc_prefix_beam, attention_rescoring) against the attention search, checks
that their hypotheses are identical (exit 1 if not), and prints the autocast speed ratio of
each reduced precision and how many of its hypotheses agree with fp32. The end-to-end section
times what a user waits for, audio -> features -> encoder -> search (``--e2e_max_len`` steps at
most), the toolkit against the released algorithm, part by part, with the encoder's achieved
FLOP/s against the measured matmul peak. ``RESULT`` lines carry the same figures for
bench/gpu_check.sh.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import DTYPES, result, sync  # noqa: E402
from bench.released_search import uncached_batch_beam_search  # noqa: E402
from fireredasr.data.audio import load_audio  # noqa: E402
from fireredasr.data.cmvn import GlobalCMVN, accumulate_cmvn_stats, write_cmvn  # noqa: E402
from fireredasr.data.fbank import compute_fbank  # noqa: E402
from fireredasr.data.frontend import Frontend, pad_features  # noqa: E402
from fireredasr.models.beam_search import (DECODE_MODES, BeamSearchConfig,  # noqa: E402
                                           batch_beam_search)
from fireredasr.models.checkpoint import save_aed_model  # noqa: E402
from fireredasr.models.fireredasr_aed import FireRedAsrAed  # noqa: E402

EXAMPLES = REPO / "tests" / "fixtures" / "real_examples"


# The AED shapes the bench decodes with: "realistic" is the figure RESULTS.md reports; "tiny"
# only checks that the bench still runs (bench/gpu_check.sh --quick true, in the test suite).
SHAPES = {"realistic": dict(n_layers_enc=12, n_layers_dec=6, n_head=8, d_model=512, odim=7832),
          "tiny": dict(n_layers_enc=2, n_layers_dec=1, n_head=4, d_model=128, odim=500)}


def model_args(shape: str) -> argparse.Namespace:
    return argparse.Namespace(idim=80, residual_dropout=0.1, dropout_rate=0.1, kernel_size=33,
                              pe_maxlen=5000, sos_id=3, eos_id=4, pad_id=2, **SHAPES[shape])


def examples():
    """The real recordings: their paths, samples, and CMVN statistics over them."""
    wavs = sorted(EXAMPLES.glob("*.wav"))
    samples = [load_audio(str(w))[0] for w in wavs]
    return wavs, samples, accumulate_cmvn_stats((compute_fbank(s) for s in samples), 80)


def load_features():
    _, samples, stats = examples()
    fe = Frontend(GlobalCMVN(stats))
    return pad_features([fe.features(s) for s in samples])


def timed(fn, device: str = "cpu"):
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - start


def seqs(hyps):
    return [[h.yseq.tolist() for h in nbest] for nbest in hyps]


RELEASED_DIR = REPO / ".venv" / "released"  # utils/setup_venv.sh installs the released code here


def released_code_run(model: FireRedAsrAed, stats: np.ndarray, wavs, args):
    """(per-part seconds, token ids) of the released inference code on the same weights,
    CMVN and audio, in its own process (bench/released_e2e.py); None when it is not
    installed."""
    if not (RELEASED_DIR / "fireredasr").is_dir() or args.device != "cpu":
        return None
    with tempfile.TemporaryDirectory(prefix="bench_released.") as folder:
        save_aed_model(os.path.join(folder, "model.pth.tar"), model)
        write_cmvn(os.path.join(folder, "cmvn.ark"), stats)
        proc = subprocess.run(
            [sys.executable, str(REPO / "bench" / "released_e2e.py"), "--model_dir", folder,
             "--beam", str(args.beam), "--decode_max_len", str(args.e2e_max_len),
             "--threads", str(args.threads), *map(str, wavs)],
            capture_output=True, text=True, cwd=folder,
            env=dict(os.environ, PYTHONPATH=str(RELEASED_DIR)))
    if proc.returncode != 0:
        raise RuntimeError(f"bench/released_e2e.py failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not out["package"].startswith(str(RELEASED_DIR)):
        raise RuntimeError(f"the released run imported {out['package']}, not the released code")
    return tuple(out["times"]), out["hyps"]


def end_to_end(model: FireRedAsrAed, args, dev: str) -> bool:
    """What a user waits for: audio -> features -> encoder -> search, for the four real
    examples as one batch: the released inference code (its own process, when installed),
    the released search algorithm on the toolkit's encoder and front end, and the toolkit;
    the same weights; per-part times, the encoder's achieved FLOP/s against the measured
    matmul peak, and the step's kernel shapes. Returns whether all hypotheses agree."""
    from torch.utils.flop_counter import FlopCounterMode

    from bench.train_aed import matmul_peak

    wavs, _, stats = examples()
    fe = Frontend(GlobalCMVN(stats))
    cfg = BeamSearchConfig(beam_size=args.beam, decode_max_len=args.e2e_max_len)
    times, hyps = {}, {}
    with torch.no_grad():
        for name, search in (("released algorithm", uncached_batch_beam_search),
                             ("toolkit", batch_beam_search)):
            (feats, lengths), t_feat = timed(
                lambda: pad_features([fe.load(str(w))[0] for w in wavs]))
            feats, lengths = feats.to(dev), lengths.to(dev)
            (enc, _, mask), t_enc = timed(lambda: model.encoder(feats, lengths), dev)
            found, t_search = timed(lambda: search(model.decoder, enc, mask, cfg), dev)
            hyps[name] = [n[0].yseq.tolist() for n in found]
            times[name] = (t_feat, t_enc, t_search)
        with FlopCounterMode(display=False) as counter:
            model.encoder(feats, lengths)
    released = released_code_run(model, stats, wavs, args)
    if released is not None:
        times["released code"], hyps["released code"] = released
    enc_flops = counter.get_total_flops()
    peak = matmul_peak(torch.float32, dev)
    steps = max(len(h) for h in hyps["toolkit"]) + 1
    rows = feats.size(0) * args.beam
    identical = all(h == hyps["toolkit"] for h in hyps.values())
    total = {k: sum(v) for k, v in times.items()}
    names = list(times)
    print(f"\nend to end (audio -> text), {feats.size(0)} utterances as one batch, beam "
          f"{args.beam}, decode_max_len {args.e2e_max_len}, fp32:")
    print("| part | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for i, part in enumerate(("features", "encoder", f"search ({steps} steps)")):
        print(f"| {part} | " + " | ".join(f"{times[n][i]:.2f} s" for n in names) + " |")
    print("| total | " + " | ".join(f"{total[n]:.2f} s" for n in names) + " |")
    if released is None:
        print("(the released code is not installed in .venv/released: bash utils/setup_venv.sh)")
    print(f"hypotheses identical across all: {identical}")
    for base in [n for n in names if n != "toolkit"]:
        ratio = total[base] / total["toolkit"]
        print(f"end-to-end speed-up vs {base}: {ratio:.2f}x")
        result(f"AED decoding ({dev}): end to end vs {base}", ratio,
               f"x; hypotheses identical: {identical}")
    print(f"encoder: {enc_flops / 1e9:.1f} GFLOP in {times['toolkit'][1]:.2f} s = "
          f"{enc_flops / 1e9 / times['toolkit'][1]:.1f} GFLOP/s, {100 * enc_flops / 1e9 / times['toolkit'][1] / peak:.0f}% "
          f"of the measured fp32 matmul peak {peak:.1f} GFLOP/s")
    d = model.decoder
    print(f"search step: {rows} rows (x, {d.d_model}) through {d.n_layers} layers of "
          f"{d.d_model}x{d.d_model} (attention), {d.d_model}x{4 * d.d_model} and "
          f"{4 * d.d_model}x{d.d_model} (MLP) projections, cross-attention over "
          f"{enc.size(1)} encoder frames per utterance, output {d.d_model}x"
          f"{d.tgt_word_prj.out_features}; {1e3 * times['toolkit'][2] / steps:.1f} ms per step")
    return identical


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--decode_max_len", type=int, default=0,
                   help="0: the padded encoder length, as the released default")
    p.add_argument("--e2e_max_len", type=int, default=64,
                   help="decode_max_len of the end-to-end comparison")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--shape", choices=sorted(SHAPES), default="realistic",
                   help="AED shape: realistic (the reported figures) or tiny (a smoke run)")
    p.add_argument("--half", default="bf16", help="reduced precisions to compare with fp32: "
                   "bf16, fp16 (CUDA), or both comma-separated")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    dev = args.device
    model = FireRedAsrAed(model_args(args.shape)).eval().to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    feats, lengths = load_features()
    feats, lengths = feats.to(dev), lengths.to(dev)
    cfg = BeamSearchConfig(beam_size=args.beam, decode_max_len=args.decode_max_len)
    print(f"model: {n_params / 1e6:.1f}M parameters; batch {feats.size(0)}, "
          f"{int(lengths.max())} frames max; beam {args.beam}; {dev}, threads {args.threads}")

    with torch.no_grad():
        model.encoder(feats, lengths)   # warm-up (CUDA kernels, allocator)
        (enc, _, mask), t_enc = timed(lambda: model.encoder(feats, lengths), dev)
    dec = model.decoder
    cached, t_cached = timed(lambda: batch_beam_search(dec, enc, mask, cfg), dev)
    plain, t_plain = timed(lambda: uncached_batch_beam_search(dec, enc, mask, cfg), dev)
    steps = max(len(n[0].yseq) for n in cached)
    identical = seqs(cached) == seqs(plain)
    print(f"encoder (fp32):                       {t_enc:8.2f} s")
    print(f"released uncached beam search (fp32): {t_plain:8.2f} s  ({steps} steps)")
    print(f"toolkit cached beam search (fp32):    {t_cached:8.2f} s")
    print(f"speed-up cached vs uncached:          {t_plain / t_cached:8.1f}x  "
          f"hypotheses identical: {identical}")
    result(f"AED decoding ({dev}): cached search vs released uncached", t_plain / t_cached,
           f"x; {steps} steps, hypotheses identical: {identical}")

    # The decoding modes of a model with a CTC head (FireRedASR2): encoder + search each.
    ctc_model = FireRedAsrAed(model_args(args.shape), ctc=True).eval().to(dev)
    ctc_model.load_state_dict(model.state_dict(), strict=False)  # same weights + a new head
    mode_times = {}
    for mode in DECODE_MODES:
        mcfg = BeamSearchConfig(beam_size=args.beam, decode_max_len=args.decode_max_len,
                                decode_mode=mode)
        _, mode_times[mode] = timed(lambda: ctc_model.transcribe(feats, lengths, mcfg), dev)
    for mode, t in mode_times.items():
        ratio = mode_times["attention"] / t
        print(f"{mode + ' (encoder + search):':38s}{t:8.2f} s  ({ratio:.1f}x attention)")
        if mode != "attention":
            result(f"AED decoding ({dev}): {mode} vs attention beam search", ratio,
                   "x (random weights: the attention search runs to its length limit)")

    def half_run(dtype):
        def run():
            with torch.no_grad(), torch.autocast(dev.split(":")[0], dtype=dtype):
                e, _, m = model.encoder(feats, lengths)
                return batch_beam_search(dec, e, m, cfg)
        return run

    def fp32_run():
        with torch.no_grad():
            e, _, m = model.encoder(feats, lengths)
            return batch_beam_search(dec, e, m, cfg)

    identical = end_to_end(model, args, dev) and identical

    fp32, t_fp32 = timed(fp32_run, dev)
    print(f"encoder + cached search, fp32:        {t_fp32:8.2f} s")
    for name in args.half.split(","):
        half, t_half = timed(half_run(DTYPES[name]), dev)
        agree = sum(a == b for a, b in zip(seqs(fp32), seqs(half)))
        tok_agree = np.mean([np.mean([x == y for x, y in zip(a[0], b[0])] or [1.0])
                             for a, b in zip(seqs(fp32), seqs(half))])
        print(f"encoder + cached search, {name}:        {t_half:8.2f} s")
        print(f"speed-up {name} vs fp32:                {t_fp32 / t_half:8.2f}x  "
              f"identical hypotheses: {agree}/{len(fp32)}; position-wise token agreement "
              f"{100 * tok_agree:.1f}%")
        result(f"AED decoding ({dev}): {name} vs fp32", t_fp32 / t_half,
               f"x; identical hypotheses {agree}/{len(fp32)}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
