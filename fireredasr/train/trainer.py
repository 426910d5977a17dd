"""The DeepSpeed training loop shared by every model family.

A :class:`~fireredasr.train.task.Task` supplies the model, the batch targets and
``compute_loss(model, batch) -> (loss, stats)``; the trainer owns the engine, the schedule, logging, validation and checkpoints. Micro batch size,
gradient accumulation, clipping and precision go into the DeepSpeed config from ``trainer.*``
only. Randomness is a function of (seed, step, rank), so a resumed run repeats an
uninterrupted one exactly.
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from omegaconf import DictConfig, OmegaConf

from fireredasr.data.dataset import (BatchDataset, make_batches, make_loader, shard,
                                     shard_by_utterance)
from fireredasr.data.processor import UttInfo
from fireredasr.train import checkpoint as ckpt
from fireredasr.train.precision import resolve_precision
from fireredasr.train.schedulers import build_lr_lambda
from fireredasr.train.task import Task

logger = logging.getLogger(__name__)


class TrainingDataError(RuntimeError):
    """The data yields nothing to train on (every utterance unreadable, every batch bad)."""




def init_distributed() -> Tuple[int, int]:
    """Initialise torch.distributed through DeepSpeed; a plain ``python`` run is world size 1."""
    import deepspeed

    if "RANK" not in os.environ:  # not launched by torchrun / the deepspeed launcher
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1",
                          MASTER_ADDR=os.environ.get("MASTER_ADDR", "127.0.0.1"))
        if "MASTER_PORT" not in os.environ:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    deepspeed.init_distributed()  # no-op when already initialised (Hydra multirun)
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def deepspeed_config(ds_cfg: DictConfig, trainer: DictConfig) -> Dict[str, Any]:
    """The DeepSpeed config dict: conf/deepspeed/* plus the values owned by ``trainer.*``."""
    cfg = OmegaConf.to_container(ds_cfg, resolve=True)
    for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping", "bf16", "fp16", "train_batch_size"):
        if key in cfg:
            raise ValueError(f"deepspeed.{key} is set from trainer.* (precision, grad_accum, "
                             "grad_clip); remove it from the deepspeed config")
    from deepspeed.accelerator import get_accelerator

    accelerator = get_accelerator()
    precision = resolve_precision(trainer.precision, accelerator.device_name())
    if precision == "fp16" and not accelerator.is_fp16_supported():
        raise ValueError(f"trainer.precision=fp16 is not supported on the "
                         f"{accelerator.device_name()} accelerator; use bf16 or fp32")
    cfg.update(train_micro_batch_size_per_gpu=1,  # batches are dynamic; loss is per batch
               gradient_accumulation_steps=int(trainer.grad_accum),
               gradient_clipping=float(trainer.grad_clip),
               bf16={"enabled": precision == "bf16"},
               fp16={"enabled": precision == "fp16", "initial_scale_power": 16})
    return cfg


class Trainer:
    def __init__(self, cfg: DictConfig, task: Task, model: torch.nn.Module,
                 train_infos: Sequence[UttInfo], valid_infos: Sequence[UttInfo],
                 rank: int, world_size: int):
        import deepspeed

        self.cfg, self.task = cfg, task
        self.rank, self.world_size = rank, world_size
        self.train_infos, self.valid_infos = train_infos, valid_infos
        self.frontend = task.frontend()
        self.exclude_frozen = task.exclude_frozen
        self.exp_dir = cfg.exp_dir
        self.ckpt_dir = os.path.join(self.exp_dir, "checkpoints")
        tcfg = cfg.trainer
        if tcfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if cfg.data.shard_by not in ("batch", "utterance"):
            raise ValueError(f"unknown data.shard_by={cfg.data.shard_by!r} (batch, utterance)")
        params = [p for p in model.parameters() if p.requires_grad]
        if cfg.optim.name != "adamw":
            raise ValueError(f"unknown optimizer {cfg.optim.name!r} (adamw)")
        optimizer = torch.optim.AdamW(params, lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                                      eps=cfg.optim.eps, weight_decay=cfg.optim.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, build_lr_lambda(cfg.scheduler))
        self.engine, _, _, self.scheduler = deepspeed.initialize(
            model=model, model_parameters=params, optimizer=optimizer, lr_scheduler=scheduler,
            config=deepspeed_config(cfg.deepspeed, tcfg))
        self.writer = None
        if rank == 0:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(os.path.join(self.exp_dir, "tensorboard"))
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.skipped_batches = 0
        self.skipped_utts = 0
        self.last_valid_loss: Optional[float] = None
        self.last_saved_step: Optional[int] = None
        self._grad_norm: Optional[float] = None  # see _own_grad_norm

    # ---- helpers -------------------------------------------------------------------------

    def _all_sum(self, values: List[float]) -> List[float]:
        t = torch.tensor(values, dtype=torch.float64, device=self.engine.device)
        if self.world_size > 1:
            torch.distributed.all_reduce(t)
        return t.tolist()

    def _loader(self, infos, epoch: int, train: bool, start: int = 0):
        dcfg = self.cfg.data
        if train and dcfg.shard_by == "utterance":
            mine = shard_by_utterance(infos, dcfg.max_frames_per_batch, dcfg.bucket_size,
                                      self.cfg.seed, epoch, self.rank, self.world_size)
        else:
            batches = make_batches(infos, dcfg.max_frames_per_batch, dcfg.bucket_size,
                                   self.cfg.seed, epoch, shuffle=train)
            mine = shard(batches, self.rank, self.world_size, pad=not train)
        ds = BatchDataset(infos, mine[start:], self.frontend, dcfg, self.task.targets,
                          seed=self.cfg.seed + (0 if train else 1), epoch=epoch, train=train,
                          first_index=start)
        return make_loader(ds, dcfg.num_workers, dcfg.prefetch_factor), len(mine)

    def _seed_step(self) -> None:
        """Dropout and other in-model randomness: a function of (seed, data position, rank)."""
        position = self.epoch * 10_000_000 + self.batch_in_epoch
        torch.manual_seed((self.cfg.seed * 1_000_003 + position) * 97 + self.rank)

    def _meta(self) -> Dict[str, Any]:
        return {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step,
                "valid_loss": self.last_valid_loss, "skipped_batches": self.skipped_batches,
                "skipped_utts": self.skipped_utts}

    def save(self) -> None:
        if self.last_saved_step == self.step:
            return
        self.last_saved_step = self.step
        ckpt.save(self.engine, self.ckpt_dir, self.step, self._meta(),
                  self.cfg.trainer.keep_last, self.exclude_frozen)
        logger.info("saved checkpoint %s", ckpt.tag_for(self.step))

    # ---- validation ----------------------------------------------------------------------

    @torch.no_grad()
    def validate(self) -> Dict[str, float]:
        self.engine.eval()
        loader, _ = self._loader(self.valid_infos, 0, train=False)
        sums = {"loss_sum": 0.0, "tokens": 0.0, "correct": 0.0}
        for batch in loader:
            if not batch["utts"]:
                continue
            loss, stats = self.task.compute_loss(self.engine, batch)
            sums["loss_sum"] += float(loss) * stats["tokens"]
            sums["tokens"] += stats["tokens"]
            sums["correct"] += stats["correct"]
        total = dict(zip(sums, self._all_sum(list(sums.values()))))
        self.engine.train()
        n = max(total["tokens"], 1.0)
        result = {"loss": total["loss_sum"] / n, "acc": total["correct"] / n}
        self.last_valid_loss = result["loss"]
        if self.writer:
            self.writer.add_scalar("valid/loss", result["loss"], self.step)
            self.writer.add_scalar("valid/acc", result["acc"], self.step)
        logger.info("step %d validation: loss %.4f, token accuracy %.4f", self.step,
                    result["loss"], result["acc"])
        return result

    # ---- training ------------------------------------------------------------------------

    def _progress(self, total: int, initial: int):
        mode = self.cfg.trainer.progress_bar
        show = self.rank == 0 and (mode is True or (mode == "auto" and sys.stderr.isatty()))
        if not show:
            return None
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=f"epoch {self.epoch}", dynamic_ncols=True)

    def fit(self) -> None:
        """Train until ``trainer.max_epochs`` or ``trainer.max_steps``, resuming from the last
        complete checkpoint; validate and save at every epoch end and at the finish."""
        self._restore()
        self.engine.train()
        self._reset_window()
        self._trained_since_start = 0
        while self.epoch < self.cfg.trainer.max_epochs and not self._reached_max_steps():
            self._train_epoch()
            if self._reached_max_steps():
                break
            self.epoch += 1
            self.batch_in_epoch = 0
            logger.info("epoch %d done at step %d", self.epoch, self.step)
            self.validate()
            self.save()
        done = ckpt.complete_checkpoints(self.ckpt_dir)
        if not done or done[-1][0] != self.step:
            self.validate()
            self.save()
        logger.info("training finished at step %d (epoch %d); skipped %d batches and %d "
                    "utterances", self.step, self.epoch, self.skipped_batches, self.skipped_utts)
        if self.writer:
            self.writer.close()

    def _restore(self) -> None:
        """The position and counters of the last complete checkpoint, if any."""
        meta = ckpt.resume(self.engine, self.ckpt_dir, strict=not self.exclude_frozen)
        if meta:
            self.epoch, self.batch_in_epoch, self.step = meta["epoch"], meta["batch_in_epoch"], meta["step"]
            self.skipped_batches = meta.get("skipped_batches", 0)
            self.skipped_utts = meta.get("skipped_utts", 0)
            self.last_valid_loss = meta.get("valid_loss")
            self.last_saved_step = self.step

    def _reached_max_steps(self) -> bool:
        max_steps = self.cfg.trainer.max_steps
        return bool(max_steps) and self.step >= max_steps

    def _reset_window(self) -> None:
        """Start a new logging window of summed batch statistics."""
        self._window: Dict[str, float] = {"loss": 0.0, "tokens": 0.0, "correct": 0.0,
                                          "frames": 0.0, "n": 0}
        self._t_window = time.perf_counter()

    def _train_epoch(self) -> None:
        """The rest of the current epoch's batches (from ``batch_in_epoch``)."""
        loader, n_batches = self._loader(self.train_infos, self.epoch, True, self.batch_in_epoch)
        bar = self._progress(n_batches, self.batch_in_epoch)
        epoch = {"trained": 0, "skipped_batches": 0, "utts": 0, "skipped_utts": 0}
        self._last_reason = ""
        for batch in loader:
            self.batch_in_epoch += 1
            if bar:
                bar.update(1)
            if self._train_batch(batch, epoch) and self._reached_max_steps():
                break
        if bar:
            bar.close()
        self._check_epoch(epoch, self._last_reason)

    def _train_batch(self, batch: Dict[str, Any], epoch: Dict[str, int]) -> bool:
        """Forward, backward and (at an accumulation boundary) an optimizer step; True when
        an optimizer step was taken."""
        for utt, why in batch["skipped"]:
            logger.warning("skipping utterance %s: %s", utt, why)
            self._last_reason = f"{utt}: {why}"
        self.skipped_utts += len(batch["skipped"])
        epoch["utts"] += len(batch["utts"]) + len(batch["skipped"])
        epoch["skipped_utts"] += len(batch["skipped"])
        self._seed_step()
        forward = self._forward(batch, epoch)
        if forward is None:
            return False
        loss, stats = forward
        epoch["trained"] += 1
        self._trained_since_start += 1
        boundary = self.engine.is_gradient_accumulation_boundary()
        self.engine.backward(loss)
        if boundary and (self.step + 1) % self.cfg.trainer.log_every == 0:
            self._grad_norm = self._own_grad_norm()
        self.engine.step()
        self._accumulate(float(loss.detach()), stats)
        if not boundary:
            return False
        self.step += 1
        self._after_step()
        return True

    def _forward(self, batch: Dict[str, Any], epoch: Dict[str, int]
                 ) -> Optional[Tuple[torch.Tensor, Dict[str, float]]]:
        """(loss, stats), or None when any rank has nothing finite to train on: every rank
        takes or skips the step together, or collectives would hang."""
        ok, loss, stats = True, None, {}
        if batch["utts"]:
            loss, stats = self.task.compute_loss(self.engine, batch)
            ok = bool(torch.isfinite(loss.detach()))
        (bad,) = self._all_sum([0.0 if ok and batch["utts"] else 1.0])
        if bad == 0:
            return loss, stats
        self.skipped_batches += 1
        epoch["skipped_batches"] += 1
        logger.warning("step %d: batch %d skipped on %d rank(s) (%s)", self.step,
                       batch["index"], int(bad),
                       "non-finite loss" if batch["utts"] else "no readable utterance")
        limit = self.cfg.trainer.max_skipped_batches_at_start
        if not self._trained_since_start and epoch["skipped_batches"] >= limit > 0:
            raise TrainingDataError(
                f"the first {epoch['skipped_batches']} batches held nothing to train on (last "
                f"problem: {self._last_reason or 'non-finite loss'}); check the training data "
                "(utils/validate_data_dir.sh) and trainer.precision")
        return None

    def _accumulate(self, loss: float, stats: Dict[str, float]) -> None:
        w = self._window
        w["loss"] += loss * stats["tokens"]
        for key in ("tokens", "correct", "frames"):
            w[key] += stats[key]
        w["n"] += 1
        for key in set(stats) - {"tokens", "correct", "frames"}:  # e.g. ctc_loss
            w[key] = w.get(key, 0.0) + stats[key]

    def _after_step(self) -> None:
        """Logging, validation and saving on their step intervals."""
        tcfg = self.cfg.trainer
        if self.step % tcfg.log_every == 0:
            self._log(self._window, time.perf_counter() - self._t_window)
            window = dict.fromkeys(self._window, 0.0)
            window["n"] = 0
            self._window, self._t_window = window, time.perf_counter()
        if tcfg.valid_every and self.step % tcfg.valid_every == 0:
            self.validate()
        if tcfg.save_every and self.step % tcfg.save_every == 0:
            self.save()

    def _own_grad_norm(self) -> Optional[float]:
        """The gradient norm before clipping, for engines that do not report one (ZeRO
        stage 0 in fp32 clips with torch and drops the norm). Gradients are already reduced
        across processes at the accumulation boundary, so the local norm is the global one."""
        e = self.engine
        if e.zero_optimization_stage() > 0 or e.bfloat16_enabled() or e.fp16_enabled():
            return None
        grads = [p.grad.detach().float() for p in e.module.parameters() if p.grad is not None]
        if not grads:
            return None
        return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g)
                                                           for g in grads])))

    def _check_epoch(self, epoch: Dict[str, int], last_reason: str) -> None:
        """Stop when an epoch trained on nothing; warn when many utterances were unusable."""
        utts, skipped = self._all_sum([epoch["utts"], epoch["skipped_utts"]])
        if epoch["trained"] == 0 and epoch["skipped_batches"] > 0:
            raise TrainingDataError(
                f"epoch {self.epoch}: all {epoch['skipped_batches']} batches were skipped "
                f"({int(skipped)} of {int(utts)} utterances unreadable; last problem: "
                f"{last_reason or 'non-finite loss'}); nothing was trained")
        limit = float(self.cfg.trainer.warn_skipped_fraction)
        if utts and skipped / utts > limit:
            logger.warning("epoch %d: %d of %d utterances (%.1f%%, above trainer."
                           "warn_skipped_fraction=%.1f%%) could not be read and were left out; "
                           "last problem: %s", self.epoch, skipped, utts,
                           100 * skipped / utts, 100 * limit, last_reason)

    def _log(self, w: Dict[str, float], seconds: float) -> None:
        extra = sorted(set(w) - {"loss", "tokens", "correct", "frames", "n"})
        loss_sum, tokens, correct, frames, n, *extra_sums = self._all_sum(
            [w["loss"], w["tokens"], w["correct"], w["frames"], w["n"]] + [w[k] for k in extra])
        extras = {k: v / max(n, 1) for k, v in zip(extra, extra_sums)}  # batch means
        loss = loss_sum / max(tokens, 1)
        acc = correct / max(tokens, 1)
        lr = self.scheduler.get_last_lr()[0]
        gnorm = self.engine.get_global_grad_norm()
        if gnorm is None:
            gnorm = self._grad_norm
        gnorm = float(gnorm) if gnorm is not None else float("nan")
        audio_per_s = frames / 100.0 / max(seconds, 1e-9)
        logger.info("epoch %d step %d: loss %.4f acc %.4f lr %.3e grad_norm %.3f "
                    "%.1f audio-s/s%s", self.epoch, self.step, loss, acc, lr, gnorm, audio_per_s,
                    "".join(f" {k} {v:.4f}" for k, v in extras.items()))
        if self.writer:
            for name, value in (("loss", loss), ("acc", acc), ("lr", lr), ("grad_norm", gnorm),
                                ("audio_seconds_per_second", audio_per_s), *extras.items()):
                if not math.isnan(value):
                    self.writer.add_scalar(f"train/{name}", value, self.step)
