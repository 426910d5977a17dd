"""Stages 7 and 11: decode a Kaldi data dir with a model folder, in parallel jobs.

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

import dataclasses
import json
import logging
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from fireredasr.data.audio import is_pipe
from fireredasr.data.dataset import utterance_frames
from fireredasr.data.feature_extraction import audio_durations
from fireredasr.data.fingerprint import describe_changes, file_state, folder_state, stat_digest
from fireredasr.data.kaldi_dir import DataDir, contiguous_parts, write_map
from fireredasr.decode.api import FireRedAsr, model_family
from fireredasr.decode.options import OPTIONS_BY_FAMILY, DecodeOptions, decode_options
from fireredasr.decode.postprocess import collapse_repeats
from fireredasr.parallel import worker_pool

logger = logging.getLogger(__name__)

# The data-dir files a decode and its score depend on.
DECODE_DATA_FILES = ("wav.scp", "segments", "feats.scp", "text")

def decode_order(d: DataDir, utts: Sequence[str]) -> List[str]:
    """``utts`` longest first, so that utterances of similar length share a batch. Lengths
    come from utt2num_frames/utt2dur/segments, or are measured (headers; pipes decoded)."""
    try:
        frames = utterance_frames(d)
    except FileNotFoundError:
        frames = {u: int(s * 100) for u, s in audio_durations(d, utts, read_pipes=True).items()}
    return sorted(utts, key=lambda u: -frames.get(u, 0))


def _decode_job(model_dir: str, asr_type: str, data_dir: str, utts: List[str],
                opts: DecodeOptions, batch_size: int, device: Optional[str], threads: int
                ) -> Tuple[List[Dict[str, Any]], float, float, int]:
    """Decode ``utts`` of ``data_dir``; returns (results, model seconds, audio seconds, failures)."""
    torch.set_num_threads(threads)
    if device and device.startswith("cuda"):
        torch.cuda.set_device(device)
    d = DataDir.load(data_dir)
    model = FireRedAsr.from_pretrained(asr_type, model_dir)
    opts = dataclasses.replace(model.check_options(opts),
                               use_gpu=bool(device and device.startswith("cuda")))
    order = decode_order(d, utts)
    results: List[Dict[str, Any]] = []
    spent = audio = 0.0
    failed = 0
    for start in range(0, len(order), batch_size):
        batch = order[start: start + batch_size]
        kept, feats, durs = model.load_inputs(batch, [d.audio_source(u) for u in batch])
        failed += len(batch) - len(kept)
        if kept:
            out, elapsed = model.decode_features([batch[i] for i in kept], feats, opts, durs)
            results.extend(out)
            spent += elapsed
            audio += sum(durs)
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
                    options: Union[None, Mapping[str, Any], DecodeOptions] = None,
                    batch_size: int = 8, nj: int = 1,
                    ngpu: int = 0, collapse_repeats_over: int = 0) -> Dict[str, Any]:
    """Decode every utterance of ``data_dir`` into ``out_dir``; returns the decode summary.

    ``options`` is the family's options object, or a released ``args`` dict whose keys
    override the paper's settings (the default). ``collapse_repeats_over``
    > 0 turns on the repeated-n-gram guard (see :func:`collapse_repeats`); how many
    hypotheses it changed is logged and recorded.
    """
    family = model_family(asr_type)
    opts = decode_options(family, options, base=OPTIONS_BY_FAMILY[family].paper())
    d = DataDir.load(data_dir)
    spec = {"model_dir": os.path.abspath(model_dir), "data_dir": os.path.abspath(data_dir),
            "asr_type": asr_type, "settings": opts.to_dict(),
            "collapse_repeats": collapse_repeats_over,
            "inputs": decode_inputs(model_dir, d, data_dir)}
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
    wall = time.perf_counter()
    outputs = run_jobs(model_dir, asr_type, data_dir, utts, opts, batch_size, njobs, ngpu)
    wall = time.perf_counter() - wall
    results = [r for out in outputs for r in out[0]]
    guarded = guard_repeats(results, collapse_repeats_over)
    spent, audio, failed = (sum(o[k] for o in outputs) for k in (1, 2, 3))
    write_outputs(out_dir, results, with_nbest=getattr(opts, "nbest", 1) > 1)
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


def run_jobs(model_dir: str, asr_type: str, data_dir: str, utts: List[str],
             opts: DecodeOptions, batch_size: int, njobs: int, ngpu: int) -> List[Tuple]:
    """Contiguous parts of ``utts`` decoded by ``njobs`` jobs (one per GPU with ``ngpu``),
    in fresh processes when there is more than one."""
    threads = max(1, (os.cpu_count() or 1) // njobs) if ngpu == 0 else 1
    jobs = [(model_dir, asr_type, data_dir, part, opts, batch_size,
             f"cuda:{j % ngpu}" if ngpu > 0 else None, threads)
            for j, part in enumerate(contiguous_parts(utts, njobs))]
    if njobs == 1:
        return [_decode_job(*jobs[0])]
    with worker_pool(njobs, "spawn") as ex:  # fresh processes: no forked torch state
        return list(ex.map(_decode_job, *zip(*jobs)))


def guard_repeats(results: List[Dict[str, Any]], over: int) -> int:
    """Collapse n-grams repeated more than ``over`` times in the texts (0: off); returns how
    many hypotheses changed, each logged."""
    if over <= 0:
        return 0
    guarded = 0
    for r in results:
        text = collapse_repeats(r["text"], over)
        if text != r["text"]:
            logger.info("%s: collapsed repeats: %r -> %r", r["uttid"], r["text"], text)
            r["text"] = text
            guarded += 1
    logger.warning("repeat guard (more than %d repeats) changed %d of %d hypotheses",
                   over, guarded, len(results))
    return guarded


def write_outputs(out_dir: str, results: Sequence[Dict[str, Any]], with_nbest: bool) -> None:
    """``hyp``, ``confidence``/``timestamp`` when the results carry them, ``nbest``."""
    write_map(os.path.join(out_dir, "hyp"), ((r["uttid"], r["text"]) for r in results))
    write_confidence_and_timestamps(out_dir, results)
    if with_nbest:
        with open(os.path.join(out_dir, "nbest"), "w", encoding="utf-8") as f:
            for r in sorted(results, key=lambda r: r["uttid"]):
                for k, h in enumerate(r["nbest"], 1):
                    f.write(f"{r['uttid']}-{k} {h['score']:.4f} {h['text']}\n")
