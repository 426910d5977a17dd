"""Stages 5 and 8: decode a Kaldi data dir with a model folder, in parallel jobs.

Outputs in ``out_dir``: ``hyp`` (``uttid text``, sorted), ``confidence`` (AED, ``uttid value``),
``timestamp`` (with return_timestamp: CTM lines ``uttid 1 start duration token``), ``nbest`` when
nbest > 1, ``rtf``
(decoding time over audio duration) and ``decode.json`` (the settings and a fingerprint of
the inputs; a finished decode is skipped on re-run only while the model folder, the data dir,
its audio files and the settings are all unchanged, and the log says what changed). An
utterance that cannot be decoded is reported and left out of ``hyp`` (scoring then counts it
as deletions); the rest are decoded.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from fireredasr.data.audio import is_pipe
from fireredasr.data.fingerprint import describe_changes, file_state, folder_state, stat_digest
from fireredasr.data.kaldi_dir import DataDir, contiguous_parts, write_map
from fireredasr.decode.api import check_decode_args, model_family
from fireredasr.decode.postprocess import collapse_repeats
from fireredasr.parallel import worker_pool

logger = logging.getLogger(__name__)

# The data-dir files a decode and its score depend on.
DECODE_DATA_FILES = ("wav.scp", "segments", "feats.scp", "text")

# The settings the FireRedASR paper's numbers were decoded with.
RELEASED_SETTINGS: Dict[str, Dict[str, Any]] = {
    "aed": {"beam_size": 3, "nbest": 1, "decode_max_len": 0, "softmax_smoothing": 1.25,
            "aed_length_penalty": 0.6, "eos_penalty": 1.0, "elm_dir": "", "elm_weight": 0.0,
            "decode_mode": "attention", "ctc_weight": 0.5},
    "llm": {"beam_size": 3, "decode_max_len": 0, "decode_min_len": 0,
            "repetition_penalty": 3.0, "llm_length_penalty": 1.0, "temperature": 1.0},
}


def decode_order(d: DataDir, utts: Sequence[str]) -> List[str]:
    """``utts`` longest first, so that utterances of similar length share a batch. Lengths
    come from utt2num_frames/utt2dur/segments, or are measured (headers; pipes decoded)."""
    from fireredasr.data.dataset import utterance_frames
    from fireredasr.data.feature_extraction import audio_durations

    try:
        frames = utterance_frames(d)
    except FileNotFoundError:
        frames = {u: int(s * 100) for u, s in audio_durations(d, utts, read_pipes=True).items()}
    return sorted(utts, key=lambda u: -frames.get(u, 0))


def _decode_job(model_dir: str, asr_type: str, data_dir: str, utts: List[str],
                args: Dict[str, Any], batch_size: int, device: Optional[str], threads: int
                ) -> Tuple[List[Dict[str, Any]], float, float, int]:
    """Decode ``utts`` of ``data_dir``; returns (results, model seconds, audio seconds, failures)."""
    import torch

    from fireredasr.data.audio import AudioError, audio_duration, load_audio
    from fireredasr.decode.api import FireRedAsr

    torch.set_num_threads(threads)
    if device and device.startswith("cuda"):
        torch.cuda.set_device(device)
    d = DataDir.load(data_dir)
    model = FireRedAsr.from_pretrained(asr_type, model_dir)
    model.check_options(args)
    order = decode_order(d, utts)
    results: List[Dict[str, Any]] = []
    spent = audio = 0.0
    failed = 0
    run_args = dict(args, use_gpu=bool(device and device.startswith("cuda")))
    for start in range(0, len(order), batch_size):
        ids, feats, durs = [], [], []
        for utt in order[start: start + batch_size]:
            spec, seg_start, seg_end = d.audio_source(utt)
            try:
                samples, sr = load_audio(spec, 16000, seg_start, seg_end)
            except AudioError as e:
                logger.error("skipping %s: %s", utt, e)
                failed += 1
                continue
            feat = model.feat_extractor.features(samples)
            dur = audio_duration(samples, sr)
            if not model.accepts(utt, feat, dur):
                failed += 1
                continue
            ids.append(utt)
            feats.append(feat)
            durs.append(dur)
            audio += dur
        if ids:
            out, elapsed = model.decode_features(ids, feats, run_args, durs)
            results.extend(out)
            spent += elapsed
    return results, spent, audio, failed


def write_confidence_and_timestamps(out_dir: str, results: Sequence[Dict[str, Any]]) -> None:
    """``confidence`` and the CTM-style ``timestamp`` file, when the results carry them."""
    ordered = sorted(results, key=lambda r: r["uttid"])
    if any("confidence" in r for r in ordered):
        write_map(os.path.join(out_dir, "confidence"),
                  ((r["uttid"], f"{r['confidence']:.3f}") for r in ordered if "confidence" in r))
    if any("timestamp" in r for r in ordered):
        with open(os.path.join(out_dir, "timestamp"), "w", encoding="utf-8") as f:
            for r in ordered:
                for token, start, end in r.get("timestamp", []):
                    f.write(f"{r['uttid']} 1 {start:.3f} {end - start:.3f} {token}\n")


def decode_inputs(model_dir: str, d: DataDir, data_dir: str) -> Dict[str, Any]:
    """Fingerprint of what a decode reads: every file of the model folder, the data dir's
    maps, and the audio files behind wav.scp (pipes are covered by wav.scp's own hash)."""
    data_files = {name: file_state(os.path.join(data_dir, name)) for name in DECODE_DATA_FILES
                  if os.path.exists(os.path.join(data_dir, name))}
    audio = [spec for spec in d.wav.values() if not is_pipe(spec)]
    return {"model": folder_state(model_dir), "data_dir": data_files,
            "audio": stat_digest(audio)}


def changes_since(done_json: str, spec: Dict[str, Any]) -> List[str]:
    """What differs between a finished decode's record and ``spec`` (empty: nothing)."""
    try:
        with open(done_json, encoding="utf-8") as f:
            previous = json.load(f)
    except (OSError, ValueError):
        return [f"{done_json} is unreadable"]
    changes = []
    for key in ("model_dir", "data_dir", "asr_type", "settings", "collapse_repeats"):
        if previous.get(key) != spec[key]:
            changes.append(f"{key} changed ({previous.get(key)} -> {spec[key]})")
    old, new = previous.get("inputs") or {}, spec["inputs"]
    changes += describe_changes(old.get("model", {}), new["model"], "model folder")
    changes += describe_changes(old.get("data_dir", {}), new["data_dir"], "data dir")
    if old.get("audio") != new["audio"]:
        changes.append("audio files changed (or were added or removed)")
    return changes


def decode_data_dir(model_dir: str, data_dir: str, out_dir: str, asr_type: str = "aed",
                    args: Optional[Dict[str, Any]] = None, batch_size: int = 8, nj: int = 1,
                    ngpu: int = 0, collapse_repeats_over: int = 0) -> Dict[str, Any]:
    """Decode every utterance of ``data_dir`` into ``out_dir``; returns the decode summary.

    ``collapse_repeats_over`` > 0 turns on the repeated-n-gram guard (see
    :func:`collapse_repeats`); how many hypotheses it changed is logged and recorded.
    """
    settings = dict(RELEASED_SETTINGS[model_family(asr_type)], **(args or {}))
    check_decode_args(asr_type, settings)
    d = DataDir.load(data_dir)
    spec = {"model_dir": os.path.abspath(model_dir), "data_dir": os.path.abspath(data_dir),
            "asr_type": asr_type, "settings": settings,
            "collapse_repeats": collapse_repeats_over, "inputs": decode_inputs(model_dir, d,
                                                                               data_dir)}
    done = os.path.join(out_dir, "decode.json")
    if os.path.isfile(done) and os.path.isfile(os.path.join(out_dir, "hyp")):
        changes = changes_since(done, spec)
        if not changes:
            logger.info("%s: finished decode of unchanged model, data and settings, skipped",
                        out_dir)
            with open(done, encoding="utf-8") as f:
                return json.load(f)
        logger.warning("%s: decoding again: %s", out_dir, "; ".join(changes[:10]) +
                       (f" (and {len(changes) - 10} more)" if len(changes) > 10 else ""))
    os.makedirs(out_dir, exist_ok=True)
    utts = sorted(d.utt_ids())
    njobs = max(1, min(ngpu if ngpu > 0 else nj, len(utts)))
    threads = max(1, (os.cpu_count() or 1) // njobs) if ngpu == 0 else 1
    jobs = [(model_dir, asr_type, data_dir, part, settings, batch_size,
             f"cuda:{j % ngpu}" if ngpu > 0 else None, threads)
            for j, part in enumerate(contiguous_parts(utts, njobs))]
    wall = time.perf_counter()
    if njobs == 1:
        outputs = [_decode_job(*jobs[0])]
    else:
        with worker_pool(njobs, "spawn") as ex:  # fresh processes: no forked torch state
            outputs = list(ex.map(_decode_job, *zip(*jobs)))
    wall = time.perf_counter() - wall
    results = [r for out in outputs for r in out[0]]
    guarded = 0
    if collapse_repeats_over > 0:
        for r in results:
            text = collapse_repeats(r["text"], collapse_repeats_over)
            if text != r["text"]:
                logger.info("%s: collapsed repeats: %r -> %r", r["uttid"], r["text"], text)
                r["text"] = text
                guarded += 1
        logger.warning("repeat guard (more than %d repeats) changed %d of %d hypotheses",
                       collapse_repeats_over, guarded, len(results))
    spent = sum(o[1] for o in outputs)
    audio = sum(o[2] for o in outputs)
    failed = sum(o[3] for o in outputs)
    write_map(os.path.join(out_dir, "hyp"), ((r["uttid"], r["text"]) for r in results))
    write_confidence_and_timestamps(out_dir, results)
    if settings.get("nbest", 1) > 1:
        with open(os.path.join(out_dir, "nbest"), "w", encoding="utf-8") as f:
            for r in sorted(results, key=lambda r: r["uttid"]):
                for k, h in enumerate(r["nbest"], 1):
                    f.write(f"{r['uttid']}-{k} {h['score']:.4f} {h['text']}\n")
    summary = dict(spec, utterances=len(utts), decoded=len(results), failed=failed,
                   audio_seconds=round(audio, 3), model_seconds=round(spent, 3),
                   wall_seconds=round(wall, 3), rtf=round(spent / audio, 5) if audio else None,
                   jobs=njobs, collapsed_hyps=guarded)
    with open(os.path.join(out_dir, "rtf"), "w", encoding="utf-8") as f:
        f.write(f"RTF {summary['rtf']} (model time {spent:.2f} s over {audio:.2f} s of audio, "
                f"{njobs} jobs)\n")
    if failed:
        logger.warning("%s: %d of %d utterances could not be decoded (see above)",
                       out_dir, failed, len(utts))
    with open(done, "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    logger.info("%s: decoded %d/%d utterances, RTF %s", out_dir, len(results), len(utts),
                summary["rtf"])
    return summary

