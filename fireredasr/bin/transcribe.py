"""fireredasr-transcribe: the released ``speech2text.py`` command line.

    fireredasr-transcribe --asr_type aed --model_dir MODEL --wav_scp wav.scp \
        --output hyp.txt --batch_size 4 --beam_size 3 --softmax_smoothing 1.25 \
        --aed_length_penalty 0.6

Writes ``uttid<TAB>text`` lines. Inputs that cannot be decoded are reported and skipped;
the exit status is 1 only when nothing could be decoded.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import List, Optional

import torch

from fireredasr.cli_utils import setup_logging
from fireredasr.data.cmvn import CMVNError
from fireredasr.decode.api import ASR_TYPES, FireRedAsr, model_family
from fireredasr.decode.options import OPTIONS_BY_FAMILY, add_decoding_arguments, options_from_flags
from fireredasr.models.checkpoint import CheckpointError
from fireredasr.decode.wav_inputs import collect_wavs

logger = logging.getLogger("fireredasr.transcribe")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--asr_type", required=True, choices=ASR_TYPES)
    p.add_argument("--model_dir", required=True)
    io = p.add_argument_group("input / output")
    io.add_argument("--wav_path")
    io.add_argument("--wav_paths", nargs="*")
    io.add_argument("--wav_dir")
    io.add_argument("--wav_scp")
    io.add_argument("--output", help="write 'uttid<TAB>text' lines here (default: stdout)")
    io.add_argument("--output_format", choices=["text", "json"], default="text",
                    help="json: one JSON result per line (text, confidence, dur_s, timestamp)")
    d = p.add_argument_group("running")
    d.add_argument("--use_gpu", type=int, default=1,
                   help="1: decode on CUDA when it is available (falls back to CPU)")
    d.add_argument("--bf16", type=int, default=0, help="1: bf16 autocast")
    d.add_argument("--batch_size", type=int, default=1)
    add_decoding_arguments(p, paper_defaults=False)
    p.add_argument("--log_level", default="INFO")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        wavs = collect_wavs(args.wav_path, args.wav_paths, args.wav_dir, args.wav_scp)
    except (ValueError, FileNotFoundError) as e:
        logger.error("%s", e)
        return 2
    if not wavs:
        logger.error("no input audio: %s is empty", args.wav_scp or args.wav_dir or "the input")
        return 2
    use_gpu = bool(args.use_gpu) and torch.cuda.is_available()
    if args.use_gpu and not use_gpu:
        logger.info("CUDA is not available; decoding on CPU")
    family = model_family(args.asr_type)
    try:
        opts, _ = options_from_flags(family, args, OPTIONS_BY_FAMILY[family](),
                                     use_gpu=use_gpu, bf16=bool(args.bf16))
    except ValueError as e:
        logger.error("bad decoding option: %s", e)
        return 2
    try:
        model = FireRedAsr.from_pretrained(args.asr_type, args.model_dir)
        model.check_options(opts)
    except (FileNotFoundError, CheckpointError, CMVNError, ValueError) as e:
        logger.error("cannot load the model: %s", e)
        return 2
    logger.info("%d inputs, batch size %d", len(wavs), args.batch_size)

    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    decoded = 0
    try:
        for start in range(0, len(wavs), max(1, args.batch_size)):
            batch = wavs[start: start + max(1, args.batch_size)]
            results = model.transcribe([u for u, _ in batch], [w for _, w in batch], opts)
            for r in results:
                out.write(json.dumps(r, ensure_ascii=False) + "\n"
                          if args.output_format == "json" else f"{r['uttid']}\t{r['text']}\n")
            out.flush()
            decoded += len(results)
    finally:
        if out is not sys.stdout:
            out.close()
    skipped = len(wavs) - decoded
    logger.info("decoded %d of %d inputs%s", decoded, len(wavs),
                f"; {skipped} skipped (see the errors above)" if skipped else "")
    return 0 if decoded > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
