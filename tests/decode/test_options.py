"""Typed decoding options: released-key conversion, validation, flags."""
import argparse
import dataclasses

import pytest

from fireredasr.decode.options import (HELP, OPTIONS_BY_FAMILY, RUNTIME_FIELDS, AedDecodeOptions,
                                       LlmDecodeOptions, add_decoding_arguments, decode_options,
                                       options_from_flags)


def test_released_keys_map_onto_fields():
    opts = AedDecodeOptions.from_dict({"beam_size": 4, "aed_length_penalty": 0.6,
                                       "ctc_weight": 0.3, "return_timestamp": 1,
                                       "repetition_penalty": 3.0})  # an LLM key: ignored
    assert (opts.beam_size, opts.length_penalty, opts.rescoring_ctc_weight) == (4, 0.6, 0.3)
    assert opts.return_timestamp is True
    llm = LlmDecodeOptions.from_dict({"llm_length_penalty": 1.0, "aed_length_penalty": 0.6})
    assert llm.length_penalty == 1.0


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match="beam_szie"):
        AedDecodeOptions.from_dict({"beam_szie": 3})
    with pytest.raises(ValueError, match="softmax_smoothing"):
        AedDecodeOptions.from_dict({"softmax_smoothing": "high"})


def test_released_fp16_switch_is_accepted():
    assert AedDecodeOptions.from_dict({"use_half": 1}) == AedDecodeOptions()


@pytest.mark.parametrize("cls", [AedDecodeOptions, LlmDecodeOptions])
def test_dict_round_trip(cls):
    opts = cls.paper()
    assert cls.from_dict(opts.to_dict()) == opts
    assert opts != cls()  # the paper's settings are not the plain defaults


def test_paper_settings():
    # The settings of the FireRedASR paper's tables (its README's decoding commands).
    aed, llm = AedDecodeOptions.paper(), LlmDecodeOptions.paper()
    assert (aed.beam_size, aed.softmax_smoothing, aed.length_penalty) == (3, 1.25, 0.6)
    assert (llm.beam_size, llm.repetition_penalty, llm.length_penalty) == (3, 3.0, 1.0)


@pytest.mark.parametrize("bad, match", [({"beam_size": 0}, "beam_size"),
                                        ({"beam_size": 2, "nbest": 3}, "nbest"),
                                        ({"elm_weight": 0.3}, "elm_dir"),
                                        ({"decode_mode": "ctc"}, "decode_mode"),
                                        ({"decode_mode": "attention_rescoring",
                                          "elm_dir": "lm", "elm_weight": 0.3},
                                         "fuses with the attention searches"),
                                        ({"eos_penalty": 0}, "eos_penalty")])
def test_aed_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        AedDecodeOptions.from_dict(bad)


@pytest.mark.parametrize("bad", [{"temperature": 0}, {"repetition_penalty": -1},
                                 {"beam_size": 0}])
def test_llm_validation(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        LlmDecodeOptions.from_dict(bad)


def test_options_object_of_the_wrong_family():
    assert decode_options("aed", AedDecodeOptions(beam_size=2)).beam_size == 2
    with pytest.raises(ValueError, match="LlmDecodeOptions"):
        decode_options("llm", AedDecodeOptions())


def test_every_field_has_a_flag_and_help():
    p = argparse.ArgumentParser()
    add_decoding_arguments(p, paper_defaults=False)
    flags = {a.dest for a in p._actions}
    for cls in OPTIONS_BY_FAMILY.values():
        for name, key in cls.released_keys().items():
            if name in RUNTIME_FIELDS:
                continue
            assert key in flags and key in HELP, key


def test_flags_override_the_paper_settings():
    p = argparse.ArgumentParser()
    add_decoding_arguments(p, paper_defaults=True)
    ns = p.parse_args(["--beam_size", "5", "--return_timestamp", "1",
                       "--repetition_penalty", "2"])
    opts, other = options_from_flags("aed", ns, AedDecodeOptions.paper(), bf16=True)
    assert opts == dataclasses.replace(AedDecodeOptions.paper(), beam_size=5,
                                       return_timestamp=True, bf16=True)
    assert other == {"repetition_penalty": 2.0}
    llm, other = options_from_flags("llm", ns, LlmDecodeOptions.paper())
    assert (llm.beam_size, llm.repetition_penalty, llm.temperature) == (5, 2.0, 1.0)
    assert other == {"return_timestamp": 1}
