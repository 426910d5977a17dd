"""Stages 7/11: decode a data dir with a model folder and score it.

    fireredasr-decode --asr_type aed --model_dir exp/aed/model --data_dir data/test \
        --out_dir exp/aed/decode_test --nj 2 --batch_size 8 \
        [--test_set aishell1 --model_name aed_s] [--beam_size 3 ...]

Decoding options default to the released settings (AED: beam 3, softmax_smoothing 1.25,
aed_length_penalty 0.6; LLM: beam 3, repetition_penalty 3.0, llm_length_penalty 1.0). Writes
hyp, confidence (AED), nbest (with --nbest > 1), timestamp (CTM lines, with --return_timestamp 1
on a model with a CTC head), rtf, and the scoring outputs wer, wer.json and wer.align.
FireRedASR2 shallow fusion: --elm_dir DIR --elm_weight W. Models with a CTC head also decode
with --decode_mode joint_ctc_attention | ctc_greedy | ctc_prefix_beam | attention_rescoring
(--ctc_weight).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from fireredasr.cli_utils import log_other_family_flags, setup_logging
from fireredasr.data.cmvn import CMVNError
from fireredasr.data.kaldi_dir import DataDir, read_map
from fireredasr.decode.api import ASR_TYPES, model_family
from fireredasr.decode.decode_data_dir import decode_data_dir
from fireredasr.decode.options import OPTIONS_BY_FAMILY, add_decoding_arguments, options_from_flags
from fireredasr.models.checkpoint import CheckpointError
from fireredasr.scoring.cer import score, write_results

logger = logging.getLogger("decode")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--asr_type", choices=ASR_TYPES, default="aed")
    p.add_argument("--model_dir", required=True)
    p.add_argument("--data_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--nj", type=int, default=1, help="parallel CPU jobs")
    p.add_argument("--ngpu", type=int, default=0, help="decode on this many GPUs (one job each)")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--bf16", type=int, default=0)
    add_decoding_arguments(p, paper_defaults=True)
    p.add_argument("--collapse_repeats", type=int, default=0,
                   help="N > 0: collapse n-grams repeated more than N times in a row (LLM guard)")
    p.add_argument("--test_set", help="column id for the results table (e.g. aishell1)")
    p.add_argument("--model_name", help="row name for the results table")
    p.add_argument("--number_norm", type=int, default=0, help="1: cn2an number normalisation")
    p.add_argument("--skip_missing", type=int, default=0,
                   help="1: skip utterances without hypothesis (the released scorer's behaviour)")
    args = p.parse_args(argv)
    setup_logging()
    family = model_family(args.asr_type)
    try:
        opts, other = options_from_flags(family, args, OPTIONS_BY_FAMILY[family].paper(),
                                         bf16=bool(args.bf16))
        log_other_family_flags(logger, family, other)
        data = DataDir.load(args.data_dir)
        decode_data_dir(args.model_dir, args.data_dir, args.out_dir, args.asr_type, opts,
                        args.batch_size, args.nj, args.ngpu, args.collapse_repeats)
    except (FileNotFoundError, ValueError, CheckpointError, CMVNError) as e:
        logger.error("%s", e)
        return 1
    hyps = read_map(os.path.join(args.out_dir, "hyp"))
    summary, utts = score(data.text, hyps, bool(args.number_norm), bool(args.skip_missing),
                          data.extra.get("utt2subdialect"))
    meta = {"model": args.model_name or os.path.basename(os.path.normpath(args.model_dir)),
            "test_set": args.test_set or os.path.basename(os.path.normpath(args.data_dir)),
            "model_dir": os.path.abspath(args.model_dir),
            "data_dir": os.path.abspath(args.data_dir)}
    write_results(os.path.join(args.out_dir, "wer"), summary, utts, meta)
    logger.info("%s\n%s", os.path.join(args.out_dir, "wer"), summary.format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
