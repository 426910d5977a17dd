import logging

import numpy as np
import pytest
import soundfile as sf

from fireredasr.data.audio import AudioError, load_audio, read_audio_raw


def _tone(sr: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_wav_is_read_in_int16_scale(real_wavs):
    path = real_wavs["IT0011W0001"]
    samples, sr = load_audio(path)
    ints, sr2 = sf.read(path, dtype="int16")
    assert sr == sr2 == 16000
    np.testing.assert_array_equal(samples, ints.astype(np.float32))


def test_flac_and_pipe_match_wav(tmp_path, real_wavs):
    wav = real_wavs["IT0011W0001"]
    ref, _ = load_audio(wav)
    data, sr = sf.read(wav, dtype="int16")
    flac = tmp_path / "a.flac"
    sf.write(flac, data, sr, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(str(flac))[0], ref)
    np.testing.assert_array_equal(load_audio(f"cat {wav} |")[0], ref)


def test_other_rate_is_resampled_with_a_note(tmp_path, caplog):
    path = tmp_path / "8k.wav"
    sf.write(path, _tone(8000), 8000, subtype="PCM_16")
    with caplog.at_level(logging.INFO):
        samples, sr = load_audio(str(path))
    assert sr == 16000
    assert samples.shape[0] == 8000  # 0.5 s at 16 kHz
    assert "resampling" in caplog.text and "8000" in caplog.text
    # A resampled tone keeps its amplitude (int16 scale).
    assert 0.25 * 32768 < np.abs(samples).max() < 0.35 * 32768


def test_multichannel_is_refused(tmp_path):
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([_tone(16000)] * 2, axis=1), 16000)
    with pytest.raises(AudioError, match=r"stereo\.wav.*2 channels"):
        load_audio(str(path))


def test_empty_audio_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav.*no samples"):
        load_audio(str(path))


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(AudioError, match="nothere.wav"):
        load_audio(str(tmp_path / "nothere.wav"))
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(AudioError, match="corrupt.wav"):
        read_audio_raw(str(bad))


def test_failing_pipe_reports_the_command():
    with pytest.raises(AudioError, match="exit 3"):
        load_audio("sh -c 'exit 3' |")


def test_missing_file_says_not_found(tmp_path):
    from fireredasr.data.audio import AudioMissingError

    with pytest.raises(AudioMissingError, match="audio file not found: .*nope.wav"):
        load_audio(str(tmp_path / "nope.wav"))


def test_wav_cut_short_with_intact_header_is_warned(tmp_path, real_wavs, caplog):
    data = open(real_wavs["IT0011W0001"], "rb").read()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])  # the header still declares the full length
    with caplog.at_level(logging.WARNING):
        samples, _ = load_audio(str(cut))
    assert "truncated" in caplog.text and "cut.wav" in caplog.text
    assert 0 < samples.size < load_audio(real_wavs["IT0011W0001"])[0].size
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_audio(f"cat {cut} |")  # the same check on piped audio
        load_audio(real_wavs["IT0011W0001"])  # an intact file: no warning
    assert caplog.text.count("truncated") == 1
