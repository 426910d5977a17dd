"""Stage 7 export: average FireRedASR-LLM checkpoints into a model folder in the released layout.

    fireredasr-export-llm --exp_dir exp/llm [--num 5] [--mode last|best] [--copy_llm]

Writes model.pth.tar (encoder, adapter and LoRA weights with the released args), the encoder's
asr_encoder.pth.tar, cmvn.ark and Qwen2-7B-Instruct/ (a symlink to model.llm_dir, or a copy
with --copy_llm), which FireRedAsr.from_pretrained("llm", out_dir) loads.
"""
from __future__ import annotations

import logging
import os
import sys

from fireredasr.cli_utils import export_parser, setup_logging

logger = logging.getLogger("export_llm")


def main(argv=None) -> int:
    p = export_parser(__doc__, 5, "model")
    p.add_argument("--copy_llm", action="store_true")
    args = p.parse_args(argv)
    setup_logging()
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.llm_task import LlmTask
    from fireredasr.train.run import export_run

    out_dir = args.out_dir or os.path.join(args.exp_dir, "model")
    try:
        export_run(LlmTask, args.exp_dir, args.num, args.mode, out_dir, copy_llm=args.copy_llm)
    except (FileNotFoundError, ValueError) as e:
        logger.error("%s", e)
        return 1
    logger.info("exported %s", out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
