"""Model packages in the released layout: ``torch.save({"args": Namespace, "model_state_dict"})``.

Loading never unpickles arbitrary objects: ``weights_only=True`` with only
``argparse.Namespace`` allow-listed.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
from typing import Any, Dict, Tuple

import torch

from fireredasr.models import released_layout as layout
from fireredasr.models.fireredasr_aed import FireRedAsrAed
from fireredasr.models.fireredasr_llm import (LORA_TARGETS, FireRedAsrLlm, build_encoder,
                                              llm_state_keys_ok)
from fireredasr.models.lstm_lm import LstmLm
from fireredasr.tokenizer.llm_tokenizer import build_llm_tokenizer

torch.serialization.add_safe_globals([argparse.Namespace])


class CheckpointError(RuntimeError):
    """A model package that is missing, unsafe or does not fit the model."""


def load_package(path: str, map_location: str = "cpu") -> Dict[str, Any]:
    """Load a ``{"args", "model_state_dict"}`` package with weights-only unpickling."""
    if not os.path.isfile(path):
        raise CheckpointError(f"model package not found: {path}")
    try:
        package = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch names the refused global in one of two phrasings, by whether its module is
        # merely not allow-listed or blocked outright (os.system, builtins.eval, ...).
        unsafe = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) (\S+)", str(e))
        if unsafe:
            raise CheckpointError(
                f"refusing to load {path}: it holds a pickled {unsafe.group(1)}; only tensors "
                "and argparse.Namespace are allowed (weights-only loading)") from e
        raise CheckpointError(f"cannot read model package {path}: not a torch checkpoint "
                              f"({str(e).splitlines()[-1] if str(e) else e!r})") from e
    except (RuntimeError, EOFError, OSError) as e:
        raise CheckpointError(f"cannot read model package {path}: {e}") from e
    if not isinstance(package, dict) or "model_state_dict" not in package:
        raise CheckpointError(f"{path} is not a FireRedASR model package "
                              "(expected a dict with 'args' and 'model_state_dict')")
    if not isinstance(package.get("args"), argparse.Namespace):
        raise CheckpointError(f"{path}: 'args' must be an argparse.Namespace")
    return package


def save_package(path: str, args: argparse.Namespace, state_dict: Dict[str, torch.Tensor]) -> None:
    """Write a package atomically (a crash never leaves a half-written file under ``path``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"args": args, "model_state_dict": state_dict}, tmp)
    os.replace(tmp, path)


def load_aed_model(path: str, map_location: str = "cpu") -> Tuple[torch.nn.Module, argparse.Namespace]:
    """Build a :class:`FireRedAsrAed` from a released-layout package, loaded strictly.

    A package with ``ctc.*`` weights is a FireRedASR2 model: it gets the CTC head and v2's
    encoder-length rule."""
    package = load_package(path, map_location)
    with_ctc = any(k.startswith("ctc.") for k in package["model_state_dict"])
    model = FireRedAsrAed.from_args(package["args"], ctc=with_ctc)
    try:
        model.load_state_dict(package["model_state_dict"], strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not match the AED architecture in its args: {e}") from e
    return model, package["args"]


def save_aed_model(path: str, model: torch.nn.Module) -> None:
    """Save an AED model in the released package layout."""
    save_package(path, model.args, {k: v.detach().cpu() for k, v in model.state_dict().items()})


def load_aed_encoder(path: str) -> torch.nn.Module:
    """The Conformer encoder of an AED package (FireRedASR-LLM's encoder initialisation)."""
    package = load_package(path)
    encoder = build_encoder(package["args"])
    state = {k[len("encoder."):]: v for k, v in package["model_state_dict"].items()
             if k.startswith("encoder.")}
    try:
        encoder.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: the encoder weights do not match its args: {e}") from e
    return encoder


def load_llm(llm_dir: str, use_lora: bool, dtype: torch.dtype = torch.float32,
             attn_implementation: str = "eager", lora_r: int = 64, lora_alpha: int = 16,
             lora_dropout: float = 0.05) -> torch.nn.Module:
    """A causal LM from a local folder, wrapped with peft LoRA adapters when ``use_lora``."""
    from transformers import AutoModelForCausalLM  # heavy: only where an LLM is loaded

    try:
        llm = AutoModelForCausalLM.from_pretrained(llm_dir, dtype=dtype,
                                                   attn_implementation=attn_implementation)
    except Exception as e:  # safetensors, OSError, ValueError...: all mean an unusable folder
        raise CheckpointError(f"cannot load the LLM from {llm_dir}: {type(e).__name__}: "
                              f"{str(e).strip().splitlines()[0] if str(e).strip() else ''} "
                              "(incomplete download or truncated weights?)") from e
    if use_lora:
        from peft import LoraConfig, get_peft_model

        llm = get_peft_model(llm, LoraConfig(r=lora_r, lora_alpha=lora_alpha,
                                             target_modules=LORA_TARGETS,
                                             lora_dropout=lora_dropout, task_type="CAUSAL_LM"))
    return llm


def load_llm_model(model_dir: str, dtype: torch.dtype = torch.float32,
                   merge_lora: bool = False, attn_implementation: str = "eager"):
    """A released-layout FireRedASR-LLM folder -> (model, tokenizer).

    ``model.pth.tar`` holds the encoder, adapter and LoRA weights; the encoder's architecture
    comes from ``asr_encoder.pth.tar`` and the base LLM from ``Qwen2-7B-Instruct/`` (both
    paths inside ``model_dir``, as the released loader rewrites them). For decoding,
    ``merge_lora`` folds the LoRA weights into the LLM (no adapter matmuls per step) and
    ``attn_implementation="sdpa"`` uses fused attention; the defaults are the released
    loader's (unmerged LoRA, eager attention).
    """
    package = load_package(os.path.join(model_dir, layout.MODEL))
    args = package["args"]
    if not hasattr(args, "encoder_downsample_rate"):
        kind = "an AED model" if hasattr(args, "n_layers_dec") else "not a FireRedASR-LLM model"
        raise CheckpointError(f"{model_dir}/model.pth.tar is {kind} (its args lack "
                              "encoder_downsample_rate); decode it with --asr_type aed")
    encoder = load_aed_encoder(os.path.join(model_dir, layout.LLM_ENCODER))
    llm_dir = os.path.join(model_dir, layout.LLM_SUBDIR)
    if not os.path.isdir(llm_dir):
        raise CheckpointError(f"LLM folder not found: {llm_dir}")
    tokenizer = build_llm_tokenizer(llm_dir)
    # The released args carry no LoRA shape (it was fixed at r=64, alpha=16); exports of this
    # toolkit add lora_r/lora_alpha/lora_dropout.
    llm = load_llm(llm_dir, bool(getattr(args, "use_lora", 1)), dtype, attn_implementation,
                   lora_r=int(getattr(args, "lora_r", 64)),
                   lora_alpha=int(getattr(args, "lora_alpha", 16)),
                   lora_dropout=float(getattr(args, "lora_dropout", 0.05)))
    try:
        model = FireRedAsrLlm.assemble(encoder, llm, tokenizer, int(args.encoder_downsample_rate))
    except ValueError as e:
        raise CheckpointError(f"{model_dir}: {e}") from e
    missing, unexpected = model.load_state_dict(package["model_state_dict"], strict=False)
    problem = llm_state_keys_ok(missing, unexpected)
    if problem:
        raise CheckpointError(f"{model_dir}/model.pth.tar does not fit the LLM model: {problem}")
    if merge_lora:
        model.merge_lora()
    return model, tokenizer


def load_elm(elm_dir: str, map_location: str = "cpu") -> torch.nn.Module:
    """The external LSTM LM of a FireRedASR2 ``elm/`` folder (``model.pth.tar``), loaded strictly."""
    path = os.path.join(elm_dir, layout.MODEL)
    package = load_package(path, map_location)
    try:
        model = LstmLm.from_args(package["args"])
        model.load_state_dict(package["model_state_dict"], strict=True)
    except (ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not an LSTM LM that fits its args: {e}") from e
    return model.eval()


def save_elm(elm_dir: str, model: torch.nn.Module) -> None:
    """Save an LSTM LM as a released-layout ``elm/`` folder."""
    save_package(os.path.join(elm_dir, layout.MODEL), model.args,
                 {k: v.detach().cpu() for k, v in model.state_dict().items()})
