"""FireRedASR-AED training task: model construction, loss, export to the released layout."""
from __future__ import annotations

import argparse
import logging
import os
import shutil
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from omegaconf import DictConfig

from fireredasr.data.processor import IGNORE_ID, UttInfo, collate_tokens
from fireredasr.models import released_layout as layout
from fireredasr.models.checkpoint import CheckpointError, load_package, save_package
from fireredasr.models.ctc import CTC, CTC_BLANK_ID
from fireredasr.models.fireredasr_aed import FireRedAsrAed
from fireredasr.tokenizer.aed_tokenizer import ChineseCharEnglishSpmTokenizer
from fireredasr.tokenizer.build import LANG_BPE_NAME, LANG_DICT
from fireredasr.tokenizer.pinyin_units import PinyinUnits
from fireredasr.train.loss import label_smoothed_ce, token_accuracy
from fireredasr.train.task import Stats, Task

logger = logging.getLogger(__name__)

AUX_PREFIX = "aux_ctc."  # training-only weights, never exported


def lang_files(lang_dir: str) -> Tuple[str, str]:
    """(dict.txt, BPE model) paths of a lang dir. A lang dir holding the released
    ``train_bpe1000.model`` instead (copied from a released folder for fine-tuning, or made
    by an earlier version) is read as it is."""
    bpe = os.path.join(lang_dir, LANG_BPE_NAME + ".model")
    released = os.path.join(lang_dir, layout.BPE_MODEL)
    if not os.path.isfile(bpe) and os.path.isfile(released):
        bpe = released
    return os.path.join(lang_dir, LANG_DICT), bpe


def load_tokenizer(lang_dir: str) -> ChineseCharEnglishSpmTokenizer:
    """The tokenizer of a lang dir (``dict.txt`` and the BPE model, stage 2)."""
    files = lang_files(lang_dir)
    for path in files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: run stage 2 (tokenizer) first")
    return ChineseCharEnglishSpmTokenizer.from_files(*files)


def special_ids(tokenizer) -> Tuple[int, int, int]:
    """(sos, eos, pad) ids from the dictionary."""
    d = tokenizer.dict
    for tok in ("<sos>", "<eos>", "<pad>"):
        if tok not in d:
            raise ValueError(f"dict.txt lacks {tok}")
    return d.token2id["<sos>"], d.token2id["<eos>"], d.token2id["<pad>"]


def model_args(model_cfg: DictConfig, tokenizer) -> argparse.Namespace:
    """The released ``args`` Namespace for this configuration and vocabulary."""
    sos, eos, pad = special_ids(tokenizer)
    return argparse.Namespace(
        idim=model_cfg.idim, n_layers_enc=model_cfg.n_layers_enc,
        n_layers_dec=model_cfg.n_layers_dec, n_head=model_cfg.n_head, d_model=model_cfg.d_model,
        residual_dropout=model_cfg.residual_dropout, dropout_rate=model_cfg.dropout_rate,
        kernel_size=model_cfg.kernel_size, pe_maxlen=model_cfg.pe_maxlen, odim=len(tokenizer),
        sos_id=sos, eos_id=eos, pad_id=pad)


def init_for_training(model: FireRedAsrAed) -> None:
    """Scale the tied embedding/output matrix to N(0, 1/d): with nn.Embedding's N(0, 1) the
    first logits have a standard deviation of sqrt(d) and the initial loss is in the tens."""
    d = model.decoder.d_model
    torch.nn.init.normal_(model.decoder.tgt_word_emb.weight, std=d ** -0.5)


def pinyin_units(model_cfg: DictConfig, tokenizer) -> Optional[PinyinUnits]:
    """The auxiliary CTC's units when ``model.pinyin_ctc_weight`` > 0, else None."""
    if float(model_cfg.get("pinyin_ctc_weight", 0.0)) <= 0.0:
        return None
    units = PinyinUnits(tokenizer.dict.id2token)
    if len(units) < 2:
        raise ValueError("model.pinyin_ctc_weight > 0 but dict.txt has no Chinese characters")
    return units


def build_model(model_cfg: DictConfig, tokenizer,
                pinyin: Optional[PinyinUnits] = None) -> FireRedAsrAed:
    """The AED for ``model_cfg``, with the auxiliary CTC head over ``pinyin`` units (the
    ``pinyin_units`` of the same config) when given."""
    with_ctc = float(model_cfg.get("ctc_weight", 0.0)) > 0.0
    if with_ctc and tokenizer.dict.token2id.get("<blank>") != CTC_BLANK_ID:
        raise ValueError(f"model.ctc_weight > 0 needs <blank> at id {CTC_BLANK_ID} of dict.txt")
    model = FireRedAsrAed.from_args(model_args(model_cfg, tokenizer), ctc=with_ctc,
                                    aux_units=len(pinyin) if pinyin else 0)
    init_for_training(model)
    if model_cfg.get("init_from"):
        path = os.path.join(model_cfg.init_from, layout.MODEL)
        package = load_package(path)
        try:
            missing, unexpected = model.load_state_dict(package["model_state_dict"], strict=False)
            # A released v1 folder has no CTC head: only that may start from scratch.
            missing = [k for k in missing if not k.startswith(("ctc.", AUX_PREFIX))]
            if missing or unexpected:
                raise RuntimeError(f"missing keys {missing[:5]}, unexpected keys {unexpected[:5]}")
        except RuntimeError as e:
            raise CheckpointError(
                f"model.init_from={model_cfg.init_from} does not fit the configured model "
                f"(its args: {package['args']}); set model.* and the dictionary to match it: "
                f"{str(e)[:500]}") from e
        logger.info("initialised from %s", path)
    n = sum(p.numel() for p in model.parameters())
    logger.info("AED model: %.2fM parameters", n / 1e6)
    return model


def compute_loss(label_smoothing: float, ctc_weight: float = 0.0,
                 pinyin: Optional[PinyinUnits] = None, pinyin_ctc_weight: float = 0.0):
    """The loss function the trainer calls: (engine or model, batch) -> (loss, stats).

    With ``ctc_weight`` w > 0 the loss is (1 - w) * attention + w * CTC, both per token; with
    ``pinyin`` units and ``pinyin_ctc_weight`` p > 0, p * (the auxiliary CTC per unit) is added.
    """
    def loss_fn(model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        param = next(model.parameters())  # bf16/fp16 engines hold half-precision weights
        feats = batch["feats"].to(param.device, param.dtype)
        device = param.device
        ys_in = batch["ys_in"].to(device)
        out = model(feats, batch["feat_lengths"].to(device), ys_in)
        logits, targets = out[0], batch["ys_out"].to(device)
        loss, count = label_smoothed_ce(logits, targets, label_smoothing)
        correct, total = token_accuracy(logits, targets)
        stats = {"tokens": float(total), "correct": float(correct),
                 "frames": float(batch["feat_lengths"].sum())}
        # CTC targets: the tokens without <sos>/<eos> (ys_in after <sos>, up to its length).
        lengths = (targets != IGNORE_ID).sum(dim=1) - 1
        if ctc_weight > 0.0:
            ctc = CTC.loss_sum(out[2], out[1], ys_in[:, 1:], lengths, CTC_BLANK_ID) / \
                lengths.sum().clamp(min=1)
            stats["att_loss"] = float(loss.detach())
            stats["ctc_loss"] = float(ctc.detach())
            loss = (1.0 - ctc_weight) * loss + ctc_weight * ctc
        if pinyin is not None and pinyin_ctc_weight > 0.0:
            units, unit_lengths = pinyin.targets(ys_in[:, 1:], lengths)
            aux = CTC.loss_sum(out[-1], out[1], units, unit_lengths, CTC_BLANK_ID) / \
                unit_lengths.sum().clamp(min=1)
            stats["pinyin_ctc_loss"] = float(aux.detach())
            loss = loss + pinyin_ctc_weight * aux
        return loss, stats
    return loss_fn


def export_model_folder(out_dir: str, args: argparse.Namespace,
                        state_dict: Dict[str, torch.Tensor], lang_dir: str, cmvn: str) -> None:
    """A model folder in the released AED layout (v1, or v2 with a CTC head), loadable by the
    released inference code of that version."""
    os.makedirs(out_dir, exist_ok=True)
    # With a CTC head the folder is in the FireRedASR2 layout (``ctc.ctc_lo``), without one
    # in the v1 layout; each loads in its own released inference code.
    state_dict = {k: v for k, v in state_dict.items() if not k.startswith(AUX_PREFIX)}
    with_ctc = any(k.startswith("ctc.") for k in state_dict)
    model = FireRedAsrAed.from_args(args, ctc=with_ctc)
    model.load_state_dict(state_dict, strict=True)  # checks the weights fit before writing
    save_package(os.path.join(out_dir, layout.MODEL), model.args,
                 {k: v.detach().cpu() for k, v in model.state_dict().items()})
    dict_path, bpe_path = lang_files(lang_dir)
    for src, name in ((dict_path, layout.DICT), (bpe_path, layout.BPE_MODEL),
                      (cmvn, layout.CMVN)):
        if not os.path.isfile(src):
            raise FileNotFoundError(f"{src} not found for the exported model folder")
        shutil.copyfile(src, os.path.join(out_dir, name))


class DictionaryTask(Task):
    """A task whose text is the AED dictionary's tokens (the AED, and the LSTM LM fused with
    it): the tokenizer of ``data.lang_dir`` and teacher-forcing targets (sos + y, y + eos)."""

    def __init__(self, cfg: DictConfig):
        super().__init__(cfg)
        self.tokenizer = load_tokenizer(cfg.data.lang_dir)
        self.ids = special_ids(self.tokenizer)

    def tokenize(self, text: str) -> List[int]:
        return self.tokenizer.tokenize(text)[1]

    @property
    def unk_id(self) -> int:
        return self.tokenizer.dict.unk_id

    def targets(self, infos: Sequence[UttInfo]) -> Dict[str, Any]:
        return collate_tokens([x.token_ids for x in infos], *self.ids)


class AedTask(DictionaryTask):
    """FireRedASR-AED training (conf/train_aed.yaml): attention decoder with optional joint
    CTC (a FireRedASR2-layout model) and the auxiliary pinyin CTC."""

    def __init__(self, cfg: DictConfig):
        super().__init__(cfg)
        self.pinyin = pinyin_units(cfg.model, self.tokenizer)
        self._loss = compute_loss(cfg.trainer.label_smoothing,
                                  float(cfg.model.get("ctc_weight", 0.0)), self.pinyin,
                                  float(cfg.model.get("pinyin_ctc_weight", 0.0)))

    def build_model(self) -> FireRedAsrAed:
        return build_model(self.cfg.model, self.tokenizer, self.pinyin)

    def compute_loss(self, model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Stats]:
        return self._loss(model, batch)

    def export(self, out_dir: str, state: Dict[str, torch.Tensor], **options: Any) -> None:
        export_model_folder(out_dir, model_args(self.cfg.model, self.tokenizer), state,
                            self.cfg.data.lang_dir, self.cfg.data.cmvn)
