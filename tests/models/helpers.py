"""Tiny randomly initialised AED models for tests."""
import argparse

import torch

from fireredasr.models.fireredasr_aed import FireRedAsrAed


def tiny_aed_args(**overrides) -> argparse.Namespace:
    args = dict(idim=80, n_layers_enc=2, n_layers_dec=2, n_head=4, d_model=64,
                residual_dropout=0.1, dropout_rate=0.1, kernel_size=7, pe_maxlen=512,
                odim=50, sos_id=3, eos_id=4, pad_id=2)
    args.update(overrides)
    return argparse.Namespace(**args)


def tiny_aed(seed: int = 0, ctc: bool = False, **overrides) -> FireRedAsrAed:
    torch.manual_seed(seed)
    model = FireRedAsrAed.from_args(tiny_aed_args(**overrides), ctc=ctc)
    # Non-trivial LayerNorm affine parameters so that tests exercise them.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model.eval()
