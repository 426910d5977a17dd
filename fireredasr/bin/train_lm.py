"""Stage 5: train the external LSTM LM of FireRedASR2 on transcripts (Hydra config: conf/train_lm.yaml).

    torchrun --nproc_per_node 2 -m fireredasr.bin.train_lm data.train_dir=data/train \
        data.valid_dir=data/dev data.lang_dir=data/lang exp_dir=exp/elm \
        'data.extra_text=[/corpora/more_text.txt]'

The LM uses the AED's dict.txt; export it with fireredasr-export-lm and fuse it in decoding
with --elm_dir and --elm_weight. Re-running the same command resumes.
"""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from fireredasr.bin.train_aed import CONF_DIR


@hydra.main(config_path=CONF_DIR, config_name="train_lm", version_base="1.3")
def main(cfg: DictConfig) -> None:
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.lm_task import LmTask
    from fireredasr.train.run import train_or_exit

    train_or_exit(LmTask, cfg)


if __name__ == "__main__":
    sys.exit(main())
