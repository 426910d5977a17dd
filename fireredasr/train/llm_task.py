"""FireRedASR-LLM training task: model construction with LoRA, loss, export to the released layout."""
from __future__ import annotations

import argparse
import logging
import os
import shutil
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from omegaconf import DictConfig

from fireredasr.data.processor import UttInfo
from fireredasr.models import released_layout as layout
from fireredasr.models.checkpoint import (CheckpointError, load_aed_encoder, load_llm,
                                          load_package, save_package)
from fireredasr.models.fireredasr_llm import FireRedAsrLlm, is_package_key
from fireredasr.tokenizer.llm_tokenizer import (IGNORE_ID, build_llm_tokenizer, clean_text,
                                                encode_prompts)
from fireredasr.train.encoder_cache import EncoderOutputCache, check_cacheable
from fireredasr.train.task import Stats, Task

logger = logging.getLogger(__name__)



def encoder_package_path(encoder_init: str) -> str:
    path = os.path.join(encoder_init, layout.MODEL) if os.path.isdir(encoder_init) else encoder_init
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model.encoder_init: no AED package at {path}")
    return path


def load_tokenizer(mcfg: DictConfig):
    """The tokenizer of the configured LLM folder, with ``<speech>``."""
    if not os.path.isdir(mcfg.llm_dir):
        raise FileNotFoundError(f"model.llm_dir: LLM folder not found: {mcfg.llm_dir}")
    return build_llm_tokenizer(mcfg.llm_dir)


def build_model(mcfg: DictConfig, tokenizer: Any = None) -> Tuple[FireRedAsrLlm, Any]:
    """(model, tokenizer): encoder from an AED package, adapter, LLM (+LoRA); freezing as
    configured. The tokenizer is loaded unless given."""
    encoder = load_aed_encoder(encoder_package_path(mcfg.encoder_init))
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(mcfg)
    llm = load_llm(mcfg.llm_dir, bool(mcfg.use_lora), torch.float32, mcfg.attn_implementation,
                   mcfg.lora_r, mcfg.lora_alpha, mcfg.lora_dropout)
    if not mcfg.use_lora:
        for p in llm.parameters():
            p.requires_grad = not mcfg.freeze_llm
    model = FireRedAsrLlm.assemble(encoder, llm, tokenizer, int(mcfg.encoder_downsample_rate))
    if mcfg.freeze_encoder:
        model.freeze_encoder()
    n_all = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("LLM-ASR model: %.2fM parameters, %.2fM trainable", n_all / 1e6, n_train / 1e6)
    return model, tokenizer


def prompt_targets(tokenizer, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
    """A batch's ChatML prompts with the transcripts as the assistant turn: input_ids,
    attention_mask and labels (IGNORE_ID outside the transcript and its closing token)."""
    ids, mask, labels, _ = encode_prompts(tokenizer, texts, decode=False)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def compute_loss(model, batch: Dict[str, Any], adapter_ctc_weight: float = 0.0,
                 cache: Optional[EncoderOutputCache] = None
                 ) -> Tuple[torch.Tensor, Dict[str, float]]:
    """The LLM's cross entropy on the assistant turn, and token accuracy; with
    ``adapter_ctc_weight`` w > 0, w * the adapter's CTC (``FireRedAsrLlm.adapter_ctc_loss``)
    is added. With a ``cache``, training batches take the (frozen) encoder's outputs from it."""
    param = next(p for p in model.parameters())
    dev = param.device
    feats = batch["feats"].to(dev, param.dtype)
    lengths = batch["feat_lengths"].to(dev)
    encoder_out = None
    if cache is not None and model.training:
        encoder = getattr(model, "module", model).encoder  # the DeepSpeed engine wraps it
        encoder_out = cache.encode(lambda f, n: encoder(f, n)[:2], batch["utts"], feats, lengths)
    loss, logits, labels, ctc = model(feats, lengths, batch["input_ids"].to(dev),
                                      batch["attention_mask"].to(dev), batch["labels"].to(dev),
                                      adapter_ctc=adapter_ctc_weight > 0.0,
                                      encoder_out=encoder_out)
    target = labels[:, 1:]
    valid = target != IGNORE_ID
    correct = ((logits[:, :-1].argmax(-1) == target) & valid).sum()
    stats = {"tokens": float(valid.sum()), "correct": float(correct),
             "frames": float(batch["feat_lengths"].sum())}
    if ctc is not None:
        stats["adapter_ctc_loss"] = float(ctc.detach())
        loss = loss + adapter_ctc_weight * ctc
    return loss, stats


def released_args(mcfg: DictConfig) -> argparse.Namespace:
    """The released ``args`` fields, plus the LoRA shape (the released code assumes r=64,
    alpha=16 and ignores the extra fields; this toolkit's loader reads them)."""
    return argparse.Namespace(encoder_path=layout.LLM_ENCODER, llm_dir=layout.LLM_SUBDIR,
                              freeze_encoder=int(mcfg.freeze_encoder),
                              freeze_llm=int(mcfg.freeze_llm), use_lora=int(mcfg.use_lora),
                              use_flash_attn=0, use_fp16=0,
                              encoder_downsample_rate=int(mcfg.encoder_downsample_rate),
                              lora_r=int(mcfg.lora_r), lora_alpha=int(mcfg.lora_alpha),
                              lora_dropout=float(mcfg.lora_dropout))


def export_model_folder(out_dir: str, mcfg: DictConfig, state: Dict[str, torch.Tensor],
                        cmvn: str, copy_llm: bool = False) -> None:
    """The released LLM layout: model.pth.tar (encoder, adapter, LoRA), asr_encoder.pth.tar,
    cmvn.ark and the base LLM folder as Qwen2-7B-Instruct/ (a symlink unless copy_llm)."""
    os.makedirs(out_dir, exist_ok=True)
    keep = {k: v.detach().cpu() for k, v in state.items() if is_package_key(k)}
    if not any(k.startswith("encoder_projector.") for k in keep):
        raise CheckpointError("the averaged weights hold no adapter: not an LLM-ASR checkpoint")
    # Checkpoints leave frozen weights out; a frozen encoder (model.freeze_encoder) is its
    # initialisation, which the package must still hold.
    encoder_package = encoder_package_path(mcfg.encoder_init)
    for k, v in load_package(encoder_package)["model_state_dict"].items():
        if k.startswith("encoder."):
            keep.setdefault(k, v)
    save_package(os.path.join(out_dir, layout.MODEL), released_args(mcfg), keep)
    shutil.copyfile(encoder_package, os.path.join(out_dir, layout.LLM_ENCODER))
    shutil.copyfile(cmvn, os.path.join(out_dir, layout.CMVN))
    target = os.path.join(out_dir, layout.LLM_SUBDIR)
    if os.path.lexists(target):
        shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.remove(target)
    if copy_llm:
        shutil.copytree(mcfg.llm_dir, target)
    else:
        os.symlink(os.path.abspath(mcfg.llm_dir), target)


class LlmTask(Task):
    """FireRedASR-LLM training (conf/train_llm.yaml): AED encoder -> adapter -> LLM with LoRA.
    The frozen base LLM stays out of checkpoints and packages."""

    exclude_frozen = True

    def __init__(self, cfg: DictConfig):
        super().__init__(cfg)
        self.tokenizer = load_tokenizer(cfg.model)
        self.encoder_cache = None
        cache_gb = float(cfg.model.get("encoder_cache_gb", 0.0))
        if cache_gb > 0.0:
            check_cacheable(cfg)
            self.encoder_cache = EncoderOutputCache(int(cache_gb * 1e9))
            logger.info("frozen-encoder outputs are cached per utterance (up to %.2f GB per "
                        "process): epochs after the first skip the encoder", cache_gb)

    def tokenize(self, text: str) -> List[int]:
        return self.tokenizer(clean_text(text), add_special_tokens=False)["input_ids"]

    @property
    def unk_id(self) -> int:
        unk = self.tokenizer.unk_token_id
        return unk if unk is not None else -1

    def targets(self, infos: Sequence[UttInfo]) -> Dict[str, Any]:
        return prompt_targets(self.tokenizer, [x.text for x in infos])

    def build_model(self) -> FireRedAsrLlm:
        return build_model(self.cfg.model, self.tokenizer)[0]

    def compute_loss(self, model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Stats]:
        return compute_loss(model, batch, float(self.cfg.model.get("adapter_ctc_weight", 0.0)),
                            self.encoder_cache)

    def export(self, out_dir: str, state: Dict[str, torch.Tensor], **options: Any) -> None:
        """``copy_llm=True`` copies the base LLM folder instead of linking it."""
        export_model_folder(out_dir, self.cfg.model, state, self.cfg.data.cmvn,
                            bool(options.get("copy_llm", False)))
