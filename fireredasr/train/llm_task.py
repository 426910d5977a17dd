"""FireRedASR-LLM training task: model construction with LoRA, loss, export to the released layout."""
from __future__ import annotations

import argparse
import logging
import os
import shutil
from typing import Any, Dict, Tuple

import torch
from omegaconf import DictConfig

from fireredasr.models import released_layout as layout
from fireredasr.models.adapter import Adapter
from fireredasr.models.checkpoint import CheckpointError, load_aed_encoder, load_llm, save_package
from fireredasr.models.fireredasr_llm import FireRedAsrLlm, is_package_key
from fireredasr.tokenizer.llm_tokenizer import (BOS_TOKEN, EOS_TOKEN, IGNORE_ID, SPEECH_TOKEN,
                                                build_llm_tokenizer, encode_prompts)

logger = logging.getLogger(__name__)



def encoder_package_path(encoder_init: str) -> str:
    path = os.path.join(encoder_init, layout.MODEL) if os.path.isdir(encoder_init) else encoder_init
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model.encoder_init: no AED package at {path}")
    return path


def build_model(mcfg: DictConfig) -> Tuple[FireRedAsrLlm, Any]:
    """Encoder from an AED package, adapter, LLM (+LoRA); freezing as configured."""
    encoder = load_aed_encoder(encoder_package_path(mcfg.encoder_init))
    if not os.path.isdir(mcfg.llm_dir):
        raise FileNotFoundError(f"model.llm_dir: LLM folder not found: {mcfg.llm_dir}")
    tokenizer = build_llm_tokenizer(mcfg.llm_dir)
    llm = load_llm(mcfg.llm_dir, bool(mcfg.use_lora), torch.float32, mcfg.attn_implementation,
                   mcfg.lora_r, mcfg.lora_alpha, mcfg.lora_dropout)
    if not mcfg.use_lora:
        for p in llm.parameters():
            p.requires_grad = not mcfg.freeze_llm
    if mcfg.freeze_encoder:
        for p in encoder.parameters():
            p.requires_grad = False
    speech_id = tokenizer.convert_tokens_to_ids(SPEECH_TOKEN)
    if speech_id >= llm.get_input_embeddings().num_embeddings:
        raise ValueError(f"<speech> (id {speech_id}) is outside the LLM's embedding table")
    adapter = Adapter(encoder.odim, llm.config.hidden_size, mcfg.encoder_downsample_rate)
    model = FireRedAsrLlm(encoder, llm, adapter, speech_id, tokenizer.pad_token_id,
                          tokenizer.convert_tokens_to_ids(BOS_TOKEN),
                          tokenizer.convert_tokens_to_ids(EOS_TOKEN))
    n_all = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("LLM-ASR model: %.2fM parameters, %.2fM trainable", n_all / 1e6, n_train / 1e6)
    return model, tokenizer


def compute_loss(tokenizer):
    def loss_fn(model, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        param = next(p for p in model.parameters())
        ids, mask, labels, _ = encode_prompts(tokenizer, batch["texts"], decode=False)
        dev = param.device
        feats = batch["feats"].to(dev, param.dtype)
        loss, logits, merged = model(feats, batch["feat_lengths"].to(dev), ids.to(dev),
                                     mask.to(dev), labels.to(dev))
        target = merged[:, 1:]
        valid = target != IGNORE_ID
        correct = ((logits[:, :-1].argmax(-1) == target) & valid).sum()
        return loss, {"tokens": float(valid.sum()), "correct": float(correct),
                      "frames": float(batch["feat_lengths"].sum())}
    return loss_fn


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
    save_package(os.path.join(out_dir, layout.MODEL), released_args(mcfg), keep)
    shutil.copyfile(encoder_package_path(mcfg.encoder_init), os.path.join(out_dir, layout.LLM_ENCODER))
    shutil.copyfile(cmvn, os.path.join(out_dir, layout.CMVN))
    target = os.path.join(out_dir, layout.LLM_SUBDIR)
    if os.path.lexists(target):
        shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.remove(target)
    if copy_llm:
        shutil.copytree(mcfg.llm_dir, target)
    else:
        os.symlink(os.path.abspath(mcfg.llm_dir), target)
