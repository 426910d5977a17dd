"""Export an AED folder to ONNX for sherpa-onnx (and for ``--asr_type aed_onnx``).

    fireredasr-export-onnx --model_dir exp/aed/model --out_dir exp/aed/onnx [--int8] [--opset 17]

Writes encoder.onnx, decoder.onnx and tokens.txt (with --int8 also encoder.int8.onnx and
decoder.int8.onnx), then checks the export against PyTorch (docs/onnx.md). Decode with
sherpa_onnx.OfflineRecognizer.from_fire_red_asr(encoder, decoder, tokens) or with
fireredasr-transcribe --asr_type aed_onnx --model_dir OUT.
"""
from __future__ import annotations

import argparse
import logging
import sys

from fireredasr.cli_utils import setup_logging

logger = logging.getLogger("export_onnx")


def main(argv=None) -> int:
    # onnx and onnxruntime load only in this command (the defaults come from their module)
    from fireredasr.deploy.onnx_export import DEFAULT_MAX_LEN, DEFAULT_OPSET

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model_dir", required=True,
                   help="an AED folder in the released layout (released or exported)")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--int8", action="store_true", help="also write int8-quantized graphs")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    p.add_argument("--max_len", type=int, default=DEFAULT_MAX_LEN,
                   help="decoder positions (sherpa-onnx emits at most max_len/2 tokens)")
    p.add_argument("--check", type=int, default=1,
                   help="1: compare the graphs with PyTorch on random input after export")
    args = p.parse_args(argv)
    setup_logging()
    from fireredasr.deploy.onnx_check import check_export  # as above: onnx, onnxruntime
    from fireredasr.deploy.onnx_export import OnnxExportError, export_onnx

    try:
        result = export_onnx(args.model_dir, args.out_dir, args.int8, args.opset, args.max_len)
        if args.check:
            report = check_export(args.model_dir, args.out_dir)
            logger.info("check: %s", report.summary())
    except (OnnxExportError, FileNotFoundError) as e:
        logger.error("%s", e)
        return 1
    logger.info("wrote %s to %s", ", ".join(result.files), result.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
