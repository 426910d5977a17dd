"""Stage 3: train FireRedASR-AED with DeepSpeed (Hydra config: conf/train_aed.yaml).

    torchrun --nproc_per_node 8 -m fireredasr.bin.train_aed model=aed_s \
        data.train_dir=data/train data.valid_dir=data/dev exp_dir=exp/aed_s
    python -m fireredasr.bin.train_aed -m model.n_layers_enc=6,12   # Hydra multirun

Re-running the same command resumes from the newest complete checkpoint.
"""
from __future__ import annotations

import os
import sys

import hydra
from omegaconf import DictConfig

CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")


@hydra.main(config_path=CONF_DIR, config_name="train_aed", version_base="1.3")
def main(cfg: DictConfig) -> None:
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.aed_task import AedTask
    from fireredasr.train.run import train_or_exit

    train_or_exit(AedTask, cfg)


if __name__ == "__main__":
    sys.exit(main())
