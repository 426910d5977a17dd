"""Average LSTM LM checkpoints and export the released FireRedASR2 ``elm/`` folder.

    fireredasr-export-lm --exp_dir exp/elm [--num 2] [--mode last|best] [--out_dir exp/elm/elm]

Pass the folder to decoding as --elm_dir (FireRedAsr: args["elm_dir"]).
"""
from __future__ import annotations

import logging
import os
import sys

from fireredasr.cli_utils import export_parser, setup_logging

logger = logging.getLogger("export_lm")


def main(argv=None) -> int:
    p = export_parser(__doc__, 2, "elm")
    args = p.parse_args(argv)
    setup_logging()
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.lm_task import LmTask
    from fireredasr.train.run import export_run

    out_dir = args.out_dir or os.path.join(args.exp_dir, "elm")
    try:
        export_run(LmTask, args.exp_dir, args.num, args.mode, out_dir)
    except (FileNotFoundError, ValueError) as e:
        logger.error("%s", e)
        return 1
    logger.info("exported %s", out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
