"""Wiring of a training run: logging, config snapshot, data, model, trainer."""
from __future__ import annotations

import logging
import os
import sys

import torch
from omegaconf import DictConfig, OmegaConf

from fireredasr.data.cmvn import GlobalCMVN
from fireredasr.data.dataset import build_text_table, build_utterance_table
from fireredasr.data.frontend import Frontend
from fireredasr.models.checkpoint import CheckpointError
from fireredasr.tokenizer.llm_tokenizer import clean_text
from fireredasr.train import aed_task, llm_task, lm_task
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


def run_or_exit(train, cfg: DictConfig) -> None:
    """Run a training function; set-up problems (missing data, a bad config value, an
    unfitting checkpoint) end the job with a message instead of a traceback."""
    try:
        train(cfg)
    except (FileNotFoundError, ValueError, CheckpointError, TrainingDataError) as e:
        logger.error("%s", e)
        sys.exit(1)


def start_run(cfg: DictConfig):
    """Distributed init, the experiment folder, logging and the resolved config snapshot."""
    rank, world = init_distributed()
    use_hydra_output_dir(cfg)
    setup_run_logging(cfg.exp_dir, rank)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))))
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


def load_data(cfg: DictConfig, tokenize, unk_id: int):
    """(frontend, train utterances, valid utterances) from the ``data`` config."""
    d = cfg.data
    tables = [build_utterance_table(path, tokenize, unk_id, d.min_frames, d.max_frames,
                                    d.max_tokens, name)
              for path, name in ((d.train_dir, "train"), (d.valid_dir, "valid"))]
    return Frontend(GlobalCMVN.from_file(d.cmvn)), tables[0], tables[1]


def run_aed_training(cfg: DictConfig) -> None:
    rank, world = start_run(cfg)
    tokenizer = aed_task.load_tokenizer(cfg.data.lang_dir)
    frontend, train, valid = load_data(cfg, lambda text: tokenizer.tokenize(text)[1],
                                       tokenizer.dict.unk_id)
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    pinyin = aed_task.pinyin_units(cfg.model, tokenizer)
    model = aed_task.build_model(cfg.model, tokenizer, pinyin)
    loss = aed_task.compute_loss(cfg.trainer.label_smoothing,
                                 float(cfg.model.get("ctc_weight", 0.0)), pinyin,
                                 float(cfg.model.get("pinyin_ctc_weight", 0.0)))
    trainer = Trainer(cfg, model, loss, train, valid, frontend, aed_task.special_ids(tokenizer),
                      rank, world)
    trainer.fit()
    finish_run()


def run_llm_training(cfg: DictConfig) -> None:
    rank, world = start_run(cfg)
    torch.manual_seed(cfg.seed)  # identical adapter/LoRA initialisation on every rank
    model, tokenizer = llm_task.build_model(cfg.model)
    unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else -1
    frontend, train, valid = load_data(
        cfg, lambda text: tokenizer(clean_text(text), add_special_tokens=False)["input_ids"], unk)
    pad = tokenizer.pad_token_id  # the AED-style target tensors are unused by the LLM loss
    trainer = Trainer(cfg, model, llm_task.compute_loss(tokenizer), train, valid, frontend,
                      (pad, pad, pad), rank, world, exclude_frozen=True)
    trainer.fit()
    finish_run()


def run_lm_training(cfg: DictConfig) -> None:
    """The external LSTM LM: text of data.train_dir (+ data.extra_text files), AED dictionary."""
    rank, world = start_run(cfg)
    tokenizer = aed_task.load_tokenizer(cfg.data.lang_dir)
    ids = lm_task.check_dictionary(tokenizer)
    d = cfg.data

    def tokenize(text: str):
        return tokenizer.tokenize(text)[1]

    train = build_text_table([os.path.join(d.train_dir, "text")], list(d.extra_text), tokenize,
                             tokenizer.dict.unk_id, d.max_tokens, "train")
    valid = build_text_table([os.path.join(d.valid_dir, "text")], [], tokenize,
                             tokenizer.dict.unk_id, d.max_tokens, "valid")
    torch.manual_seed(cfg.seed)
    model = lm_task.build_model(cfg.model, len(tokenizer))
    trainer = Trainer(cfg, model, lm_task.compute_loss(cfg.trainer.label_smoothing), train,
                      valid, None, ids, rank, world)
    trainer.fit()
    finish_run()
