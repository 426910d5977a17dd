import logging

import pytest
from omegaconf import OmegaConf

from fireredasr.train.precision import auto_precision, cpu_flags, resolve_precision
from fireredasr.train.trainer import deepspeed_config


def test_auto_takes_bf16_only_where_the_cpu_multiplies_it_fast():
    amx = frozenset({"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    assert auto_precision("cpu", amx)[0] == "bf16"
    precision, why = auto_precision("cpu", frozenset({"avx512f", "avx512_bf16"}))
    assert precision == "fp32" and "no AMX" in why
    assert auto_precision("cpu", frozenset({"avx2"}))[0] == "fp32"
    assert auto_precision("cpu", frozenset())[0] == "fp32"
    assert auto_precision("mps", frozenset({"amx_bf16"}))[0] == "fp32"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx512_bf16 amx_bf16\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(str(info)) == {"fpu", "avx512_bf16", "amx_bf16"}
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_resolve_passes_explicit_values_and_names_the_choices_of_a_typo(caplog):
    assert resolve_precision("bf16", "cpu") == "bf16"
    with caplog.at_level(logging.INFO):
        chosen = resolve_precision("auto", "cpu")
    assert chosen == auto_precision("cpu")[0]
    assert f"trainer.precision=auto: {chosen}" in caplog.text
    with pytest.raises(ValueError, match="must be one of auto, fp32, bf16, fp16, got 'bf61'"):
        resolve_precision("bf61", "cpu")


def test_deepspeed_config_takes_the_resolved_precision():
    trainer = OmegaConf.create({"precision": "auto", "grad_accum": 1, "grad_clip": 5.0})
    cfg = deepspeed_config(OmegaConf.create({"zero_optimization": {"stage": 0}}), trainer)
    assert cfg["bf16"]["enabled"] == (auto_precision("cpu")[0] == "bf16")
    assert not cfg["fp16"]["enabled"]
