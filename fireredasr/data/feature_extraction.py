"""Stage 1: fbank features of a data dir into Kaldi ark/scp (parallel jobs), and global CMVN.

Features are computed by the inference front end (:class:`Frontend` without CMVN), so stored
and on-the-fly features are identical. CMVN is applied at load time from ``cmvn.ark``, as the
released models do.
"""
from __future__ import annotations

import logging
import os
import random
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import kaldiio
import numpy as np
import soundfile as sf

from fireredasr.data.audio import AudioError, AudioMissingError, is_pipe, load_audio
from fireredasr.data.cmvn import accumulate_cmvn_stats, write_cmvn
from fireredasr.data.fbank import FbankConfig
from fireredasr.data.frontend import Frontend
from fireredasr.data.kaldi_dir import DataDir, contiguous_parts, feature_ark_problems
from fireredasr.data.prep_report import PrepReport
from fireredasr.parallel import worker_pool

logger = logging.getLogger(__name__)


def iter_audio(d: DataDir, utts: Sequence[str], report: PrepReport,
               sample_rate: int = 16000) -> Iterator[Tuple[str, np.ndarray]]:
    """(utt, int16-scale samples) for each readable utterance; failures go into ``report``.

    A piped recording with several segments is decoded once and sliced.
    """
    cached: Tuple[Optional[str], Optional[np.ndarray]] = (None, None)
    for utt in utts:
        spec, start, end = d.audio_source(utt)
        try:
            if start is not None and is_pipe(spec):
                if cached[0] != spec:
                    cached = (spec, load_audio(spec, sample_rate)[0])
                samples = cached[1][int(start * sample_rate): int(end * sample_rate)]
                if samples.size == 0:
                    raise AudioError(f"'{spec}' [{start}-{end} s] holds no samples")
            else:
                samples = load_audio(spec, sample_rate, start, end)[0]
        except AudioError as e:
            report.skip(utt, "audio file missing" if isinstance(e, AudioMissingError)
                        else "unreadable audio")
            logger.warning("skipping %s: %s", utt, e)
            continue
        yield utt, samples


def _extract_job(data_dir: str, utts: List[str], ark: str, fbank: FbankConfig
                 ) -> Tuple[Dict[str, int], PrepReport]:
    import torch

    torch.set_num_threads(1)  # one process per core; threads would oversubscribe
    d = DataDir.load(data_dir)
    report = PrepReport(os.path.basename(ark))
    frontend = Frontend(None, fbank)
    frames: Dict[str, int] = {}
    scp = os.path.splitext(ark)[0] + ".scp"
    with kaldiio.WriteHelper(f"ark,scp:{ark},{scp}") as writer:
        for utt, samples in iter_audio(d, utts, report, fbank.sample_rate):
            feats = frontend.features(samples).numpy()
            if feats.shape[0] == 0:
                report.skip(utt, "shorter than one frame")
                continue
            writer(utt, feats)
            frames[utt] = feats.shape[0]
            report.keep()
    return frames, report


def features_complete(data_dir: str) -> bool:
    """True when feats.scp and utt2num_frames cover exactly the data dir's utterances and
    every ark behind feats.scp exists and is whole (a problem is logged)."""
    if not all(os.path.isfile(os.path.join(data_dir, f)) for f in ("feats.scp", "utt2num_frames")):
        return False
    d = DataDir.load(data_dir)
    if d.feats is None or d.utt2num_frames is None or \
            not set(d.feats) == set(d.utt_ids()) == set(d.utt2num_frames):
        return False
    problems = feature_ark_problems(d.feats)
    for problem in problems:
        logger.warning("%s: %s; computing the features again", data_dir, problem)
    return not problems


def compute_fbank_dir(data_dir: str, nj: int = 1, fbank: FbankConfig = FbankConfig(),
                      feat_dir: Optional[str] = None) -> PrepReport:
    """Write ``<feat_dir>/raw_fbank.<j>.{ark,scp}``, ``feats.scp`` and ``utt2num_frames``.

    Unreadable utterances are counted, logged and removed from the data dir so that it stays
    valid. Returns the merged report.
    """
    d = DataDir.load(data_dir)
    utts = sorted(d.utt_ids())
    nj = max(1, min(nj, len(utts)))
    feat_dir = feat_dir or os.path.join(data_dir, "fbank")
    os.makedirs(feat_dir, exist_ok=True)
    jobs = [(data_dir, part, os.path.abspath(os.path.join(feat_dir, f"raw_fbank.{j + 1}.ark")),
             fbank) for j, part in enumerate(contiguous_parts(utts, nj))]
    if nj == 1:
        results = [_extract_job(*jobs[0])]
    else:
        with worker_pool(nj) as ex:
            results = list(ex.map(_extract_job, *zip(*jobs)))
    report = PrepReport(f"fbank {data_dir}")
    feats: "OrderedDict[str, str]" = OrderedDict()
    frames: "OrderedDict[str, str]" = OrderedDict()
    for (job_frames, job_report), job in zip(results, jobs):
        report.kept += job_report.kept
        for reason, n in job_report.skipped.items():
            report.skip(", ".join(job_report.examples[reason]), reason, n)
        scp = os.path.splitext(job[2])[0] + ".scp"
        with open(scp, encoding="utf-8") as f:
            for line in f:
                utt, loc = line.rstrip("\n").split(maxsplit=1)
                feats[utt] = loc
        frames.update((u, str(n)) for u, n in job_frames.items())
    if report.total_skipped:
        d = d.select(feats)
    d.feats, d.utt2num_frames = feats, frames
    d.save(data_dir)
    report.log()
    return report


def audio_durations(d: DataDir, utts: Sequence[str], read_pipes: bool = False
                    ) -> Dict[str, float]:
    """Seconds per utterance from segment times or audio headers. A pipe has no header: it
    is run and decoded when ``read_pipes``, else left out, as are unreadable files."""
    durs: Dict[str, float] = {}
    for utt in utts:
        spec, start, end = d.audio_source(utt)
        if start is not None:
            durs[utt] = end - start
        elif not is_pipe(spec):
            try:
                durs[utt] = sf.info(spec).duration
            except (sf.LibsndfileError, RuntimeError, OSError) as e:
                logger.warning("no duration for %s: %s", utt, e)
        elif read_pipes:
            try:
                samples, sr = load_audio(spec)
                durs[utt] = samples.shape[0] / sr
            except AudioError as e:
                logger.warning("no duration for %s: %s", utt, e)
    return durs


def write_durations(data_dir: str) -> None:
    """utt2dur from segment times or audio headers (no decoding); pipes are left out."""
    d = DataDir.load(data_dir)
    if d.utt2dur is not None and set(d.utt2dur) == set(d.utt_ids()):
        return
    durs = OrderedDict((u, f"{s:.3f}") for u, s in audio_durations(d, d.utt_ids()).items())
    if len(durs) == len(d):
        d.utt2dur = durs
        d.save(data_dir)
    else:
        logger.warning("%s: utt2dur not written (%d of %d durations known without decoding)",
                       data_dir, len(durs), len(d))


def load_stored_features(location: str, utt: str) -> np.ndarray:
    """The matrix at a feats.scp location; an unreadable one raises RuntimeError naming it."""
    try:
        return kaldiio.load_mat(location)
    except Exception as e:  # kaldiio raises ValueError, OSError, EOFError, ... for bad arks
        raise RuntimeError(f"cannot read the features of {utt} at {location}: {e}") from e


def compute_cmvn_stats(data_dir: str, num_utts: int = 0, seed: int = 0,
                       fbank: FbankConfig = FbankConfig()) -> np.ndarray:
    """Global Kaldi CMVN stats over the data dir (or ``num_utts`` random utterances), from
    feats.scp when present, else from the audio."""
    d = DataDir.load(data_dir)
    utts = sorted(d.feats if d.feats else d.utt_ids())
    if 0 < num_utts < len(utts):
        utts = sorted(random.Random(seed).sample(utts, num_utts))
    if d.feats:
        problems = feature_ark_problems(d.feats)
        if problems:
            raise RuntimeError(f"{data_dir}: " + "; ".join(problems))
        stream = (load_stored_features(d.feats[u], u) for u in utts)
    else:
        frontend = Frontend(None, fbank)
        report = PrepReport(f"cmvn {data_dir}")
        stream = (frontend.features(s).numpy() for _, s in iter_audio(d, utts, report))
    stats = accumulate_cmvn_stats(stream, fbank.num_mel_bins)
    if stats[0, -1] < 1:
        raise RuntimeError(f"no frames to compute CMVN from in {data_dir}")
    return stats


def compute_cmvn_file(data_dir: str, out_path: str, num_utts: int = 0, seed: int = 0) -> None:
    write_cmvn(out_path, compute_cmvn_stats(data_dir, num_utts, seed))
    logger.info("wrote %s", out_path)
