"""Decode with an ONNX export inside the toolkit: onnxruntime runs the graphs, the toolkit's
beam search (the released semantics, any beam size) drives them.

:class:`OnnxAed` has the decoding interface of :class:`~fireredasr.models.fireredasr_aed.
FireRedAsrAed` (``transcribe(feats, lengths, cfg)``), so ``FireRedAsr`` and
``fireredasr-decode`` use it through ``--asr_type aed_onnx`` / ``aed_onnx_int8`` and PyTorch,
ONNX fp32 and ONNX int8 can be scored on the same data with one tool.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np
import torch

from fireredasr.data.cmvn import GlobalCMVN
from fireredasr.models.beam_search import (BeamSearchConfig, Hypothesis, resolve_max_lens,
                                           run_search)
from fireredasr.deploy.onnx_export import CROSS_BIAS, SHERPA_METADATA, TOOLKIT_METADATA
from fireredasr.models.conformer_encoder import encoder_output_lengths, lengths_to_mask

INITIAL_CACHE = 16  # decoder cache positions before the first doubling


class OnnxAed:
    """An exported AED folder (encoder/decoder ``.onnx`` + ``tokens.txt``) on onnxruntime CPU."""

    def __init__(self, onnx_dir: str, int8: bool = False, num_threads: Optional[int] = None):
        import onnxruntime as ort

        suffix = ".int8.onnx" if int8 else ".onnx"
        paths = [os.path.join(onnx_dir, f"{name}{suffix}") for name in ("encoder", "decoder")]
        missing = [p for p in paths + [os.path.join(onnx_dir, "tokens.txt")]
                   if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"{onnx_dir} is not a complete ONNX export: missing "
                                    f"{', '.join(os.path.basename(p) for p in missing)} "
                                    "(write one with fireredasr-export-onnx"
                                    + (" --int8" if int8 else "") + ")")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # not the note that cross_bias is an overridable input
        # As many threads as PyTorch uses, so the two paths compare on equal terms.
        opts.intra_op_num_threads = num_threads or torch.get_num_threads()
        self.encoder_session = ort.InferenceSession(paths[0], opts,
                                                    providers=["CPUExecutionProvider"])
        self.decoder_session = ort.InferenceSession(paths[1], opts,
                                                    providers=["CPUExecutionProvider"])
        self.metadata = self._read_metadata(paths[0])
        if CROSS_BIAS not in {i.name for i in self.decoder_session.get_overridable_initializers()}:
            raise ValueError(f"{paths[1]} has no {CROSS_BIAS} input, which batched decoding "
                             "needs: export the folder again with fireredasr-export-onnx")
        meta = self.metadata
        self.sos_id, self.eos_id = int(meta["sos"]), int(meta["eos"])
        self.n_layers, self.n_head = int(meta["num_decoder_layers"]), int(meta["num_head"])
        self.head_dim, self.max_len = int(meta["head_dim"]), int(meta["max_len"])
        self.version = int(meta["version"])
        self.ceil_lengths = meta["ceil_lengths"] == "1"
        self.max_input_frames = int(meta["max_input_frames"])
        self.tokens_path = os.path.join(onnx_dir, "tokens.txt")
        self.ctc = None  # the export holds the attention decoder only

    def _read_metadata(self, path: str) -> Dict[str, str]:
        meta = dict(self.encoder_session.get_modelmeta().custom_metadata_map)
        missing = [k for k in SHERPA_METADATA + TOOLKIT_METADATA if k not in meta]
        if missing:
            raise ValueError(f"{path} lacks the metadata {', '.join(missing)}: not an export "
                             "of fireredasr-export-onnx (write one with it)")
        return meta

    @property
    def cmvn(self) -> GlobalCMVN:
        """The global CMVN stored in the encoder's metadata."""
        mean = np.array([float(x) for x in self.metadata["cmvn_mean"].split(",")])
        inv_std = np.array([float(x) for x in self.metadata["cmvn_inv_stddev"].split(",")])
        return GlobalCMVN.from_mean_inv_std(mean, inv_std)

    # The torch model's housekeeping calls; the sessions run on the CPU as built.
    def eval(self) -> "OnnxAed":
        return self

    def to(self, device: torch.device) -> "OnnxAed":
        if torch.device(device).type != "cpu":
            raise ValueError("the ONNX path runs on the CPU (onnxruntime's CPU provider)")
        return self

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor):
        """Cross-attention keys/values (L, N, T', d) of a padded batch, and the valid encoder
        lengths by the exported model's own rule (v1 or v2)."""
        k, v = self.encoder_session.run(None, {"features": feats.float().numpy(),
                                               "features_length": lengths.long().numpy()})
        return k, v, encoder_output_lengths(lengths.cpu(), k.shape[2], self.ceil_lengths)

    def transcribe(self, feats: torch.Tensor, lengths: torch.Tensor,
                   cfg: Optional[BeamSearchConfig] = None, elm=None,
                   return_timestamp: bool = False, **options) -> List[List[Hypothesis]]:
        """Decode a batch; one n-best list per input, as FireRedAsrAed.transcribe."""
        cfg = cfg or BeamSearchConfig(**options)
        if cfg.decode_mode != "attention" or return_timestamp:
            raise ValueError("the ONNX export holds the attention decoder only: no CTC "
                             "decoding modes or timestamps (use the PyTorch folder)")
        if elm is not None and cfg.elm_weight > 0.0:
            raise ValueError("external LM fusion is not available with the ONNX export")
        k, v, enc_lengths = self.encode(feats.cpu(), lengths.cpu())
        mask = lengths_to_mask(enc_lengths, k.shape[2])
        return self._search(k, v, mask, resolve_max_lens(cfg, mask, self.max_len), cfg)

    def _search(self, k: np.ndarray, v: np.ndarray, mask: torch.Tensor,
                max_lens: torch.Tensor, cfg: BeamSearchConfig) -> List[List[Hypothesis]]:
        """The beam search over a padded batch: beam rows of each utterance are adjacent."""
        beam = cfg.beam_size
        cross_k, cross_v = np.repeat(k, beam, axis=1), np.repeat(v, beam, axis=1)
        # Padded frames get -inf in the cross-attention (the graph's optional input).
        bias = np.where(mask.repeat_interleave(beam, dim=0).numpy(), 0.0, -np.inf)
        bias = bias.astype(np.float32)[:, None, None, :]
        # Each step reads and writes the whole cache, so it starts small and doubles when
        # full (the graph takes any cache length and masks positions after ``offset``).
        limit = int(max_lens.max())
        shape = (self.n_layers, k.shape[1] * beam, min(limit, INITIAL_CACHE), self.n_head,
                 self.head_dim)
        cache = {"k": np.zeros(shape, np.float32), "v": np.zeros(shape, np.float32), "t": 0}

        def step(tokens: torch.Tensor) -> torch.Tensor:
            size = cache["k"].shape[2]
            if cache["t"] == size:
                grow = [(0, 0)] * 5
                grow[2] = (0, min(size, limit - size))
                cache["k"], cache["v"] = np.pad(cache["k"], grow), np.pad(cache["v"], grow)
            logits, cache["k"], cache["v"] = self.decoder_session.run(None, {
                "tokens": tokens.view(-1, 1).numpy(), "n_layer_self_k_cache": cache["k"],
                "n_layer_self_v_cache": cache["v"], "n_layer_cross_k": cross_k,
                "n_layer_cross_v": cross_v, "offset": np.array([cache["t"]], np.int64),
                CROSS_BIAS: bias})
            cache["t"] += 1
            return torch.from_numpy(logits[:, 0])

        def reorder(rows: torch.Tensor) -> None:
            idx = rows.numpy()
            cache["k"], cache["v"] = cache["k"][:, idx], cache["v"][:, idx]

        return run_search(step, reorder, max_lens, self.sos_id, self.eos_id, cfg,
                          torch.device("cpu"))
