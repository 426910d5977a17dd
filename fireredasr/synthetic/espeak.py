"""espeak-ng through ctypes (the library and data of the ``espeakng-loader`` wheel).

Two things make espeak-ng's output vary: initialisation seeds its random generator (the
breath noise of the f1-f5 variants) from the clock, and the library keeps state between
calls (the same text synthesised twice in one process differs in a few samples). So the
generator is seeded from the voice settings, and :class:`EspeakSynthesizer` runs a small
helper process (started fresh, with nothing but this module loaded) that never synthesises
itself: it forks one child per utterance, so every utterance starts from the same untouched
library state. The output is then a function of the text and the settings alone,
byte-identical across runs and job counts.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import List

import numpy as np

ESPEAK_SAMPLE_RATE = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8, _PHONEMES = 0x1, 0x100  # espeak_Synth flags: UTF-8 text, [[phoneme]] input
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}  # espeak_PARAMETER values
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                   ctypes.c_void_p)


class EspeakError(RuntimeError):
    """espeak-ng is missing or refused the input; the message says how to fix it."""


@dataclass(frozen=True)
class VoiceSettings:
    """One utterance's voice: the espeak variant and the prosody parameters."""

    variant: str = "f2"        # f1-f5, m1-m7, klatt, klatt2-4, ...
    rate: int = 170            # words per minute (espeak's unit)
    pitch: int = 50            # 0-100
    pitch_range: int = 60      # 0-100; wider makes the tones more audible
    volume: int = 100          # 0-200
    seed: int = 1              # espeak's own random generator (the breath noise of f1-f5)


class EspeakSynthesizer:
    """Mandarin synthesis with the ``cmn-latn-pinyin`` voice (input: tone-numbered pinyin)."""

    def __init__(self, language: str = "cmn-latn-pinyin"):
        _Espeak(language)  # fail here, with the reason, rather than in the helper
        self._helper = subprocess.Popen([sys.executable, "-m", __name__, language],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def synthesize(self, text: str, voice: VoiceSettings) -> np.ndarray:
        """int16 samples at :data:`ESPEAK_SAMPLE_RATE`."""
        try:
            pickle.dump((text, voice), self._helper.stdin)
            self._helper.stdin.flush()
            ok, payload = pickle.load(self._helper.stdout)
        except (EOFError, BrokenPipeError) as e:
            raise EspeakError(f"the espeak-ng helper died while synthesising {text!r}") from e
        if not ok:
            raise EspeakError(payload)
        return np.frombuffer(payload, dtype=np.int16)

    def close(self) -> None:
        if self._helper.poll() is None:
            self._helper.stdin.close()
            self._helper.wait(timeout=10)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _helper_main(language: str) -> None:
    """The helper: requests on stdin, answers on stdout, one forked child per request, so
    the library state here never changes."""
    engine = _Espeak(language)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            text, voice = pickle.load(requests)
        except EOFError:
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: synthesise, send the samples (or an error), exit
            os.close(read_fd)
            status = 0
            try:
                payload = b"A" + engine.synthesize(text, voice).tobytes()
            except Exception as e:  # reported to the parent, which raises it
                payload, status = b"E" + str(e).encode(errors="replace"), 1
            with os.fdopen(write_fd, "wb") as w:
                w.write(payload)
            os._exit(status)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as r:
            payload = r.read()
        os.waitpid(pid, 0)
        if payload[:1] == b"A":
            pickle.dump((True, payload[1:]), answers)
        else:
            pickle.dump((False, payload[1:].decode(errors="replace") or
                         f"espeak-ng died while synthesising {text!r}"), answers)
        answers.flush()


class _Espeak:
    """The ctypes binding itself; synthesises in the calling process."""

    def __init__(self, language: str):
        try:
            import espeakng_loader
        except ImportError as e:
            raise EspeakError("the espeakng-loader package is not installed; run "
                              "utils/setup_venv.sh (it installs the pinned dependencies)") from e
        lib_path = espeakng_loader.get_library_path()
        self.data_path = espeakng_loader.get_data_path()
        try:
            self.lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise EspeakError(f"cannot load the espeak-ng library {lib_path}: {e}") from e
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.language = language

    def synthesize(self, text: str, voice: VoiceSettings) -> np.ndarray:
        chunks: List[np.ndarray] = []

        def collect(wav, n, _events):
            if n > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        callback = _SYNTH_CALLBACK(collect)
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), 0)
        if rate != ESPEAK_SAMPLE_RATE:
            raise EspeakError(f"espeak_Initialize failed or gave {rate} Hz "
                              f"(data: {self.data_path})")
        self.lib.espeak_SetSynthCallback(callback)
        # Initialisation seeds espeak's generator from the clock: seed it from the settings.
        self.lib.espeak_ng_SetRandSeed(ctypes.c_long(voice.seed))
        name = f"{self.language}+{voice.variant}".encode()
        if self.lib.espeak_SetVoiceByName(name) != 0:
            raise EspeakError(f"espeak-ng has no voice {name.decode()!r}")
        for key, value in (("rate", voice.rate), ("volume", voice.volume),
                           ("pitch", voice.pitch), ("range", voice.pitch_range)):
            self.lib.espeak_SetParameter(_PARAM[key], int(value), 0)
        data = text.encode()
        if self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8 | _PHONEMES,
                                 None, None) != 0:
            raise EspeakError(f"espeak_Synth refused {text!r}")
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


if __name__ == "__main__":
    _helper_main(sys.argv[1])
