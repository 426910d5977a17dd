import logging

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REAL_UTTS


def _settings(expected_hyps):
    return [(name, expected_hyps[name]["args"]) for name in ("beam1", "beam3")]


def test_api_matches_reference_as_one_batch(ref_aed_api, expected_hyps, real_wavs):
    for name, args in _settings(expected_hyps):
        results = ref_aed_api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], args)
        assert {r["uttid"]: r["text"] for r in results} == expected_hyps[name]["batch"]
        assert set(results[0]) == {"uttid", "text", "confidence", "dur_s", "wav", "rtf"}
        assert all(0.0 < r["confidence"] <= 1.0 for r in results)
        assert float(results[0]["rtf"]) > 0


def test_api_matches_reference_one_at_a_time(ref_aed_api, expected_hyps, real_wavs):
    for name, args in _settings(expected_hyps):
        for u in REAL_UTTS:
            (r,) = ref_aed_api.transcribe([u], [real_wavs[u]], args)
            assert r["text"] == expected_hyps[name]["single"][u], (name, u)


def test_bf16_autocast_gives_the_fp32_hypotheses(ref_aed_api, expected_hyps, real_wavs):
    """bf16 autocast decoding against the released fp32 outputs (RESULTS.md reports how many
    hypotheses bf16 changes on a realistic model; on the reference model it changes none)."""
    args = dict(expected_hyps["beam3"]["args"], bf16=True)
    results = ref_aed_api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], args)
    assert {r["uttid"]: r["text"] for r in results} == expected_hyps["beam3"]["batch"]
    # ... and bf16 did run: the same hypotheses score slightly differently.
    u = REAL_UTTS[1]
    scores = [ref_aed_api.transcribe([u], [real_wavs[u]], dict(args, nbest=2, bf16=b))[0]
              ["nbest"][0]["score"] for b in (False, True)]
    assert scores[0] != scores[1] and abs(scores[0] - scores[1]) < 0.05 * abs(scores[0]), scores


def test_nbest_results(ref_aed_api, real_wavs):
    u = REAL_UTTS[1]
    (r,) = ref_aed_api.transcribe([u], [real_wavs[u]], {"beam_size": 3, "nbest": 3})
    assert len(r["nbest"]) == 3 and r["nbest"][0]["text"] == r["text"]
    scores = [h["score"] for h in r["nbest"]]
    assert scores == sorted(scores, reverse=True)


def test_unreadable_file_is_skipped_and_reported(ref_aed_api, expected_hyps, real_wavs,
                                                 tmp_path, caplog):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"definitely not audio")
    uttids = [REAL_UTTS[0], "broken", REAL_UTTS[1]]
    paths = [real_wavs[REAL_UTTS[0]], str(bad), real_wavs[REAL_UTTS[1]]]
    with caplog.at_level(logging.ERROR):
        results = ref_aed_api.transcribe(uttids, paths, expected_hyps["beam1"]["args"])
    assert [r["uttid"] for r in results] == [REAL_UTTS[0], REAL_UTTS[1]]
    assert results[0]["text"] == expected_hyps["beam1"]["batch"][REAL_UTTS[0]]
    assert "skipping broken" in caplog.text and "broken.wav" in caplog.text


def test_long_input_warns_and_too_long_input_is_refused(ref_aed_api, tmp_path, caplog):
    rng = np.random.default_rng(0)
    long_wav = tmp_path / "long.wav"
    sf.write(long_wav, (rng.standard_normal(16000 * 61) * 0.01).astype(np.float32), 16000)
    with caplog.at_level(logging.WARNING):
        results = ref_aed_api.transcribe(["long"], [str(long_wav)], {"decode_max_len": 1})
    assert len(results) == 1 and "may hallucinate" in caplog.text

    caplog.clear()
    too_long = tmp_path / "too_long.wav"
    sf.write(too_long, np.zeros(16000 * 201, dtype=np.int16), 16000)
    with caplog.at_level(logging.ERROR):
        assert ref_aed_api.transcribe(["too_long"], [str(too_long)], {}) == []
    assert "exceeds the model's limit" in caplog.text


def test_llm_and_unknown_types_are_clear_errors(ref_aed_dir, tmp_path):
    from fireredasr.models.fireredasr import FireRedAsr

    with pytest.raises(ValueError, match="asr_type"):
        FireRedAsr.from_pretrained("ctc", str(ref_aed_dir))
    with pytest.raises(FileNotFoundError, match="lacks"):
        FireRedAsr.from_pretrained("aed", str(tmp_path))
