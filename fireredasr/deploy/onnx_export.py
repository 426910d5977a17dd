"""Export an AED folder to the ONNX models sherpa-onnx's FireRedASR recognizer loads.

The output folder holds ``encoder.onnx``, ``decoder.onnx`` and ``tokens.txt`` (the model's
``dict.txt``: sherpa-onnx reads the same ``symbol id`` lines), and with ``int8`` also
``encoder.int8.onnx`` and ``decoder.int8.onnx`` (onnxruntime dynamic quantization of the
matrix multiplications). The encoder carries the metadata the recognizer reads
(:data:`SHERPA_METADATA`) plus the toolkit's own keys, among them the global CMVN, so the
folder needs nothing else at run time.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch

from fireredasr.data.cmvn import CMVNError, GlobalCMVN
from fireredasr.deploy.onnx_graphs import DecoderStepGraph, EncoderGraph
from fireredasr.models.checkpoint import CheckpointError, load_aed_model
from fireredasr.models import released_layout as layout
from fireredasr.models.fireredasr_aed import FireRedAsrAed

logger = logging.getLogger(__name__)

ENCODER_INPUTS = ("features", "features_length")
ENCODER_OUTPUTS = ("n_layer_cross_k", "n_layer_cross_v")
DECODER_INPUTS = ("tokens", "n_layer_self_k_cache", "n_layer_self_v_cache",
                  "n_layer_cross_k", "n_layer_cross_v", "offset")
DECODER_OUTPUTS = ("logits", "out_n_layer_self_k_cache", "out_n_layer_self_v_cache")
# The decoder's optional input (an overridable initializer, default 0; see onnx_graphs.py).
CROSS_BIAS = "cross_bias"
# The keys sherpa-onnx's loader requires in the encoder's metadata.
SHERPA_METADATA = ("num_decoder_layers", "num_head", "head_dim", "sos", "eos", "max_len",
                   "cmvn_mean", "cmvn_inv_stddev")
# The keys the toolkit's own runtime (deploy/onnx_model.py) reads besides those.
TOOLKIT_METADATA = ("version", "ceil_lengths", "max_input_frames")
DEFAULT_MAX_LEN = 640  # decoder cache positions; sherpa-onnx emits at most max_len / 2 tokens
DEFAULT_OPSET = 17
# protobuf cannot hold one file over 2 GiB: larger graphs keep their weights beside them.
EXTERNAL_DATA_BYTES = 1_800_000_000


class OnnxExportError(ValueError):
    """A model folder the ONNX export cannot handle, or an export that does not check out."""


@dataclass(frozen=True)
class OnnxExportResult:
    out_dir: str
    files: List[str]
    metadata: Dict[str, str]


def _require(model_dir: str, names: List[str]) -> None:
    missing = [n for n in names if not os.path.isfile(os.path.join(model_dir, n))]
    if missing:
        raise OnnxExportError(f"{model_dir} is not an AED folder in the released layout: "
                              f"missing {', '.join(missing)} (an LLM folder cannot be exported; "
                              "give the AED folder that fireredasr-export-aed wrote)")


def load_for_export(model_dir: str) -> tuple[FireRedAsrAed, GlobalCMVN]:
    """The AED model (eval mode, fp32) and CMVN of a released-layout folder, or OnnxExportError."""
    _require(model_dir, [layout.MODEL, layout.CMVN, layout.DICT])
    try:
        model, _ = load_aed_model(os.path.join(model_dir, layout.MODEL))
        cmvn = GlobalCMVN.from_file(os.path.join(model_dir, layout.CMVN))
    except (CheckpointError, CMVNError, ValueError) as e:
        raise OnnxExportError(f"cannot export {model_dir}: {e}") from e
    if not isinstance(model, FireRedAsrAed):
        raise OnnxExportError(f"{model_dir}: not a FireRedASR-AED model")
    if cmvn.dim != model.args.idim:
        raise OnnxExportError(f"{model_dir}: cmvn.ark has {cmvn.dim} dims but the model "
                              f"takes {model.args.idim}")
    return model.float().eval(), cmvn


def export_metadata(model: FireRedAsrAed, cmvn: GlobalCMVN, max_len: int) -> Dict[str, str]:
    """The encoder's metadata: sherpa-onnx's keys plus what the toolkit's runtime needs."""
    dec = model.decoder
    attn = dec.layer_stack[0].self_attn
    return {
        "model_type": "fireredasr_aed",
        "version": "2" if model.ctc is not None else "1",
        "num_decoder_layers": str(dec.n_layers),
        "num_head": str(attn.n_head),
        "head_dim": str(attn.d_k),
        "sos": str(model.sos_id),
        "eos": str(model.eos_id),
        "max_len": str(max_len),
        "vocab_size": str(dec.tgt_word_prj.out_features),
        # v1 and v2 count valid encoder frames differently (see ConformerEncoder).
        "ceil_lengths": str(int(model.encoder.ceil_lengths)),
        "max_input_frames": str(model.encoder.max_input_frames),
        "cmvn_mean": ",".join(repr(float(x)) for x in cmvn.mean),
        "cmvn_inv_stddev": ",".join(repr(float(x)) for x in cmvn.inv_std),
        "comment": "exported by fireredasr-export-onnx",
    }


def _model_bytes(module: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def _export_graph(graph: torch.nn.Module, args: tuple, path: str, inputs, outputs,
                  dynamic_axes: Dict[str, Dict[int, str]], opset: int) -> None:
    # The TorchScript exporter: the dynamo exporter cannot yet trace the encoder's reshapes
    # over a symbolic time axis (torch 2.14). Its deprecation warnings are expected here.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, args, path, dynamo=False, opset_version=opset,
                          input_names=list(inputs), output_names=list(outputs),
                          dynamic_axes=dynamic_axes, do_constant_folding=True)


def _save_with_metadata(src: str, path: str, metadata: Dict[str, str], large: bool,
                        defaults: Optional[Dict[str, np.ndarray]] = None) -> None:
    """Save the graph ``src`` as ``path`` with ``metadata`` (and a graph over 2 GiB with its
    weights in one ``<name>.data`` beside it); ``defaults`` turns inputs of those names into
    overridable initializers (inputs a caller may leave out)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(src)
    for name, value in (defaults or {}).items():
        model.graph.initializer.append(numpy_helper.from_array(value, name))
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    data_file = path + ".data"
    if os.path.exists(data_file):  # onnx would append to a stale one
        os.remove(data_file)
    onnx.save_model(model, path, save_as_external_data=large,
                    location=os.path.basename(path) + ".data" if large else None)


def _onnx_bytes(path: str) -> int:
    """A graph's size with its external weights, if any."""
    data = path + ".data"
    return os.path.getsize(path) + (os.path.getsize(data) if os.path.exists(data) else 0)


def quantize_int8(src: str, dst: str) -> None:
    """onnxruntime dynamic quantization: int8 weights for MatMul/Gemm, activations quantized
    per call. Convolutions stay fp32 (ConvInteger has no int8 CPU kernel)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs a line per tensor on the root logger; keep the export's log readable.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(src, dst, op_types_to_quantize=["MatMul", "Gemm"],
                         weight_type=QuantType.QInt8,
                         # int8 weights are a quarter of the size: AED-L's encoder
                         # (3.1 GB in fp32) stays one 1.3 GB file, as mobile loaders need.
                         use_external_data_format=_onnx_bytes(src) > 4 * EXTERNAL_DATA_BYTES)
    finally:
        root.setLevel(level)


def export_onnx(model_dir: str, out_dir: str, int8: bool = False, opset: int = DEFAULT_OPSET,
                max_len: int = DEFAULT_MAX_LEN) -> OnnxExportResult:
    """Write encoder.onnx, decoder.onnx, tokens.txt (and the int8 pair) for ``model_dir``."""
    model, cmvn = load_for_export(model_dir)
    max_len = min(max_len, model.decoder.max_positions)
    if max_len < 2:
        raise OnnxExportError(f"max_len must be at least 2, got {max_len}")
    os.makedirs(out_dir, exist_ok=True)
    metadata = export_metadata(model, cmvn, max_len)
    large = _model_bytes(model) > EXTERNAL_DATA_BYTES
    # The exporter writes a large graph's weights as one file per tensor: trace into a
    # scratch folder and keep only the final files.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export_") as scratch:
        _export_graphs(model, out_dir, scratch, metadata, large, opset, max_len)

    shutil.copyfile(os.path.join(model_dir, layout.DICT), os.path.join(out_dir, "tokens.txt"))
    files = ["encoder.onnx", "decoder.onnx", "tokens.txt"]
    if int8:
        for name in ("encoder", "decoder"):
            quantize_int8(os.path.join(out_dir, f"{name}.onnx"),
                          os.path.join(out_dir, f"{name}.int8.onnx"))
            files.append(f"{name}.int8.onnx")
    logger.info("exported %s to %s: %s", model_dir, out_dir, ", ".join(files))
    return OnnxExportResult(out_dir, files, metadata)


def _export_graphs(model: FireRedAsrAed, out_dir: str, scratch: str,
                   metadata: Dict[str, str], large: bool, opset: int, max_len: int) -> None:
    traced = os.path.join(scratch, "encoder.onnx")
    feats = torch.randn(1, 200, model.args.idim)
    _export_graph(EncoderGraph(model).eval(), (feats, torch.tensor([200])), traced,
                  ENCODER_INPUTS, ENCODER_OUTPUTS,
                  {"features": {0: "N", 1: "T"}, "features_length": {0: "N"},
                   "n_layer_cross_k": {1: "N", 2: "T_enc"},
                   "n_layer_cross_v": {1: "N", 2: "T_enc"}}, opset)
    _save_with_metadata(traced, os.path.join(out_dir, "encoder.onnx"), metadata, large)

    traced = os.path.join(scratch, "decoder.onnx")
    d, attn = model.args.d_model, model.decoder.layer_stack[0].self_attn
    layers, n = model.decoder.n_layers, 2
    cache = torch.zeros(layers, n, max_len, attn.n_head, attn.d_k)
    cross = torch.randn(layers, n, 30, d)
    cache_axes = {1: "N", 2: "max_len"}  # sherpa-onnx sizes the cache per utterance
    _export_graph(DecoderStepGraph(model).eval(),
                  (torch.full((n, 1), model.sos_id), cache, cache, cross, cross,
                   torch.tensor([0]), torch.zeros(n, 1, 1, 30)), traced,
                  DECODER_INPUTS + (CROSS_BIAS,), DECODER_OUTPUTS,
                  {"tokens": {0: "N"}, "n_layer_self_k_cache": cache_axes,
                   "n_layer_self_v_cache": cache_axes,
                   "n_layer_cross_k": {1: "N", 2: "T_enc"},
                   "n_layer_cross_v": {1: "N", 2: "T_enc"}, CROSS_BIAS: {0: "N_b", 3: "T_b"},
                   "logits": {0: "N"},
                   "out_n_layer_self_k_cache": cache_axes,
                   "out_n_layer_self_v_cache": cache_axes}, opset)
    _save_with_metadata(traced, os.path.join(out_dir, "decoder.onnx"),
                        {"model_type": "fireredasr_aed_decoder"}, large,
                        {CROSS_BIAS: np.zeros((1, 1, 1, 1), np.float32)})
