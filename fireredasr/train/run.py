"""Wiring of a training run of any task: logging, config snapshot, data, model, trainer;
and the export of a finished run."""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Type

import torch
from omegaconf import DictConfig, OmegaConf

from fireredasr.models.checkpoint import CheckpointError
from fireredasr.train.checkpoint import average_experiment
from fireredasr.train.precision import resolve_precision
from fireredasr.train.task import Task
from fireredasr.train.trainer import Trainer, TrainingDataError, init_distributed

logger = logging.getLogger(__name__)


def setup_run_logging(exp_dir: str, rank: int) -> None:
    """stderr on every rank (rank-tagged), plus exp_dir/train.log on rank 0."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter(f"%(asctime)s [rank{rank}] %(levelname)s %(name)s: %(message)s")
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(fmt)
    root.addHandler(h)
    if rank == 0:
        os.makedirs(exp_dir, exist_ok=True)
        fh = logging.FileHandler(os.path.join(exp_dir, "train.log"), encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)


def use_hydra_output_dir(cfg: DictConfig) -> None:
    """Under Hydra, the experiment folder is Hydra's output folder (one per multirun job)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        cfg.exp_dir = HydraConfig.get().runtime.output_dir


def train_or_exit(task_cls: Type[Task], cfg: DictConfig) -> None:
    """:func:`run_training`; set-up problems (missing data, a bad config value, an unfitting
    checkpoint) end the job with a message instead of a traceback."""
    try:
        run_training(task_cls, cfg)
    except (FileNotFoundError, ValueError, CheckpointError, TrainingDataError) as e:
        logger.error("%s", e)
        sys.exit(1)


def start_run(cfg: DictConfig):
    """Distributed init, the experiment folder, logging and the resolved config snapshot."""
    rank, world = init_distributed()
    use_hydra_output_dir(cfg)
    setup_run_logging(cfg.exp_dir, rank)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))))
    from deepspeed.accelerator import get_accelerator

    # The snapshot records the precision the run trains in, not "auto".
    cfg.trainer.precision = resolve_precision(cfg.trainer.precision,
                                              get_accelerator().device_name())
    if rank == 0:
        OmegaConf.save(cfg, os.path.join(cfg.exp_dir, "config.yaml"), resolve=True)
    logger.info("experiment %s: %d process(es)", cfg.exp_dir, world)
    return rank, world


def finish_run() -> None:
    """Leave the process group together: a process that exits while another still talks to
    it can abort in the communication library's threads ("terminate called ...")."""
    # A single process keeps its group: Hydra multirun starts the next job in it.
    if torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def run_training(task_cls: Type[Task], cfg: DictConfig) -> None:
    """One training run of any model family: set up, build, train, finish."""
    rank, world = start_run(cfg)
    task = task_cls(cfg)
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    model = task.build_model()
    train, valid = task.load_data()
    Trainer(cfg, task, model, train, valid, rank, world).fit()
    finish_run()


def export_run(task_cls: Type[Task], exp_dir: str, num: int, mode: str, out_dir: str,
               **options: Any) -> None:
    """Average a run's checkpoints (``mode``: the ``num`` last or best) and export the
    model folder ``out_dir`` with the task of its saved config."""
    cfg, state = average_experiment(exp_dir, num, mode, exclude_frozen=task_cls.exclude_frozen)
    task_cls(cfg).export(out_dir, state, **options)
