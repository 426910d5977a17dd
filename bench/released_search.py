"""The released code's beam search, kept as a baseline for the benches and tests only.

Every step re-runs each decoder layer's self-attention over all earlier positions and
re-projects the encoder output, as the released ``transformer_decoder.py`` does. It drives the
toolkit's shared search loop (``run_search``), so it measures the cost of the uncached decoder
and nothing else; ``tests/models/test_beam_oracle.py`` checks the search loop itself against a
brute-force search that shares no code with it.
"""
from __future__ import annotations

from typing import List

import torch

from fireredasr.models.beam_search import (BeamSearchConfig, Hypothesis, resolve_max_lens,
                                           run_search)
from fireredasr.models.transformer_decoder import TransformerDecoder


@torch.no_grad()
def uncached_batch_beam_search(decoder: TransformerDecoder, enc: torch.Tensor,
                               enc_mask: torch.Tensor,
                               cfg: BeamSearchConfig) -> List[List[Hypothesis]]:
    """The released algorithm: every step re-runs each layer's attention over all earlier
    positions and re-projects the encoder output (kept as a baseline for tests and bench)."""
    max_lens = resolve_max_lens(cfg, enc_mask, decoder.max_positions)
    B = cfg.beam_size
    enc_b = enc.repeat_interleave(B, dim=0)
    cross_mask = enc_mask.repeat_interleave(B, dim=0)[:, None, None, :]
    history = {"ys": torch.full((enc_b.size(0), 0), 0, dtype=torch.long, device=enc.device),
               "layers": [None] * decoder.n_layers}

    def step(tokens: torch.Tensor) -> torch.Tensor:
        ys = torch.cat((history["ys"], tokens[:, None]), dim=1)
        history["ys"] = ys
        t = ys.size(1)
        key_mask = (ys != decoder.pad_id)[:, None, None, :]
        x = decoder.embed(ys)
        for i, layer in enumerate(decoder.layer_stack):
            prev = history["layers"][i]
            # The released cache holds each layer's outputs; inputs for all positions are
            # re-normalised and re-projected, only the last position's query is new.
            h = layer.self_attn_norm(x)
            out = x[:, -1:] + layer.self_attn(h[:, -1:], h, key_mask)
            out = out + layer.cross_attn(layer.cross_attn_norm(out), enc_b, cross_mask)
            out = out + layer.mlp(layer.mlp_norm(out))
            x = out if prev is None else torch.cat((prev, out), dim=1)
            history["layers"][i] = x
        assert x.size(1) == t
        return decoder.tgt_word_prj(decoder.layer_norm_out(x[:, -1]))

    def reorder(rows: torch.Tensor) -> None:
        history["ys"] = history["ys"][rows]
        history["layers"] = [h[rows] for h in history["layers"]]

    return run_search(step, reorder, max_lens, decoder.sos_id, decoder.eos_id, cfg, enc.device)
