"""Frozen-encoder outputs kept per utterance, so later epochs skip the encoder.

With ``model.freeze_encoder=true`` and deterministic features (no SpecAugment, speed
perturbation or dither) an utterance's encoder output is the same every epoch; on CPU the
encoder's forward pass was about 30% of an LLM-ASR training step (bench/train_llm_frozen.py).
The cache holds each utterance's valid frames, up to a byte budget; utterances that no longer
fit are encoded every time (counted and logged once). An output does not depend on the batch it
was computed in: the encoder masks padded frames.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from omegaconf import DictConfig

logger = logging.getLogger(__name__)

EncodeFn = Callable[[torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor]]


def check_cacheable(cfg: DictConfig) -> None:
    """A ValueError naming the setting that makes encoder outputs change between epochs."""
    data = cfg.data
    problems = []
    if not cfg.model.freeze_encoder:
        problems.append("model.freeze_encoder=false (the encoder trains)")
    if data.spec_augment.enabled:
        problems.append("data.spec_augment.enabled=true")
    if list(data.speed_perturb):
        problems.append(f"data.speed_perturb={list(data.speed_perturb)}")
    if float(data.dither) > 0.0:
        problems.append(f"data.dither={data.dither}")
    if problems:
        raise ValueError("model.encoder_cache_gb > 0 caches the encoder outputs of each "
                         "utterance, which needs a frozen encoder and the same features every "
                         "epoch; change " + ", ".join(problems) + " or set model.encoder_cache_gb=0")


class EncoderOutputCache:
    """Encoder outputs (valid frames only) by utterance id, within ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self.uncached = 0  # encodings that did not fit the budget
        self._store: Dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._store)

    @torch.no_grad()
    def encode(self, encode: EncodeFn, utts: Sequence[str], feats: torch.Tensor,
               feat_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``encode(feats, feat_lengths)`` -> (outputs (N, T', d), lengths (N,)) for the batch,
        running ``encode`` only on the utterances not cached yet."""
        missing = [i for i, u in enumerate(utts) if u not in self._store]
        fresh: Dict[int, torch.Tensor] = {}
        if missing:
            index = torch.tensor(missing, device=feats.device)
            lengths = feat_lengths.index_select(0, index)
            sub = feats.index_select(0, index)[:, : int(lengths.max())]
            out, out_lengths = encode(sub, lengths)
            for row, (i, n) in enumerate(zip(missing, out_lengths.tolist())):
                fresh[i] = out[row, :n]
                self._keep(utts[i], fresh[i])
        rows: List[torch.Tensor] = [fresh[i] if i in fresh else self._store[u]
                                    for i, u in enumerate(utts)]
        lengths = torch.tensor([r.size(0) for r in rows], device=feats.device)
        return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True), lengths

    def _keep(self, utt: str, out: torch.Tensor) -> None:
        size = out.numel() * out.element_size()
        if self.bytes + size > self.max_bytes:
            if not self.uncached:
                logger.warning("encoder cache full at %.2f GB (%d utterances): model."
                               "encoder_cache_gb; the rest are encoded every epoch",
                               self.bytes / 1e9, len(self._store))
            self.uncached += 1
            return
        self._store[utt] = out.clone()
        self.bytes += size
