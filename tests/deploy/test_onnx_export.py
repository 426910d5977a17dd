"""ONNX export: sherpa-onnx decodes it, the toolkit decodes it, it agrees with PyTorch."""
import logging
import shutil

import pytest
import soundfile as sf
import torch

from fireredasr.deploy.onnx_check import RELATIVE_TOLERANCE, check_export
from fireredasr.deploy.onnx_export import SHERPA_METADATA, OnnxExportError, export_onnx
from fireredasr.models.fireredasr import FireRedAsr
from tests.conftest import REAL_UTTS

BEAMS = {"beam1": {"beam_size": 1}, "beam3": {"beam_size": 3, "softmax_smoothing": 1.25,
                                              "aed_length_penalty": 0.6}}


@pytest.fixture(scope="module")
def onnx_dir(ref_aed_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    export_onnx(str(ref_aed_dir), str(out), int8=True)
    return out


@pytest.fixture(scope="module")
def onnx2_dir(ref_aed2_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx2")
    export_onnx(str(ref_aed2_dir), str(out))
    return out


def _texts(api, wavs, args):
    results = api.transcribe(REAL_UTTS, [wavs[u] for u in REAL_UTTS], args)
    return {r["uttid"]: r["text"] for r in results}


def test_export_writes_the_sherpa_layout(onnx_dir, ref_aed_dir):
    import onnx

    names = {p.name for p in onnx_dir.iterdir()}
    assert {"encoder.onnx", "decoder.onnx", "tokens.txt", "encoder.int8.onnx",
            "decoder.int8.onnx"} <= names
    assert (onnx_dir / "tokens.txt").read_text("utf-8") == (ref_aed_dir / "dict.txt").read_text("utf-8")
    for name in ("encoder.onnx", "encoder.int8.onnx"):
        model = onnx.load(str(onnx_dir / name))
        meta = {p.key: p.value for p in model.metadata_props}
        assert set(SHERPA_METADATA) <= set(meta), name
        assert len(meta["cmvn_mean"].split(",")) == 80
        assert [i.name for i in model.graph.input] == ["features", "features_length"]
        # Batch and time are symbolic, not fixed at the traced sizes.
        dims = model.graph.input[0].type.tensor_type.shape.dim
        assert dims[0].dim_param and dims[1].dim_param and dims[2].dim_value == 80
    dec = onnx.load(str(onnx_dir / "decoder.onnx"))
    initializers = {i.name for i in dec.graph.initializer}
    # sherpa-onnx sees six inputs; cross_bias is an overridable initializer (default 0).
    assert [i.name for i in dec.graph.input if i.name not in initializers] == [
        "tokens", "n_layer_self_k_cache", "n_layer_self_v_cache", "n_layer_cross_k",
        "n_layer_cross_v", "offset"]
    assert "cross_bias" in initializers and "cross_bias" in [i.name for i in dec.graph.input]
    assert len(dec.graph.output) == 3


def test_graphs_agree_with_pytorch(onnx_dir, ref_aed_dir):
    report = check_export(str(ref_aed_dir), str(onnx_dir))
    assert all(0.0 <= e <= RELATIVE_TOLERANCE for e in report.errors.values())
    assert any(k.startswith("logits@137") for k in report.errors)


def test_check_catches_an_export_of_other_weights(onnx_dir, ref_aed_dir, tmp_path):
    """The check fails when the graphs do not hold the folder's weights."""
    other = tmp_path / "other"
    shutil.copytree(ref_aed_dir, other)
    package = torch.load(other / "model.pth.tar", weights_only=False)
    w = package["model_state_dict"]["decoder.layer_stack.0.mlp.w_1.weight"]
    w.add_(0.05 * torch.randn_like(w))
    torch.save(package, other / "model.pth.tar")
    with pytest.raises(OnnxExportError, match="disagrees"):
        check_export(str(other), str(onnx_dir))


def test_sherpa_onnx_decodes_the_export_like_the_toolkit(onnx_dir, ref_aed_api, real_wavs):
    sherpa_onnx = pytest.importorskip("sherpa_onnx")
    want = _texts(ref_aed_api, real_wavs, BEAMS["beam1"])  # sherpa-onnx decodes greedily
    for suffix in ("", ".int8"):
        rec = sherpa_onnx.OfflineRecognizer.from_fire_red_asr(
            encoder=str(onnx_dir / f"encoder{suffix}.onnx"),
            decoder=str(onnx_dir / f"decoder{suffix}.onnx"), tokens=str(onnx_dir / "tokens.txt"))
        got = {}
        for u in REAL_UTTS:
            samples, sr = sf.read(real_wavs[u], dtype="float32")
            stream = rec.create_stream()
            stream.accept_waveform(sr, samples)
            rec.decode_stream(stream)
            got[u] = stream.result.text.replace("\u2581", " ").strip()
        if suffix == "":
            assert got == want
        else:  # int8 may differ; it must still decode to text
            assert all(got.values())


@pytest.mark.parametrize("beam", ["beam1", "beam3"])
def test_toolkit_onnx_fp32_gives_the_pytorch_hypotheses(onnx_dir, onnx2_dir, ref_aed_api,
                                                        ref_aed2_api, real_wavs, beam):
    for api, folder in ((ref_aed_api, onnx_dir), (ref_aed2_api, onnx2_dir)):
        onnx_api = FireRedAsr.from_pretrained("aed_onnx", str(folder))
        assert onnx_api.is_v2 == api.is_v2
        want = api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], BEAMS[beam])
        got = onnx_api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], BEAMS[beam])
        assert [r["text"] for r in got] == [r["text"] for r in want]
        assert [r["confidence"] for r in got] == pytest.approx(
            [r["confidence"] for r in want], abs=2e-3)


def test_toolkit_onnx_int8_decodes(onnx_dir, real_wavs):
    api = FireRedAsr.from_pretrained("aed_onnx_int8", str(onnx_dir))
    texts = _texts(api, real_wavs, BEAMS["beam3"])
    assert set(texts) == set(REAL_UTTS) and all(texts.values())


def test_onnx_refuses_what_the_export_lacks(onnx2_dir, real_wavs):
    api = FireRedAsr.from_pretrained("aed_onnx", str(onnx2_dir))
    with pytest.raises(ValueError, match="CTC head"):
        api.check_options({"decode_mode": "ctc_greedy"})
    with pytest.raises(ValueError, match="CTC head"):
        api.check_options({"return_timestamp": True})
    with pytest.raises(FileNotFoundError, match="encoder.int8.onnx"):
        FireRedAsr.from_pretrained("aed_onnx_int8", str(onnx2_dir))


def test_export_refuses_folders_it_cannot_handle(ref_llm_dir, ref_aed_dir, tmp_path, caplog):
    from fireredasr.bin.export_onnx import main

    with pytest.raises(OnnxExportError, match="missing dict.txt"):
        export_onnx(str(ref_llm_dir), str(tmp_path / "a"))
    broken = tmp_path / "broken"
    shutil.copytree(ref_aed_dir, broken)
    (broken / "model.pth.tar").write_bytes(b"not a checkpoint")
    with pytest.raises(OnnxExportError, match="cannot export"):
        export_onnx(str(broken), str(tmp_path / "b"))
    with caplog.at_level(logging.ERROR):
        assert main(["--model_dir", str(tmp_path / "nowhere"), "--out_dir",
                     str(tmp_path / "c")]) == 1
    assert "missing model.pth.tar" in caplog.text


def test_onnx_export_keeps_the_v2_length_rule(onnx2_dir, ref_aed2_api):
    from fireredasr.deploy.onnx_model import OnnxAed

    onnx = OnnxAed(str(onnx2_dir))
    lengths = torch.tensor([417, 200, 33])
    _, enc_lengths, _ = ref_aed2_api.model.encoder(torch.zeros(3, 417, 80), lengths)
    k, _, valid = onnx.encode(torch.zeros(3, 417, 80), lengths)
    assert valid.tolist() == enc_lengths.tolist()
    assert k.shape[2] == int(valid.max())


def test_large_models_keep_their_weights_in_one_file_beside_the_graph(
        ref_aed_dir, ref_aed_api, real_wavs, tmp_path, monkeypatch):
    """Graphs over 2 GiB (AED-L's encoder is 3.1 GB) cannot be one protobuf: their weights go
    to <graph>.data. Shown on the small model with the threshold lowered."""
    from fireredasr.deploy import onnx_export

    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 1000)
    out = tmp_path / "onnx"
    export_onnx(str(ref_aed_dir), str(out), int8=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "decoder.int8.onnx", "decoder.int8.onnx.data", "decoder.onnx", "decoder.onnx.data",
        "encoder.int8.onnx", "encoder.int8.onnx.data", "encoder.onnx", "encoder.onnx.data",
        "tokens.txt"]
    assert (out / "encoder.onnx").stat().st_size < 2_000_000 < (out / "encoder.onnx.data").stat().st_size
    want = _texts(ref_aed_api, real_wavs, BEAMS["beam1"])
    assert _texts(FireRedAsr.from_pretrained("aed_onnx", str(out)), real_wavs, BEAMS["beam1"]) == want
    export_onnx(str(ref_aed_dir), str(out))  # again into the same folder: no stale weights
    assert _texts(FireRedAsr.from_pretrained("aed_onnx", str(out)), real_wavs, BEAMS["beam1"]) == want


def test_transcribe_and_decode_clis_take_the_onnx_types(onnx_dir, ref_aed_api, real_wavs, tmp_path):
    """fireredasr-transcribe and fireredasr-decode run an export like a PyTorch folder."""
    from fireredasr.bin.decode import main as decode_main
    from fireredasr.bin.transcribe import main as transcribe_main

    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"{u} {real_wavs[u]}\n" for u in REAL_UTTS))
    out = tmp_path / "hyp.txt"
    assert transcribe_main(["--asr_type", "aed_onnx", "--model_dir", str(onnx_dir), "--wav_scp",
                            str(scp), "--output", str(out), "--use_gpu", "0"]) == 0
    got = dict(line.split("\t", 1) for line in out.read_text("utf-8").splitlines())
    assert got == _texts(ref_aed_api, real_wavs, BEAMS["beam1"])
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text(scp.read_text())
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in REAL_UTTS))
    (data / "text").write_text("".join(f"{u} {t}\n" for u, t in got.items()), encoding="utf-8")
    assert decode_main(["--asr_type", "aed_onnx_int8", "--model_dir", str(onnx_dir),
                        "--data_dir", str(data), "--out_dir", str(tmp_path / "dec")]) == 0
    assert len((tmp_path / "dec" / "hyp").read_text("utf-8").splitlines()) == 4
