import argparse

import pytest
import torch

from fireredasr.models.checkpoint import (CheckpointError, load_aed_model, load_package,
                                          save_aed_model)
from tests.models.helpers import tiny_aed


def test_released_layout_loads_strictly_with_identical_keys(ref_aed_dir):
    model, args = load_aed_model(str(ref_aed_dir / "model.pth.tar"))
    expected = [line.split("\t") for line in
                (ref_aed_dir / "param_shapes.tsv").read_text().splitlines() if line]
    state = model.state_dict()
    assert [k for k, _ in expected] == list(state.keys())
    for key, shape in expected:
        assert "x".join(map(str, state[key].shape)) == shape, key
    assert args.d_model == 256


def test_save_reload_gives_identical_outputs(tmp_path):
    model = tiny_aed()
    path = str(tmp_path / "model.pth.tar")
    save_aed_model(path, model)
    package = torch.load(path, weights_only=True)
    assert set(package) == {"args", "model_state_dict"}
    reloaded, args = load_aed_model(path)
    reloaded.eval()
    assert isinstance(args, argparse.Namespace) and args.d_model == 64
    feats = torch.randn(2, 60, 80)
    lengths = torch.tensor([60, 41])
    ys = torch.tensor([[3, 5, 6, 7], [3, 8, 2, 2]])
    with torch.no_grad():
        a, _ = model(feats, lengths, ys)
        b, _ = reloaded(feats, lengths, ys)
    assert torch.equal(a, b)
    ha = model.transcribe(feats, lengths, beam_size=2, nbest=2, decode_max_len=5)
    hb = reloaded.transcribe(feats, lengths, beam_size=2, nbest=2, decode_max_len=5)
    assert [[h.yseq.tolist() for h in n] for n in ha] == [[h.yseq.tolist() for h in n] for n in hb]


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth.tar"
    torch.save({"args": argparse.Namespace(x=Evil()), "model_state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_package(str(path))


def test_missing_and_malformed_packages(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_package(str(tmp_path / "none.pth.tar"))
    bad = tmp_path / "bad.pth.tar"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_package(str(bad))
    torch.save({"weights": {}}, tmp_path / "other.pth.tar")
    with pytest.raises(CheckpointError, match="not a FireRedASR model package"):
        load_package(str(tmp_path / "other.pth.tar"))


def test_shape_mismatch_is_reported(tmp_path):
    model = tiny_aed()
    path = str(tmp_path / "model.pth.tar")
    save_aed_model(path, model)
    package = torch.load(path, weights_only=True)
    package["args"].d_model = 32
    torch.save(package, path)
    with pytest.raises(CheckpointError, match="does not match"):
        load_aed_model(path)
