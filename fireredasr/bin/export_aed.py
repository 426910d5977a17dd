"""Stage 4: average AED checkpoints and export a model folder in the released layout.

    fireredasr-export-aed --exp_dir exp/aed_s [--num 10] [--mode last|best] [--out_dir exp/aed_s/model]

Averages the fp32 weights of the last N checkpoints (or the N with the lowest validation loss),
and writes model.pth.tar (released {"args", "model_state_dict"} package), cmvn.ark, dict.txt and
train_bpe1000.model, so FireRedAsr.from_pretrained("aed", out_dir) and the released code load it.
"""
from __future__ import annotations

import logging
import os
import sys

from fireredasr.cli_utils import export_parser, setup_logging

logger = logging.getLogger("export_aed")


def main(argv=None) -> int:
    p = export_parser(__doc__, 10, "model")
    args = p.parse_args(argv)
    setup_logging()
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train import aed_task
    from fireredasr.train.checkpoint import average_experiment

    try:
        cfg, state = average_experiment(args.exp_dir, args.num, args.mode)
    except (FileNotFoundError, ValueError) as e:
        logger.error("%s", e)
        return 1
    tokenizer = aed_task.load_tokenizer(cfg.data.lang_dir)
    out_dir = args.out_dir or os.path.join(args.exp_dir, "model")
    aed_task.export_model_folder(out_dir, aed_task.model_args(cfg.model, tokenizer), state,
                                 cfg.data.lang_dir, cfg.data.cmvn)
    logger.info("exported %s", out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
