import kaldi_native_fbank as knf
import kaldiio
import numpy as np
import pytest
import torch

from fireredasr.data.audio import load_audio
from fireredasr.data.cmvn import CMVNError, GlobalCMVN, accumulate_cmvn_stats, write_cmvn
from fireredasr.data.fbank import FbankConfig, compute_fbank
from fireredasr.data.frontend import Frontend, pad_features


def knf_per_frame(samples: np.ndarray) -> np.ndarray:
    """The released extractor: OnlineFbank fed a list, read back frame by frame."""
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = 80
    opts.frame_opts.snip_edges = True
    opts.mel_opts.debug_mel = False
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, samples.tolist())
    return np.vstack([fb.get_frame(i) for i in range(fb.num_frames_ready)])


def test_fbank_equals_knf_per_frame(real_wavs):
    for path in real_wavs.values():
        samples, _ = load_audio(path)
        ours = compute_fbank(samples)
        ref = knf_per_frame(samples)
        assert ours.shape == ref.shape and ours.shape[1] == 80
        np.testing.assert_array_equal(ours, ref)
        assert ours.shape[0] == FbankConfig().num_frames(samples.shape[0])


def test_short_audio_gives_zero_frames():
    assert compute_fbank(np.zeros(399, dtype=np.float32)).shape == (0, 80)
    assert compute_fbank(np.zeros(400, dtype=np.float32)).shape == (1, 80)


def test_dither_is_seeded():
    x = np.zeros(16000, dtype=np.float32)
    a = compute_fbank(x, dither=1.0, rng=np.random.default_rng(0))
    b = compute_fbank(x, dither=1.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, compute_fbank(x))


def test_cmvn_formula(tmp_path):
    rng = np.random.default_rng(0)
    feats = [rng.normal(3.0, 2.0, size=(50, 80)).astype(np.float32) for _ in range(3)]
    stats = accumulate_cmvn_stats(feats, 80)
    path = str(tmp_path / "cmvn.ark")
    write_cmvn(path, stats)
    cmvn = GlobalCMVN.from_file(path)
    allf = np.concatenate(feats).astype(np.float64)
    mean = allf.sum(0) / allf.shape[0]
    var = (allf ** 2).sum(0) / allf.shape[0] - mean ** 2
    np.testing.assert_allclose(cmvn(feats[0]), (feats[0] - mean) / np.sqrt(var), rtol=1e-10)
    np.testing.assert_allclose(kaldiio.load_mat(path), stats)


def test_cmvn_variance_floor_and_errors(tmp_path):
    stats = np.zeros((2, 3))
    stats[0, 2] = 10  # count, zero variance everywhere
    cmvn = GlobalCMVN(stats)
    assert np.all(cmvn.inv_std == 1.0 / np.sqrt(1e-20))
    with pytest.raises(CMVNError, match="not found"):
        GlobalCMVN.from_file(str(tmp_path / "missing.ark"))
    with pytest.raises(CMVNError, match="frame count"):
        GlobalCMVN(np.zeros((2, 3)))
    with pytest.raises(CMVNError, match="dim"):
        cmvn(np.zeros((4, 5), dtype=np.float32))


def test_frontend_matches_reference_features(ref_aed_dir, expected_encoder, real_wavs):
    fe = Frontend.from_cmvn_file(str(ref_aed_dir / "cmvn.ark"))
    feats = [fe.load(real_wavs[u])[0] for u in expected_encoder["uttids"]]
    padded, lengths = pad_features(feats)
    assert torch.equal(lengths, expected_encoder["lengths"])
    torch.testing.assert_close(padded, expected_encoder["feats"], rtol=0, atol=1e-5)


def test_written_cmvn_is_byte_identical_to_the_released_format(ref_aed_dir, tmp_path):
    released = ref_aed_dir / "cmvn.ark"
    write_cmvn(str(tmp_path / "cmvn.ark"), kaldiio.load_mat(str(released)))
    assert (tmp_path / "cmvn.ark").read_bytes() == released.read_bytes()
