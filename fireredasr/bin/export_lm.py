"""Stage 6: average LSTM LM checkpoints and export the released FireRedASR2 ``elm/`` folder.

    fireredasr-export-lm --exp_dir exp/elm [--num 2] [--mode last|best] [--out_dir exp/elm/elm]

Pass the folder to decoding as --elm_dir (FireRedAsr: args["elm_dir"]).
"""
from __future__ import annotations

import sys

from fireredasr.cli_utils import export_command, export_parser


def main(argv=None) -> int:
    p = export_parser(__doc__, 2, "elm")
    args = p.parse_args(argv)
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.lm_task import LmTask

    return export_command(LmTask, args, "elm")


if __name__ == "__main__":
    sys.exit(main())
