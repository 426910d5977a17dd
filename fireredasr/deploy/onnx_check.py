"""Check an ONNX export against the PyTorch model it came from.

The encoder graph must give the same cross-attention keys/values, and the decoder graph the
same logits step after step, for padded batches and lengths other than the ones it was traced
with (so the dynamic axes really are dynamic). Errors are relative to the largest reference value.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch

from fireredasr.deploy.onnx_export import CROSS_BIAS, OnnxExportError, load_for_export

# fp32 graphs against fp32 PyTorch: operator fusion and different reduction orders only.
RELATIVE_TOLERANCE = 1e-4


@dataclass
class OnnxCheckReport:
    errors: Dict[str, float]  # name -> max |onnx - torch| / max |torch|

    def summary(self) -> str:
        return ", ".join(f"{k} {v:.1e}" for k, v in self.errors.items()) + \
            f" (relative; tolerance {RELATIVE_TOLERANCE:g})"


def _rel_err(got: np.ndarray, want: torch.Tensor) -> float:
    want = want.detach().float().numpy()
    if got.shape != want.shape:
        raise OnnxExportError(f"ONNX output shape {got.shape} differs from PyTorch {want.shape}")
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


@torch.no_grad()
def check_export(model_dir: str, onnx_dir: str, steps: int = 4, seed: int = 0
                 ) -> OnnxCheckReport:
    """Compare encoder K/V and ``steps`` decoder steps on random features (padded batches
    of 2 at two lengths; the decoder with its cross-attention bias); raise OnnxExportError
    beyond :data:`RELATIVE_TOLERANCE`."""
    import onnxruntime as ort

    model, _ = load_for_export(model_dir)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # not the note that cross_bias is an overridable input
    enc_sess = ort.InferenceSession(os.path.join(onnx_dir, "encoder.onnx"), opts,
                                    providers=["CPUExecutionProvider"])
    dec_sess = ort.InferenceSession(os.path.join(onnx_dir, "decoder.onnx"), opts,
                                    providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    errors: Dict[str, float] = {}
    for frames in (300, 137):
        feats = torch.randn(2, frames, model.args.idim, generator=gen)
        lengths = torch.tensor([frames, frames - 37])
        k, v = enc_sess.run(None, {"features": feats.numpy(), "features_length": lengths.numpy()})
        enc, enc_lengths, enc_mask = model.encoder(feats, lengths)
        enc = enc[:, : int(enc_lengths.max())]
        layers = model.decoder.layer_stack
        errors[f"cross_k@{frames}"] = _rel_err(k, torch.stack([l.cross_attn.w_ks(enc) for l in layers]))
        errors[f"cross_v@{frames}"] = _rel_err(v, torch.stack([l.cross_attn.w_vs(enc) for l in layers]))

        enc_mask = enc_mask[:, : enc.size(1)]
        bias = np.where(enc_mask.numpy(), 0.0, -np.inf).astype(np.float32)[:, None, None, :]
        state = model.decoder.init_state(enc, enc_mask, beam=1, max_len=steps)
        attn = layers[0].self_attn
        shape = (len(layers), 2, steps, attn.n_head, attn.d_k)
        self_k, self_v = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        tokens = torch.full((2,), model.sos_id)
        for t in range(steps):
            want = model.decoder.step(state, tokens)
            logits, self_k, self_v = dec_sess.run(None, {
                "tokens": tokens.view(2, 1).numpy(), "n_layer_self_k_cache": self_k,
                "n_layer_self_v_cache": self_v, "n_layer_cross_k": k, "n_layer_cross_v": v,
                "offset": np.array([t], np.int64), CROSS_BIAS: bias})
            name = f"logits@{frames}"
            errors[name] = max(errors.get(name, 0.0), _rel_err(logits[:, 0], want))
            tokens = torch.randint(0, want.size(-1), (2,), generator=gen)
            # The graph never sees <pad> (the search feeds eos after the end), so neither here.
            tokens[tokens == model.pad_id] = model.sos_id
    bad = {k: e for k, e in errors.items() if not e <= RELATIVE_TOLERANCE}
    if bad:
        raise OnnxExportError(f"{onnx_dir} disagrees with {model_dir} beyond the tolerance "
                              f"{RELATIVE_TOLERANCE:g}: {bad}")
    return OnnxCheckReport(errors)
