"""External LSTM LM training task (FireRedASR2's ``elm/``): model, loss, export.

The third task on the shared trainer, beside the AED and the LLM: text only, on the AED's own
dictionary, because fusion adds the two models' scores token by token.
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Any, Dict, List, Tuple

import torch
from omegaconf import DictConfig

from fireredasr.data.dataset import build_text_table
from fireredasr.data.processor import UttInfo
from fireredasr.models.checkpoint import save_elm
from fireredasr.models.lstm_lm import ELM_EOS_ID, ELM_PAD_ID, ELM_SOS_ID, LstmLm
from fireredasr.train.aed_task import DictionaryTask, special_ids
from fireredasr.train.loss import label_smoothed_ce, token_accuracy
from fireredasr.train.task import Stats

logger = logging.getLogger(__name__)


def check_dictionary(tokenizer) -> Tuple[int, int, int]:
    """(sos, eos, pad) of the dictionary, which must sit where the released LM fixes them."""
    sos, eos, pad = special_ids(tokenizer)
    if (sos, eos, pad) != (ELM_SOS_ID, ELM_EOS_ID, ELM_PAD_ID):
        raise ValueError(f"dict.txt has <sos>/<eos>/<pad> at {sos}/{eos}/{pad}; the released "
                         f"LSTM LM fixes them at {ELM_SOS_ID}/{ELM_EOS_ID}/{ELM_PAD_ID}")
    return sos, eos, pad


def model_args(model_cfg: DictConfig, vocab_size: int) -> argparse.Namespace:
    """The released ``args`` Namespace of the LM for this configuration and vocabulary."""
    return argparse.Namespace(idim=vocab_size, embedding_dim=model_cfg.embedding_dim,
                              hidden_size=model_cfg.hidden_size, num_layers=model_cfg.num_layers,
                              dropout=model_cfg.dropout, odim=vocab_size,
                              tie_weights=bool(model_cfg.tie_weights))


def build_model(model_cfg: DictConfig, vocab_size: int) -> LstmLm:
    model = LstmLm.from_args(model_args(model_cfg, vocab_size))
    # N(0, 1/d) embeddings: with tied weights nn.Embedding's N(0, 1) starts the output
    # logits with a standard deviation of sqrt(d) (the same reason as the AED decoder).
    torch.nn.init.normal_(model.embedding.weight, std=model_cfg.embedding_dim ** -0.5)
    n = sum(p.numel() for p in model.parameters())
    logger.info("LSTM LM: %.2fM parameters", n / 1e6)
    return model


def compute_loss(label_smoothing: float):
    """(engine or model, batch) -> (next-token cross entropy per token, stats)."""
    def loss_fn(model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        device = next(model.parameters()).device
        logits, _ = model(batch["ys_in"].to(device))
        targets = batch["ys_out"].to(device)
        loss, _ = label_smoothed_ce(logits, targets, label_smoothing)
        correct, total = token_accuracy(logits, targets)
        return loss, {"tokens": float(total), "correct": float(correct), "frames": 0.0}
    return loss_fn


def export_model_folder(out_dir: str, model_cfg: DictConfig, vocab_size: int,
                        state: Dict[str, torch.Tensor]) -> None:
    """An ``elm/`` folder in the released FireRedASR2 layout (``model.pth.tar``)."""
    model = LstmLm.from_args(model_args(model_cfg, vocab_size))
    model.load_state_dict(state, strict=True)  # checks the weights fit before writing
    os.makedirs(out_dir, exist_ok=True)
    save_elm(out_dir, model)


class LmTask(DictionaryTask):
    """The external LSTM LM of FireRedASR2 (conf/train_lm.yaml): text only, on the AED's
    dictionary; the text of data.train_dir plus the ``data.extra_text`` files."""

    def __init__(self, cfg: DictConfig):
        super().__init__(cfg)
        check_dictionary(self.tokenizer)  # its special ids must sit where the LM fixes them
        self._loss = compute_loss(cfg.trainer.label_smoothing)

    def frontend(self) -> None:
        return None

    def load_data(self) -> Tuple[List[UttInfo], List[UttInfo]]:
        d = self.cfg.data
        train = build_text_table([os.path.join(d.train_dir, "text")], list(d.extra_text),
                                 self.tokenize, self.unk_id, d.max_tokens, "train")
        valid = build_text_table([os.path.join(d.valid_dir, "text")], [], self.tokenize,
                                 self.unk_id, d.max_tokens, "valid")
        return train, valid

    def build_model(self) -> LstmLm:
        return build_model(self.cfg.model, len(self.tokenizer))

    def compute_loss(self, model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Stats]:
        return self._loss(model, batch)

    def export(self, out_dir: str, state: Dict[str, torch.Tensor], **options: Any) -> None:
        export_model_folder(out_dir, self.cfg.model, len(self.tokenizer), state)
