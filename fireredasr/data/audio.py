"""Audio reading: files (wav, flac, ... through soundfile) and Kaldi ``cmd |`` pipes.

Every reader returns mono float32 samples in *int16 scale* (as Kaldi and the released
FireRedASR front end see them) at the model's sample rate. Anything that would be misread
silently (several channels, no samples, an unreadable file) raises :class:`AudioError`
naming the source.
"""
from __future__ import annotations

import io
import logging
import os
import struct
import subprocess
from typing import BinaryIO, Optional, Tuple

import numpy as np
import soundfile as sf

logger = logging.getLogger(__name__)

TARGET_SAMPLE_RATE = 16000
INT16_SCALE = 32768.0


class AudioError(RuntimeError):
    """Audio that cannot be used as model input; the message names the source."""


class AudioMissingError(AudioError):
    """The audio file does not exist."""


def is_pipe(spec: str) -> bool:
    """True for a Kaldi wav.scp command entry (``sox a.flac -t wav - |``)."""
    return spec.rstrip().endswith("|")


def _read_pipe_bytes(spec: str) -> bytes:
    cmd = spec.rstrip()[:-1]
    try:
        proc = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
    except OSError as e:
        raise AudioError(f"cannot run audio command '{cmd}': {e}") from e
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[-500:]
        raise AudioError(f"audio command '{cmd}' failed (exit {proc.returncode}): {err}")
    if not proc.stdout:
        raise AudioError(f"audio command '{cmd}' wrote nothing to stdout")
    return proc.stdout


def wav_length_mismatch(f: BinaryIO, total_size: int) -> Optional[str]:
    """For a RIFF/WAVE stream: a message when the ``data`` chunk's declared length exceeds
    the bytes that follow it (a file cut short, header intact), else None."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= total_size:
        f.seek(pos)
        chunk = f.read(8)
        if len(chunk) < 8:
            return None
        size = struct.unpack("<I", chunk[4:])[0]
        if chunk[:4] == b"data":
            available = total_size - (pos + 8)
            if size != 0xFFFFFFFF and size > available:  # 0xFFFFFFFF: length unknown (streamed)
                return (f"its header declares {size} bytes of audio but only {available} "
                        "follow: the file is truncated")
            return None
        pos += 8 + size + (size & 1)  # chunks are padded to even sizes
    return None


def _warn_if_truncated(spec: str, data: Optional[bytes] = None) -> None:
    if data is not None:
        problem = wav_length_mismatch(io.BytesIO(data), len(data))
    else:
        with open(spec, "rb") as f:
            problem = wav_length_mismatch(f, os.fstat(f.fileno()).st_size)
    if problem:
        logger.warning("'%s': %s; reading the samples that are there", spec, problem)


def read_audio_raw(spec: str, start: Optional[float] = None,
                   end: Optional[float] = None) -> Tuple[np.ndarray, int]:
    """Read ``spec`` (a path or a ``cmd |`` pipe) as float32 in [-1, 1], shape (samples, channels).

    ``start``/``end`` (seconds) select a segment; files are read from there without decoding
    the rest (soundfile seeks, Ogg Opus included), pipes are decoded whole and sliced.
    """
    try:
        if is_pipe(spec):
            raw = _read_pipe_bytes(spec)
            _warn_if_truncated(spec, raw)
            data, sr = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
            if start is not None or end is not None:
                data = data[_frame(start, sr, 0): _frame(end, sr, None)]
        else:
            if not os.path.exists(spec):  # libsndfile would only say "System error."
                raise AudioMissingError(f"audio file not found: {spec}")
            if os.path.isdir(spec):
                raise AudioError(f"audio path is a folder, not a file: {spec}")
            _warn_if_truncated(spec)
            sr = sf.info(spec).samplerate if (start is not None or end is not None) else None
            data, sr = sf.read(spec, dtype="float32", always_2d=True,
                               start=_frame(start, sr, 0), stop=_frame(end, sr, None))
    except AudioError:
        raise
    except FileNotFoundError as e:
        raise AudioMissingError(f"audio file not found: {spec}") from e
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as e:
        raise AudioError(f"cannot read audio '{spec}': {e}") from e
    return data, sr


def _frame(seconds: Optional[float], sr: Optional[int], default):
    return default if seconds is None else int(round(seconds * sr))


def resample(samples: np.ndarray, orig_sr: int, new_sr: int) -> np.ndarray:
    """Band-limited resampling (torchaudio's sinc interpolation) of a 1-D signal."""
    import torch
    import torchaudio.functional as AF

    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), orig_sr, new_sr)
    return out.numpy()


# Where one utterance's audio is: (file or ``cmd |`` pipe, segment start, segment end) in
# seconds, None for the whole recording (``DataDir.audio_source``).
AudioSource = Tuple[str, Optional[float], Optional[float]]


def load_audio(spec: str, target_sr: int = TARGET_SAMPLE_RATE, start: Optional[float] = None,
               end: Optional[float] = None) -> Tuple[np.ndarray, int]:
    """Load mono audio (optionally the segment ``start``-``end`` seconds) as float32 in int16
    scale at ``target_sr``.

    Returns ``(samples, target_sr)``. Other sample rates are resampled with a logged note;
    multi-channel and empty audio raise :class:`AudioError`.
    """
    data, sr = read_audio_raw(spec, start, end)
    if data.shape[1] != 1:
        raise AudioError(f"'{spec}' has {data.shape[1]} channels; FireRedASR needs mono "
                         "audio (select or mix a channel first, e.g. 'sox in.wav -c 1 out.wav')")
    samples = data[:, 0]
    if samples.size == 0:
        where = f" [{start}-{end} s]" if start is not None or end is not None else ""
        raise AudioError(f"'{spec}'{where} holds no samples")
    if sr != target_sr:
        logger.info("resampling '%s' from %d Hz to %d Hz", spec, sr, target_sr)
        samples = resample(samples, sr, target_sr)
    return samples * np.float32(INT16_SCALE), target_sr


def audio_duration(samples: np.ndarray, sample_rate: int) -> float:
    """Duration in seconds."""
    return samples.shape[0] / float(sample_rate)
