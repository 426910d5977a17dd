"""Training data: utterance table, dynamic batching over length-sorted buckets, sharding.

Shared by the AED and LLM trainers. A batch is a deterministic function of
(seed, epoch, batch index): the order comes from a seeded shuffle and every random transform
draws from a generator seeded with those numbers, so a resumed run sees exactly the batches
an uninterrupted run would.
"""
from __future__ import annotations

import logging
import os
import random
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from fireredasr.data.frontend import Frontend
from fireredasr.data.kaldi_dir import DataDir
from fireredasr.data.prep_report import PrepReport
from fireredasr.data.processor import (UttInfo, collate_features, load_features,
                                       spec_augment)
from fireredasr.data.text_lines import iter_lines, split_key

logger = logging.getLogger(__name__)


def utterance_frames(d: DataDir) -> Dict[str, int]:
    """Frame counts from utt2num_frames, else estimated from utt2dur (10 ms frames)."""
    if d.utt2num_frames is not None:
        return {u: int(v) for u, v in d.utt2num_frames.items()}
    if d.utt2dur is not None:
        return {u: max(0, int((float(v) - 0.015) * 100)) for u, v in d.utt2dur.items()}
    if d.segments is not None:
        return {u: max(0, int((e - s - 0.015) * 100)) for u, (_, s, e) in d.segments.items()}
    raise FileNotFoundError("the data dir has neither utt2num_frames nor utt2dur: run stage 1 "
                            "(fireredasr-compute-fbank, or its --mode on_the_fly) first")


def checked_tokens(tokenize: Callable[[str], Sequence[int]], text: str, max_tokens: int
                   ) -> Tuple[Tuple[int, ...], str]:
    """(token ids, "") of a transcript, or ((), why it is left out of training)."""
    ids = tuple(int(i) for i in tokenize(text))
    if not ids:
        return (), "no tokens after normalisation"
    if len(ids) > max_tokens:
        return (), f"more than max_tokens={max_tokens}"
    return ids, ""


def build_utterance_table(data_dir: str, tokenize: Callable[[str], Sequence[int]], unk_id: int,
                          min_frames: int, max_frames: int, max_tokens: int,
                          name: str = "data") -> List[UttInfo]:
    """Usable utterances of a data dir; every filtered one is counted with its reason."""
    d = DataDir.load(data_dir)
    frames = utterance_frames(d)
    report = PrepReport(f"{name} ({data_dir})")
    with_unk = 0
    infos: List[UttInfo] = []
    for utt in sorted(d.utt_ids()):
        if utt not in d.text or not d.text[utt].strip():
            report.skip(utt, "no transcript")
            continue
        if d.feats is not None and utt not in d.feats:
            report.skip(utt, "no features")
            continue
        n = frames.get(utt)
        if n is None:
            report.skip(utt, "no length (utt2num_frames/utt2dur)")
            continue
        if n < min_frames:
            report.skip(utt, f"fewer than min_frames={min_frames}")
            continue
        if n > max_frames:
            report.skip(utt, f"more than max_frames={max_frames}")
            continue
        ids, why = checked_tokens(tokenize, d.text[utt], max_tokens)
        if why:
            report.skip(utt, why)
            continue
        with_unk += unk_id in ids
        if d.feats is not None:
            infos.append(UttInfo(utt, n, ids, d.text[utt], feats=d.feats[utt]))
        else:
            spec, start, end = d.audio_source(utt)
            infos.append(UttInfo(utt, n, ids, d.text[utt], audio=spec, start=start, end=end))
        report.keep()
    return _finish_table(report, infos, with_unk, name, data_dir, "utterances")


def _finish_table(report: PrepReport, infos: List[UttInfo], with_unk: int, name: str,
                  source: str, what: str) -> List[UttInfo]:
    """Log the kept/skipped summary and the <unk> count; refuse an empty table."""
    report.log()
    if with_unk:
        logger.warning("%s: %d %s contain tokens outside the dictionary (<unk>)",
                       name, with_unk, what)
    if not infos:
        raise ValueError(f"{source}: no usable {what} (see the summary above)")
    return infos


def _sentences(kaldi_texts: Sequence[str], plain_texts: Sequence[str]):
    """(key, sentence) from Kaldi ``text`` files (``uttid text``) and plain files (one
    sentence per line, keyed ``file:line``)."""
    for path in kaldi_texts:
        for _, line in iter_lines(path):
            if line.strip():
                yield split_key(line)
    for path in plain_texts:
        for lineno, line in iter_lines(path):
            yield f"{path}:{lineno}", line.strip()


def build_text_table(kaldi_texts: Sequence[str], plain_texts: Sequence[str],
                     tokenize: Callable[[str], Sequence[int]], unk_id: int, max_tokens: int,
                     name: str = "text") -> List[UttInfo]:
    """Sentences for a text-only task (the external LM). Each sentence's length is its token
    count, so token budgets batch them as frame budgets batch audio; empty and over-long
    sentences are counted with their reason and left out."""
    paths = [*kaldi_texts, *plain_texts]
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{name}: text file not found: {path}")
    report = PrepReport(f"{name} ({', '.join(paths)})")
    with_unk = 0
    infos: List[UttInfo] = []
    for key, text in _sentences(kaldi_texts, plain_texts):
        if not text.strip():
            report.skip(key, "empty text")
            continue
        ids, why = checked_tokens(tokenize, text, max_tokens)
        if why:
            report.skip(key, why)
            continue
        with_unk += unk_id in ids
        infos.append(UttInfo(key, len(ids) + 1, ids, text))
        report.keep()
    return _finish_table(report, infos, with_unk, name, ", ".join(paths), "sentences")


def make_batches(infos: Sequence[UttInfo], max_frames_per_batch: int, bucket_size: int,
                 seed: int, epoch: int, shuffle: bool = True,
                 subset: Optional[Sequence[int]] = None) -> List[List[int]]:
    """Dynamic batches whose padded size (longest x count) stays within ``max_frames_per_batch``,
    built over length-sorted buckets; bucket contents and batch order are seeded shuffles.
    Batches hold indices into ``infos``: of all of them, or of ``subset`` only."""
    rng = random.Random(seed * 100003 + epoch)
    order = list(range(len(infos))) if subset is None else list(subset)
    if shuffle:
        rng.shuffle(order)
    batches: List[List[int]] = []
    for b in range(0, len(order), bucket_size):
        bucket = sorted(order[b: b + bucket_size], key=lambda i: -infos[i].num_frames)
        cur: List[int] = []
        for i in bucket:
            longest = infos[cur[0]].num_frames if cur else infos[i].num_frames
            if cur and longest * (len(cur) + 1) > max_frames_per_batch:
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
    if shuffle:
        rng.shuffle(batches)
    return batches


def shard(batches: List[List[int]], rank: int, world_size: int, pad: bool = False
          ) -> List[Optional[List[int]]]:
    """This rank's batches. Every rank gets the same count, so no rank waits on another:
    training drops the remainder (pad=False), validation pads with ``None`` (pad=True)."""
    if pad:
        n = -(-len(batches) // world_size)
        padded: List[Optional[List[int]]] = list(batches) + [None] * (n * world_size - len(batches))
        return padded[rank::world_size]
    n = len(batches) // world_size
    return batches[: n * world_size][rank::world_size]


def utterance_shares(num_utts: int, world_size: int, seed: int) -> List[List[int]]:
    """A fixed, seeded split of utterance indices into ``world_size`` disjoint shares."""
    order = list(range(num_utts))
    random.Random(seed).shuffle(order)
    return [sorted(order[r::world_size]) for r in range(world_size)]


def shard_by_utterance(infos: Sequence[UttInfo], max_frames_per_batch: int, bucket_size: int,
                       seed: int, epoch: int, rank: int, world_size: int
                       ) -> List[List[int]]:
    """This rank's training batches, made each epoch from its own fixed share of the
    utterances (:func:`utterance_shares`): a process sees the same utterances every epoch,
    so what it caches per utterance is reused. Every rank gets the same count (each computes
    all ranks' batch lists; the longer ones drop their last batches)."""
    per_rank = [make_batches(infos, max_frames_per_batch, bucket_size, seed, epoch, subset=share)
                for share in utterance_shares(len(infos), world_size, seed)]
    n = min(len(b) for b in per_rank)
    return per_rank[rank][:n]


class BatchDataset(torch.utils.data.Dataset):
    """Item k is the collated batch ``batches[k]`` (``None`` entries give an empty batch).

    ``cfg`` is the ``data`` section of the training config (conf/data/*.yaml). ``targets``
    (the task's) builds a batch's target tensors from its utterances. Without a ``frontend``
    the task is text-only and a batch holds only the targets.
    """

    def __init__(self, infos: Sequence[UttInfo], batches: Sequence[Optional[List[int]]],
                 frontend: Optional[Frontend], cfg: Any,
                 targets: Callable[[Sequence[UttInfo]], Dict[str, Any]],
                 seed: int, epoch: int, train: bool, first_index: int = 0):
        self.infos, self.batches = infos, list(batches)
        self.frontend, self.cfg = frontend, cfg
        self.targets = targets
        self.seed, self.epoch, self.train = seed, epoch, train
        self.first_index = first_index  # position of batches[0] within the epoch (resume)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int) -> Dict[str, Any]:
        batch = self.batches[k]
        index = self.first_index + k
        if batch is None:
            return {"utts": [], "skipped": [], "index": index}
        if self.frontend is None:  # a text-only task: token sequences, no audio
            infos = [self.infos[i] for i in batch]
            return dict(self.targets(infos), utts=[x.utt for x in infos],
                        texts=[x.text for x in infos], skipped=[], index=index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        kept: List[UttInfo] = []
        feats: List[np.ndarray] = []
        skipped: List[Tuple[str, str]] = []
        aug = self.cfg.spec_augment
        for i in batch:
            info = self.infos[i]
            try:
                f = load_features(info, self.frontend, rng,
                                  self.cfg.speed_perturb if self.train else (),
                                  self.cfg.dither if self.train else 0.0)
            except Exception as e:  # a corrupt utterance must not stop training
                skipped.append((info.utt, f"{type(e).__name__}: {e}"))
                continue
            if f.shape[0] == 0:
                skipped.append((info.utt, "no frames"))
                continue
            if self.train and aug.get("enabled", False):
                f = spec_augment(f, rng, aug["num_freq_masks"], aug["max_freq_width"],
                                 aug["num_time_masks"], aug["max_time_ratio"])
            kept.append(info)
            feats.append(f)
        if not kept:
            return {"utts": [], "skipped": skipped, "index": index}
        return dict(collate_features([x.utt for x in kept], feats), **self.targets(kept),
                    texts=[x.text for x in kept], skipped=skipped, index=index)


def make_loader(dataset: BatchDataset, num_workers: int, prefetch_factor: int
                ) -> torch.utils.data.DataLoader:
    kwargs: Dict[str, Any] = {}
    if num_workers > 0:
        kwargs = {"prefetch_factor": prefetch_factor, "persistent_workers": False}
    return torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False,
                                       num_workers=num_workers, **kwargs)
