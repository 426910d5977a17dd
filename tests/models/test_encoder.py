import torch

from fireredasr.data.frontend import Frontend
from fireredasr.models.checkpoint import load_aed_model
from fireredasr.models.conformer_encoder import (Conv2dSubsampling, InputTooLongError,
                                                 RelPositionalEncoding, rel_shift)


def test_rel_shift_indexes_relative_distance():
    n, h, t = 2, 3, 5
    x = torch.randn(n, h, t, 2 * t - 1)
    out = rel_shift(x)
    for i in range(t):
        for k in range(t):
            # column j holds distance T-1-j; [i, k] must hold distance i-k.
            assert torch.equal(out[:, :, i, k], x[:, :, i, t - 1 - (i - k)])


def test_subsampled_lengths():
    lengths = torch.tensor([7, 8, 9, 10, 1235])
    assert Conv2dSubsampling.output_lengths(lengths).tolist() == [1, 1, 1, 1, 308]


def test_positional_table_limit_is_a_clear_error():
    pe = RelPositionalEncoding(8, max_len=10)
    assert pe(10).shape == (1, 19, 8)
    try:
        pe(11)
    except InputTooLongError as e:
        assert "split the audio" in str(e)
    else:
        raise AssertionError("expected InputTooLongError")


def _reference_inputs(ref_aed_dir, expected_encoder, real_wavs):
    model, _ = load_aed_model(str(ref_aed_dir / "model.pth.tar"))
    model.eval()
    fe = Frontend.from_cmvn_file(str(ref_aed_dir / "cmvn.ark"))
    feats = [fe.load(real_wavs[u])[0] for u in expected_encoder["uttids"]]
    return model, feats


def test_encoder_matches_reference_as_batch(ref_aed_dir, expected_encoder, real_wavs):
    model, _ = _reference_inputs(ref_aed_dir, expected_encoder, real_wavs)
    with torch.no_grad():
        enc, enc_len, mask = model.encoder(expected_encoder["feats"], expected_encoder["lengths"])
    assert torch.equal(enc_len, expected_encoder["enc_lengths"])
    assert enc.shape == expected_encoder["enc"].shape
    assert (enc - expected_encoder["enc"]).abs().max().item() <= 1e-4
    assert mask.sum(1).tolist() == enc_len.tolist()


def test_encoder_matches_reference_one_at_a_time(ref_aed_dir, expected_encoder, real_wavs):
    model, feats = _reference_inputs(ref_aed_dir, expected_encoder, real_wavs)
    for i, f in enumerate(feats):
        with torch.no_grad():
            enc, enc_len, _ = model.encoder(f[None], torch.tensor([f.size(0)]))
        n = int(expected_encoder["enc_lengths"][i])
        assert int(enc_len) == n
        assert (enc[0, :n] - expected_encoder["enc"][i, :n]).abs().max().item() <= 1e-4
