"""Benchmark: fbank feature extraction throughput (audio seconds per wall second).

    .venv/bin/python bench/features.py [--minutes 10]

Builds a data dir of 16 kHz wavs from the real examples (repeated to --minutes of audio) and
measures, in one run: the released per-frame extraction loop (kaldi_native_fbank fed a Python
list, frames read back one by one, one process), the toolkit's stage-1 extraction with one job,
and with ``--nj 2`` (ark/scp written). Prints each throughput and its ratio to the released loop.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fireredasr.data.feature_extraction import compute_fbank_dir  # noqa: E402
from fireredasr.data.kaldi_dir import DataDir  # noqa: E402


def released_loop(wav_paths) -> None:
    """The released ASRFeatExtractor's fbank: list input, per-frame reads, vstack."""
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = 80
    opts.frame_opts.snip_edges = True
    opts.mel_opts.debug_mel = False
    for path in wav_paths:
        wav, sr = sf.read(path, dtype="int16")
        fb = knf.OnlineFbank(opts)
        fb.accept_waveform(sr, wav.tolist())
        np.vstack([fb.get_frame(i) for i in range(fb.num_frames_ready)])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    examples = sorted((REPO / "tests" / "fixtures" / "real_examples").glob("*.wav"))
    audio = [sf.read(e, dtype="int16")[0] for e in examples]
    with tempfile.TemporaryDirectory() as tmp:
        d = DataDir(wav=OrderedDict(), text=OrderedDict(), utt2spk=OrderedDict())
        total, i = 0.0, 0
        while total < args.minutes * 60:
            x = audio[i % len(audio)]
            path = Path(tmp) / "wav" / f"u{i:05d}.wav"
            path.parent.mkdir(exist_ok=True)
            sf.write(path, x, 16000, subtype="PCM_16")
            d.wav[f"u{i:05d}"], d.text[f"u{i:05d}"], d.utt2spk[f"u{i:05d}"] = str(path), "文本", "s"
            total += len(x) / 16000
            i += 1
        print(f"{i} utterances, {total / 60:.1f} min of audio, {os.cpu_count()} CPUs")
        t0 = time.perf_counter()
        released_loop(list(d.wav.values()))
        base = total / (time.perf_counter() - t0)
        print(f"released per-frame loop, 1 process:  {base:8.0f} audio-s/s  (1.00x)")
        for nj in (1, 2):
            out = Path(tmp) / f"data_nj{nj}"
            d.save(str(out))
            t0 = time.perf_counter()
            report = compute_fbank_dir(str(out), nj=nj)
            speed = total / (time.perf_counter() - t0)
            assert report.kept == i
            print(f"toolkit stage 1, --nj {nj} (ark/scp): {speed:8.0f} audio-s/s  ({speed / base:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
