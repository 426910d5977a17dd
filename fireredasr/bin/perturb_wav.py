"""Write a speed-perturbed copy of one audio input to stdout as 16-bit wav (a wav.scp pipe).

    python -m fireredasr.bin.perturb_wav --factor 0.9 in.wav | ...
"""
from __future__ import annotations

import argparse
import io
import sys

import numpy as np
import soundfile as sf

from fireredasr.data.audio import AudioError, INT16_SCALE, load_audio
from fireredasr.data.augment import speed_perturb


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--factor", type=float, required=True)
    p.add_argument("input", help="audio path or 'cmd |' pipe")
    args = p.parse_args()
    try:
        samples, sr = load_audio(args.input)
    except AudioError as e:
        print(f"perturb_wav: {e}", file=sys.stderr)
        return 1
    out = speed_perturb(samples, args.factor)
    pcm = np.clip(np.round(out), -INT16_SCALE, INT16_SCALE - 1).astype(np.int16)
    buf = io.BytesIO()  # wav headers need a seekable target; stdout may be a pipe
    sf.write(buf, pcm, sr, format="WAV", subtype="PCM_16")
    sys.stdout.buffer.write(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
