"""espeak-ng through ctypes: deterministic output, voices, errors."""
import numpy as np
import pytest

from fireredasr.synthetic.espeak import ESPEAK_SAMPLE_RATE, EspeakSynthesizer, VoiceSettings

TEXT = "jin1 tian1 tian1 qi4 hen3 hao3"


@pytest.fixture(scope="module")
def synth():
    s = EspeakSynthesizer()
    yield s
    s.close()


def test_same_text_and_settings_give_identical_samples(synth):
    # f2 adds breath noise from espeak's clock-seeded generator; state is kept between calls.
    for variant in ("f2", "m3", "klatt2"):
        v = VoiceSettings(variant, rate=160, pitch=40, pitch_range=70, volume=90, seed=7)
        a, b = synth.synthesize(TEXT, v), synth.synthesize(TEXT, v)
        assert a.dtype == np.int16 and a.size > ESPEAK_SAMPLE_RATE // 2
        assert np.array_equal(a, b), variant
    other = EspeakSynthesizer()  # another helper process: the same samples
    v = VoiceSettings("f2", seed=7)
    assert np.array_equal(other.synthesize(TEXT, v), synth.synthesize(TEXT, v))
    other.close()


def test_settings_change_the_voice(synth):
    slow = synth.synthesize(TEXT, VoiceSettings("m1", rate=120))
    fast = synth.synthesize(TEXT, VoiceSettings("m1", rate=220))
    assert slow.size > 1.4 * fast.size
    assert not np.array_equal(synth.synthesize(TEXT, VoiceSettings("f1")),
                              synth.synthesize(TEXT, VoiceSettings("m1")))


def test_phoneme_input_is_read_as_phonemes(synth):
    # [[...]] is espeak's phoneme notation; the same phonemes as the pinyin give the same audio.
    assert np.array_equal(synth.synthesize("xiang1", VoiceSettings()),
                          synth.synthesize("[[S;'iA55N]]", VoiceSettings()))
