"""Stage 10: average FireRedASR-LLM checkpoints into a model folder in the released layout.

    fireredasr-export-llm --exp_dir exp/llm [--num 5] [--mode last|best] [--copy_llm]

Writes model.pth.tar (encoder, adapter and LoRA weights with the released args), the encoder's
asr_encoder.pth.tar, cmvn.ark and Qwen2-7B-Instruct/ (a symlink to model.llm_dir, or a copy
with --copy_llm), which FireRedAsr.from_pretrained("llm", out_dir) loads.
"""
from __future__ import annotations

import sys

from fireredasr.cli_utils import export_command, export_parser


def main(argv=None) -> int:
    p = export_parser(__doc__, 5, "model")
    p.add_argument("--copy_llm", action="store_true",
                   help="copy the base LLM folder instead of linking it")
    args = p.parse_args(argv)
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.train.llm_task import LlmTask

    return export_command(LlmTask, args, "model", copy_llm=args.copy_llm)


if __name__ == "__main__":
    sys.exit(main())
