"""Stage 4: average AED checkpoints and export a model folder in the released layout.

    fireredasr-export-aed --exp_dir exp/aed_s [--num 10] [--mode last|best] [--out_dir exp/aed_s/model]

Averages the fp32 weights of the last N checkpoints (or the N with the lowest validation loss),
and writes model.pth.tar (released {"args", "model_state_dict"} package), cmvn.ark, dict.txt and
train_bpe1000.model, so FireRedAsr.from_pretrained("aed", out_dir) and the released code load it.
"""
from __future__ import annotations

import sys

from fireredasr.cli_utils import export_command, export_parser


def main(argv=None) -> int:
    p = export_parser(__doc__, 10, "model")
    args = p.parse_args(argv)
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.aed_task import AedTask

    return export_command(AedTask, args, "model")


if __name__ == "__main__":
    sys.exit(main())
