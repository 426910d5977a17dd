"""FireRedASR2-AED folders: strict loading, v2 encoder lengths, and the released v2 outputs
(text, confidence, timestamps, LSTM-LM fusion) through the API, batched and one at a time."""
import math

import pytest
import torch

from tests.conftest import REAL_UTTS


def _args(expected_hyps2, setting, ref_aed2_dir):
    args = dict(expected_hyps2[setting]["config"])
    if args.get("elm_dir"):
        args["elm_dir"] = args["elm_dir"].replace("<model_dir>", str(ref_aed2_dir))
    return args


def _same_result(got, want, setting, uttid):
    where = (setting, uttid)
    assert got["text"] == want["text"], where
    assert got["confidence"] == want["confidence"], where
    assert got["dur_s"] == want["dur_s"], where
    assert ("timestamp" in got) == ("timestamp" in want), where
    for (tok, s, e), (wtok, ws, we) in zip(got.get("timestamp", []), want.get("timestamp", [])):
        assert tok == wtok and math.isclose(s, ws, abs_tol=1e-9) and \
            math.isclose(e, we, abs_tol=1e-9), (where, (tok, s, e), (wtok, ws, we))
    assert len(got.get("timestamp", [])) == len(want.get("timestamp", [])), where


def test_v2_folder_loads_strictly_with_its_ctc_head(ref_aed2_api):
    model = ref_aed2_api.model
    assert ref_aed2_api.is_v2 and model.ctc is not None and model.encoder.ceil_lengths
    assert len(model.state_dict()) == 130


def test_v2_encoder_lengths_and_outputs(ref_aed2_api, ref_aed2_dir, real_wavs):
    from fireredasr.data.frontend import pad_features

    expected = torch.load(ref_aed2_dir / "expected_tensors.pt", weights_only=True)
    feats = [ref_aed2_api.feat_extractor.load(real_wavs[u])[0] for u in REAL_UTTS]
    padded, lengths = pad_features(feats)
    assert lengths.tolist() == expected["feat_lengths"].tolist()
    with torch.no_grad():
        enc, enc_lengths, _ = ref_aed2_api.model.encoder(padded, lengths)
        log_probs = ref_aed2_api.model.ctc.log_probs(enc)
    assert enc_lengths.tolist() == [105, 50, 45, 309] == expected["enc_lengths"].tolist()
    for i, n in enumerate(enc_lengths.tolist()):
        torch.testing.assert_close(enc[i, :n], expected["encoder_out"][i], atol=2e-4, rtol=1e-4)
        torch.testing.assert_close(log_probs[i, :n], expected["ctc_log_probs"][i],
                                   atol=5e-4, rtol=1e-4)


@pytest.mark.parametrize("setting", ["beam1", "beam3", "beam3_timestamp", "beam3_elm0.3"])
def test_v2_api_matches_the_released_outputs(setting, ref_aed2_api, ref_aed2_dir,
                                             expected_hyps2, real_wavs):
    args = _args(expected_hyps2, setting, ref_aed2_dir)
    want = expected_hyps2[setting]
    results = ref_aed2_api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], args)
    assert [r["uttid"] for r in results] == REAL_UTTS
    for r in results:
        _same_result(r, want["batch"][r["uttid"]], setting, r["uttid"])
    for u in REAL_UTTS:
        (r,) = ref_aed2_api.transcribe([u], [real_wavs[u]], args)
        _same_result(r, want["single"][u], setting, u)


def test_v2_raw_confidence_and_ctc_times(ref_aed2_api, ref_aed2_dir, expected_hyps2, real_wavs):
    """The unrounded confidence and the CTC times before the released post-processing."""
    from fireredasr.data.frontend import pad_features

    raw = expected_hyps2["beam3_timestamp"]["raw"]["batch"]
    feats = [ref_aed2_api.feat_extractor.load(real_wavs[u])[0] for u in REAL_UTTS]
    padded, lengths = pad_features(feats)
    hyps = ref_aed2_api.model.transcribe(padded, lengths, beam_size=3, softmax_smoothing=1.25,
                                         length_penalty=0.6, return_timestamp=True)
    for u, (h,) in zip(REAL_UTTS, hyps):
        assert h.yseq.tolist() == raw[u]["yseq"]
        assert abs(h.confidence - raw[u]["confidence"]) < 1e-6
        starts, ends = h.ctc_times
        want_starts, want_ends = raw[u]["ctc_timestamp"]
        assert [round(s, 6) for s in starts] == [round(s, 6) for s in want_starts]
        assert ends == pytest.approx(want_ends, abs=1e-9)


@pytest.mark.parametrize("setting", ["beam1", "beam3", "beam3_timestamp", "beam3_elm0.3"])
def test_v2_cli_json_output_batch_and_single(setting, ref_aed2_dir, expected_hyps2, tmp_path):
    import json

    from fireredasr.bin.transcribe import main
    from tests.conftest import REAL_EXAMPLES

    cfg = _args(expected_hyps2, setting, ref_aed2_dir)
    flags = ["--use_gpu", "0", "--beam_size", str(cfg["beam_size"]),
             "--softmax_smoothing", str(cfg["softmax_smoothing"]),
             "--aed_length_penalty", str(cfg["aed_length_penalty"]),
             "--return_timestamp", str(int(cfg["return_timestamp"]))]
    if cfg["elm_dir"]:
        flags += ["--elm_dir", cfg["elm_dir"], "--elm_weight", str(cfg["elm_weight"])]
    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"{u} {REAL_EXAMPLES / (u + '.wav')}\n" for u in REAL_UTTS))
    for mode, batch_size in (("batch", "4"), ("single", "1")):
        out = tmp_path / f"{mode}.jsonl"
        rc = main(["--asr_type", "aed", "--model_dir", str(ref_aed2_dir), "--wav_scp", str(scp),
                   "--output", str(out), "--output_format", "json", "--batch_size", batch_size,
                   *flags])
        assert rc == 0
        lines = out.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 4
        for line in lines:
            r = json.loads(line)
            _same_result(r, expected_hyps2[setting][mode][r["uttid"]], setting, r["uttid"])


def test_v2_decode_stage_writes_confidence_and_ctm(ref_aed2_dir, expected_hyps2, tmp_path):
    from fireredasr.bin.decode import main as decode_main
    from tests.fake_corpora import real_examples_dir

    data = real_examples_dir(tmp_path / "test")
    out = tmp_path / "decode"
    assert decode_main(["--model_dir", str(ref_aed2_dir), "--data_dir", data, "--out_dir",
                        str(out), "--return_timestamp", "1", "--batch_size", "4"]) == 0
    want = expected_hyps2["beam3_timestamp"]["batch"]
    conf = dict(line.split() for line in (out / "confidence").read_text().splitlines())
    assert {u: float(c) for u, c in conf.items()} == {u: r["confidence"] for u, r in want.items()}
    ctm = [line.split() for line in (out / "timestamp").read_text(encoding="utf-8").splitlines()]
    for u, r in want.items():
        rows = [row for row in ctm if row[0] == u]
        assert [row[4] for row in rows] == [t for t, _, _ in r["timestamp"]]
        for row, (_, start, end) in zip(rows, r["timestamp"]):
            assert float(row[2]) == pytest.approx(start, abs=1e-6)
            assert float(row[2]) + float(row[3]) == pytest.approx(end, abs=2e-3)


def test_v2_options_are_refused_on_a_v1_folder(ref_aed_dir, ref_aed2_dir, tmp_path, caplog):
    from fireredasr.bin.transcribe import main
    from tests.conftest import REAL_EXAMPLES

    wav = str(REAL_EXAMPLES / f"{REAL_UTTS[1]}.wav")
    assert main(["--asr_type", "aed", "--model_dir", str(ref_aed_dir), "--wav_path", wav,
                 "--use_gpu", "0", "--return_timestamp", "1"]) == 2
    assert "return_timestamp needs a model with a CTC head" in caplog.text
    broken = tmp_path / "elm"
    broken.mkdir()
    (broken / "model.pth.tar").write_bytes(b"not a checkpoint")
    assert main(["--asr_type", "aed", "--model_dir", str(ref_aed2_dir), "--wav_path", wav,
                 "--use_gpu", "0", "--elm_dir", str(broken), "--elm_weight", "0.3"]) == 2
    assert "cannot read model package" in caplog.text


def test_lm_fusion_state_is_carried_not_recomputed():
    """The cached fusion gives, step by step, the LM scores of re-running it over the prefix."""
    import argparse

    from fireredasr.models.lstm_lm import LstmLm

    torch.manual_seed(0)
    lm = LstmLm.from_args(argparse.Namespace(idim=11, embedding_dim=8, hidden_size=8,
                                             num_layers=2, dropout=0.0, odim=11,
                                             tie_weights=True)).eval()
    seq = torch.tensor([[3, 5, 7, 9, 6]])
    full, _ = lm(seq)
    state = lm.zero_state(1, torch.device("cpu"))
    for t in range(seq.size(1)):
        step_lp, state = lm.step(seq[:, t], state)
        torch.testing.assert_close(step_lp, full[:, t].log_softmax(-1))


@pytest.mark.parametrize("mode", ["joint_ctc_attention", "ctc_greedy", "ctc_prefix_beam",
                                  "attention_rescoring"])
def test_ctc_modes_on_the_fitted_reference_give_the_transcripts(mode, ref_aed2_api,
                                                                expected_hyps2, real_wavs):
    """The reference model's CTC head was fitted to a loss of 0.047, so every CTC mode must
    read the four transcripts (the 1-best of beam 1)."""
    results = ref_aed2_api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS],
                                      {"decode_mode": mode, "beam_size": 3,
                                       "return_timestamp": True})
    want = expected_hyps2["beam1"]["batch"]
    assert {r["uttid"]: r["text"] for r in results} == {u: w["text"] for u, w in want.items()}
    for r in results:
        assert 0.0 < r["confidence"] <= 1.0
        assert len(r["timestamp"]) == len(r["text"])


def test_toolkit_export_of_a_v2_model_keeps_the_released_layout(ref_aed2_dir, expected_hyps2,
                                                                 real_wavs, tmp_path):
    """Exporting the reference v2 model through the training export path gives a folder with
    the released keys, shapes and args, which decodes to the released outputs."""
    from fireredasr.models.checkpoint import load_package
    from fireredasr.models.fireredasr import FireRedAsr
    from fireredasr.train.aed_task import export_model_folder

    ref = load_package(str(ref_aed2_dir / "model.pth.tar"))
    export_model_folder(str(tmp_path / "v2"), ref["args"], ref["model_state_dict"],
                        str(ref_aed2_dir), str(ref_aed2_dir / "cmvn.ark"))
    out = load_package(str(tmp_path / "v2" / "model.pth.tar"))
    shapes = [line.split("\t") for line in
              (ref_aed2_dir / "param_shapes.tsv").read_text().splitlines() if line.strip()]
    want = {row[0]: row[1] for row in shapes if not row[0].startswith("#")}
    got = {k: "x".join(map(str, v.shape)) for k, v in out["model_state_dict"].items()}
    assert set(got) == set(want) and len(got) == 130
    assert vars(out["args"]) == {k: getattr(ref["args"], k) for k in vars(out["args"])}
    api = FireRedAsr.from_pretrained("aed", str(tmp_path / "v2"))
    args = _args(expected_hyps2, "beam3_timestamp", ref_aed2_dir)
    for r in api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], args):
        _same_result(r, expected_hyps2["beam3_timestamp"]["batch"][r["uttid"]], "export", r["uttid"])
