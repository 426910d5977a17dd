"""Training checkpoints: crash-safe saving, resuming, pruning, averaging.

A checkpoint is a DeepSpeed checkpoint folder ``<ckpt_dir>/step_<N>/`` plus ``meta.json``
(data position, validation loss) and a ``complete`` marker written last. Only folders with
the marker count, so a crash in the middle of a save never leaves a newest checkpoint that
fails to load: the run resumes from the previous one.
"""
from __future__ import annotations

import glob
import json
import logging
import os
import shutil
from typing import Any, Dict, List, Optional, Tuple

import torch

logger = logging.getLogger(__name__)

COMPLETE = "complete"
META = "meta.json"


def tag_for(step: int) -> str:
    return f"step_{step:08d}"


def complete_checkpoints(ckpt_dir: str) -> List[Tuple[int, str]]:
    """(step, tag) of every complete checkpoint, oldest first."""
    out = []
    for path in glob.glob(os.path.join(ckpt_dir, "step_*")):
        if os.path.isfile(os.path.join(path, COMPLETE)):
            tag = os.path.basename(path)
            out.append((int(tag.split("_")[1]), tag))
    return sorted(out)


def read_meta(ckpt_dir: str, tag: str) -> Dict[str, Any]:
    with open(os.path.join(ckpt_dir, tag, META), encoding="utf-8") as f:
        return json.load(f)


def _atomic_write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(engine, ckpt_dir: str, step: int, meta: Dict[str, Any], keep_last: int,
         exclude_frozen: bool = False) -> str:
    """Save on every rank; rank 0 then marks the checkpoint complete and prunes old ones."""
    tag = tag_for(step)
    engine.save_checkpoint(ckpt_dir, tag=tag, save_latest=False,
                           exclude_frozen_parameters=exclude_frozen)
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
    if engine.global_rank == 0:
        path = os.path.join(ckpt_dir, tag)
        _atomic_write(os.path.join(path, META), json.dumps(meta, indent=1))
        _atomic_write(os.path.join(path, COMPLETE), "")
        _atomic_write(os.path.join(ckpt_dir, "latest_complete"), tag + "\n")
        done = complete_checkpoints(ckpt_dir)
        for _, old in done[:-keep_last] if keep_last > 0 else []:
            shutil.rmtree(os.path.join(ckpt_dir, old), ignore_errors=True)
        # Leftovers of interrupted saves older than the newest complete one.
        newest = done[-1][0]
        for path in glob.glob(os.path.join(ckpt_dir, "step_*")):
            s = int(os.path.basename(path).split("_")[1])
            if s < newest and not os.path.isfile(os.path.join(path, COMPLETE)):
                shutil.rmtree(path, ignore_errors=True)
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
    return tag


def resume(engine, ckpt_dir: str, strict: bool = True) -> Optional[Dict[str, Any]]:
    """Load the newest complete checkpoint into ``engine``; returns its meta (None: fresh run)."""
    done = complete_checkpoints(ckpt_dir)
    if not done:
        return None
    _, tag = done[-1]
    path, _ = engine.load_checkpoint(ckpt_dir, tag=tag, load_module_strict=strict)
    if path is None:
        raise RuntimeError(f"DeepSpeed could not load checkpoint {ckpt_dir}/{tag}")
    meta = read_meta(ckpt_dir, tag)
    logger.info("resumed from %s/%s (epoch %d, batch %d, step %d)", ckpt_dir, tag,
                meta["epoch"], meta["batch_in_epoch"], meta["step"])
    return meta


def fp32_state_dict(ckpt_dir: str, tag: str, exclude_frozen: bool = False
                    ) -> Dict[str, torch.Tensor]:
    """The fp32 model weights of a DeepSpeed checkpoint (ZeRO stage 0-3, any precision);
    ``exclude_frozen`` for checkpoints saved without the frozen parameters (the LLM's)."""
    path = os.path.join(ckpt_dir, tag)
    if glob.glob(os.path.join(path, "*optim_states.pt")) and \
            glob.glob(os.path.join(path, "zero_pp_rank_*")):
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

        state = get_fp32_state_dict_from_zero_checkpoint(
            ckpt_dir, tag=tag, exclude_frozen_parameters=exclude_frozen)
    else:  # ZeRO stage 0: the module states file holds the full model
        files = glob.glob(os.path.join(path, "mp_rank_*_model_states.pt"))
        if not files:
            raise FileNotFoundError(f"no model states in {path}")
        state = torch.load(files[0], map_location="cpu", weights_only=False)["module"]
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def select_checkpoints(ckpt_dir: str, num: int, mode: str = "last") -> List[str]:
    """Tags of the last ``num`` checkpoints, or the ``num`` best by validation loss."""
    done = complete_checkpoints(ckpt_dir)
    if not done:
        raise FileNotFoundError(f"no complete checkpoint in {ckpt_dir}")
    if mode == "last":
        return [t for _, t in done[-num:]]
    if mode == "best":
        scored = [(read_meta(ckpt_dir, t).get("valid_loss"), t) for _, t in done]
        scored = [(v, t) for v, t in scored if v is not None]
        if not scored:
            raise ValueError(f"no checkpoint in {ckpt_dir} has a validation loss")
        return [t for _, t in sorted(scored)[:num]]
    raise ValueError(f"mode must be 'last' or 'best', got {mode!r}")


def average_state_dicts(states: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Arithmetic mean of floating-point tensors (others, e.g. counters, from the last)."""
    if not states:
        raise ValueError("nothing to average")
    keys = list(states[0])
    for s in states[1:]:
        if list(s) != keys:
            raise ValueError("checkpoints to average have different parameters")
    out = {}
    for k in keys:
        if states[0][k].is_floating_point():
            acc = torch.zeros_like(states[0][k], dtype=torch.float64)
            for s in states:
                acc += s[k].double()
            out[k] = (acc / len(states)).to(states[0][k].dtype)
        else:
            out[k] = states[-1][k]
    return out


def average_experiment(exp_dir: str, num: int, mode: str, exclude_frozen: bool = False):
    """(the experiment's config, the averaged fp32 weights of its last/best ``num``
    checkpoints) for export. Raises FileNotFoundError/ValueError with a clear message."""
    from omegaconf import OmegaConf

    cfg_path = os.path.join(exp_dir, "config.yaml")
    if not os.path.isfile(cfg_path):
        raise FileNotFoundError(f"{cfg_path} not found: is {exp_dir} a training experiment folder?")
    ckpt_dir = os.path.join(exp_dir, "checkpoints")
    tags = select_checkpoints(ckpt_dir, num, mode)
    logger.info("averaging %d checkpoints (%s): %s", len(tags), mode, " ".join(tags))
    states = [fp32_state_dict(ckpt_dir, t, exclude_frozen) for t in tags]
    return OmegaConf.load(cfg_path), average_state_dicts(states)
