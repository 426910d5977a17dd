"""Stage 9: train FireRedASR-LLM (encoder + adapter + LoRA) with DeepSpeed (conf/train_llm.yaml).

    torchrun --nproc_per_node 8 -m fireredasr.bin.train_llm model.encoder_init=exp/aed/model \
        model.llm_dir=/models/Qwen2-7B-Instruct data.train_dir=data/train data.valid_dir=data/dev \
        trainer.precision=bf16 exp_dir=exp/llm

Only trainable weights are optimised and checkpointed (the LLM's own weights stay frozen).
Re-running the same command resumes from the newest complete checkpoint.
"""
from __future__ import annotations

import os
import sys

import hydra
from omegaconf import DictConfig

CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")


@hydra.main(config_path=CONF_DIR, config_name="train_llm", version_base="1.3")
def main(cfg: DictConfig) -> None:
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.llm_task import LlmTask
    from fireredasr.train.run import train_or_exit

    train_or_exit(LlmTask, cfg)


if __name__ == "__main__":
    sys.exit(main())
