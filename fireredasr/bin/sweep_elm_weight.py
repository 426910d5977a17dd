"""Pick the LSTM-LM fusion weight on a dev set: one decode per weight, lowest error rate wins.

    fireredasr-sweep-elm-weight --model_dir exp/aed/model --elm_dir exp/elm/elm \
        --data_dir data/dev --out_dir exp/aed/elm_sweep_dev --weights 0.1 0.2 0.3 0.5 \
        [--decode_mode joint_ctc_attention --beam_size 10 ...]

Prints the best weight (0 when the LM does not help) and writes elm_weight_sweep.tsv. Every
decode of the sweep uses the decoding flags given (those of ``fireredasr-decode``, on top of
the paper's settings), so the weight is chosen for the search it will be used with.
"""
from __future__ import annotations

import argparse
import logging
import sys

from fireredasr.cli_utils import log_other_family_flags, setup_logging
from fireredasr.data.cmvn import CMVNError
from fireredasr.decode.options import AedDecodeOptions, add_decoding_arguments, options_from_flags
from fireredasr.models.checkpoint import CheckpointError

logger = logging.getLogger("sweep_elm_weight")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model_dir", required=True)
    p.add_argument("--data_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--weights", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.5])
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--ngpu", type=int, default=0)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--bf16", type=int, default=0)
    add_decoding_arguments(p, paper_defaults=True)   # --elm_dir (required here) among them
    args = p.parse_args(argv)
    if not args.elm_dir:
        p.error("the following arguments are required: --elm_dir")
    setup_logging()
    # torch, DeepSpeed: imported after the arguments, so that --help and usage errors are instant
    from fireredasr.decode.elm_sweep import sweep_elm_weight

    try:
        if args.elm_weight is not None:
            logger.info("--elm_weight %g ignored: the sweep tries --weights", args.elm_weight)
            args.elm_weight = None
        opts, other = options_from_flags("aed", args, AedDecodeOptions.paper(),
                                         bf16=bool(args.bf16))
        log_other_family_flags(logger, "aed", other)
        best, _ = sweep_elm_weight(args.model_dir, args.elm_dir, args.data_dir, args.out_dir,
                                   args.weights, opts, batch_size=args.batch_size,
                                   nj=args.nj, ngpu=args.ngpu)
    except (FileNotFoundError, ValueError, CheckpointError, CMVNError) as e:
        logger.error("%s", e)
        return 1
    print(f"{best:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
