#!/usr/bin/env python3
"""A synthetic Mandarin corpus for recipes/mini: sentences from jieba's dictionary, spoken by
espeak-ng with varied voices, written as 16 kHz wavs and Kaldi data dirs.

    local/make_synthetic_corpus.py --out_dir data --wav_dir data/wav \\
        --num_train 6000 --num_dev 200 --num_test 300 --seed 1 --nj 2

Makes data/{train,dev,test} (wav.scp, text, utt2spk, spk2utt, utt2dur). The three sets hold
distinct sentences. Each utterance's voice (variant, rate, pitch, intonation range, level,
optional noise) is drawn from a generator seeded by (seed, set, index), and every utterance
is synthesised from the same library state, so the output is byte-identical for a seed
whatever --nj is.
"""
import argparse
import hashlib
import logging
import os
import random
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from fireredasr.cli_utils import setup_logging
from fireredasr.data.kaldi_dir import DataDir, validate
from fireredasr.parallel import worker_pool
from fireredasr.synthetic.espeak import (ESPEAK_SAMPLE_RATE, EspeakError, EspeakSynthesizer,
                                         VoiceSettings)
from fireredasr.synthetic.pinyin import sentence_to_espeak
from fireredasr.synthetic.sentences import add_corpus_text_arguments, corpus_sentences

logger = logging.getLogger("make_synthetic_corpus")

# Voice variants: female f1-f5, male m1-m7, and the Klatt-synthesiser voices.
VARIANTS = ("f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7",
            "klatt", "klatt2", "klatt3", "klatt4")
SAMPLE_RATE = 16000


def voice_for(rng: random.Random) -> Tuple[VoiceSettings, float, float]:
    """(voice, gain in dB, noise SNR in dB or 0 for none) of one utterance."""
    voice = VoiceSettings(variant=rng.choice(VARIANTS), rate=rng.randint(130, 210),
                          pitch=rng.randint(25, 75), pitch_range=rng.randint(40, 90),
                          volume=rng.randint(70, 100), seed=rng.randint(1, 2 ** 31 - 1))
    gain_db = rng.uniform(-10.0, 0.0)
    snr_db = rng.uniform(15.0, 35.0) if rng.random() < 0.4 else 0.0
    return voice, gain_db, snr_db


def utterance_seed(seed: int, split: str, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{split}/{index}".encode()).digest()[:8], "big")


@dataclass(frozen=True)
class PlannedUtterance:
    """One utterance to synthesise: what is said, how, and where it goes."""

    utt: str
    transcript: str
    espeak_text: str     # tone-numbered pinyin (and phonemes) for espeak-ng
    wav: str
    seed: int            # also seeds the noise
    voice: VoiceSettings
    gain_db: float
    snr_db: float        # 0: no noise


_WORKER = {}  # per worker process: the synthesizer and the resampler, made once


def _synth_job(items: List[PlannedUtterance]) -> List[Tuple[str, float]]:
    """Synthesise planned utterances into their wavs; returns (utt, seconds)."""
    import soundfile as sf
    import torch
    import torchaudio

    if not _WORKER:
        torch.set_num_threads(1)  # one worker per core
        _WORKER["synth"] = EspeakSynthesizer()
        _WORKER["resample"] = torchaudio.transforms.Resample(ESPEAK_SAMPLE_RATE, SAMPLE_RATE)
    out = []
    for u in items:
        raw = _WORKER["synth"].synthesize(u.espeak_text, u.voice).astype(np.float32) / 32768.0
        with torch.no_grad():
            audio = _WORKER["resample"](torch.from_numpy(raw)).numpy()
        audio = audio * np.float32(10 ** (u.gain_db / 20))
        if u.snr_db > 0:
            noise = np.random.default_rng(u.seed).standard_normal(audio.size).astype(np.float32)
            power = float(np.mean(audio ** 2)) or 1e-8
            audio = audio + noise * np.float32(np.sqrt(power / 10 ** (u.snr_db / 10)))
        audio = np.clip(audio, -1.0, 32767 / 32768)
        os.makedirs(os.path.dirname(u.wav), exist_ok=True)
        tmp = u.wav + ".tmp"
        sf.write(tmp, (audio * 32768).astype(np.int16), SAMPLE_RATE, subtype="PCM_16",
                 format="WAV")
        os.replace(tmp, u.wav)
        out.append((u.utt, audio.size / SAMPLE_RATE))
    return out


def plan_utterances(args) -> Dict[str, List[PlannedUtterance]]:
    """Every utterance of every set, its sentence and its voice drawn from the seed."""
    lexicon, sentences_by_set = corpus_sentences(args)
    logger.info("lexicon: %d characters in %d words", len(lexicon.characters),
                sum(len(w) for w in lexicon.words.values()))
    plan = {}
    for split, sentences in sentences_by_set.items():
        items = []
        for i, words in enumerate(sentences):
            useed = utterance_seed(args.seed, split, i)
            voice, gain_db, snr_db = voice_for(random.Random(useed))
            utt = f"{voice.variant}-{split}-{i:06d}"
            items.append(PlannedUtterance(
                utt, "".join(words), sentence_to_espeak(words),
                os.path.join(os.path.abspath(args.wav_dir), split, f"{utt}.wav"),
                useed, voice, gain_db, snr_db))
        plan[split] = items
    return plan


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out_dir", required=True, help="where data/{train,dev,test} go")
    p.add_argument("--wav_dir", required=True)
    add_corpus_text_arguments(p)
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--progress", choices=["auto", "always", "never"], default="auto")
    args = p.parse_args()
    setup_logging()
    try:
        EspeakSynthesizer()  # fail here, with the reason, rather than in every worker
        plan = plan_utterances(args)
    except (EspeakError, FileNotFoundError, ValueError) as e:
        logger.error("%s", e)
        return 1
    todo = [u for items in plan.values() for u in items]
    chunks = [todo[i: i + 25] for i in range(0, len(todo), 25)]
    durations: Dict[str, float] = {}
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="synthesising", disable=not show, dynamic_ncols=True)
    try:
        with worker_pool(max(1, args.nj)) as pool:
            for done in pool.map(_synth_job, chunks):
                durations.update(done)
                bar.update(len(done))
    except EspeakError as e:
        logger.error("%s", e)
        return 1
    finally:
        bar.close()
    for split, items in plan.items():
        d = DataDir(wav=OrderedDict(), text=OrderedDict(), utt2spk=OrderedDict(),
                    utt2dur=OrderedDict())
        for u in items:
            d.wav[u.utt], d.text[u.utt] = u.wav, u.transcript
            d.utt2spk[u.utt] = u.voice.variant
            d.utt2dur[u.utt] = f"{durations[u.utt]:.3f}"
        out = os.path.join(args.out_dir, split)
        d.save(out)
        problems = validate(out)
        if problems:
            logger.error("%s is invalid: %s", out, "; ".join(problems))
            return 1
        hours = sum(durations[u.utt] for u in items) / 3600
        logger.info("%s: %d utterances, %.2f h, %d speakers (voice variants)", out, len(items),
                    hours, len(set(d.utt2spk.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
