"""Every choice of every config group composes (Hydra) into a config the trainer accepts, for
the three training configs (AED, LLM, LSTM LM)."""
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from fireredasr.models.fireredasr_aed import AED_ARG_FIELDS
from fireredasr.models.lstm_lm import ELM_ARG_FIELDS
from fireredasr.train.schedulers import build_lr_lambda
from fireredasr.train.trainer import deepspeed_config
from tests.conftest import REPO

CONF = REPO / "conf"
GROUPS = ("model", "optim", "scheduler", "data", "deepspeed", "trainer")


def choices(group: str):
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def model_family(choice: str) -> str:
    """The training config a model choice belongs to: aed_* -> AED, llm -> LLM, lstm_lm -> LM."""
    return {"llm": "train_llm", "lstm_lm": "train_lm"}.get(choice, "train_aed")


def cases():
    for config in ("train_aed", "train_llm", "train_lm"):
        for group in GROUPS:
            for choice in choices(group):
                if group == "model" and model_family(choice) != config:
                    continue
                yield config, f"{group}={choice}"


def compose_resolved(config: str, override: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config, overrides=[override], return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)   # for ${hydra:runtime.choices.model}
        with open_dict(cfg):
            del cfg["hydra"]                         # run-time only (the sweep's job number)
        return OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))


def test_every_group_has_choices():
    for group in GROUPS:
        assert choices(group), group


@pytest.mark.parametrize("config,override", list(cases()))
def test_choice_composes_into_a_valid_config(config, override):
    cfg = compose_resolved(config, override)
    group, choice = override.split("=")
    if group == "model" and config == "train_aed":
        arch = set(AED_ARG_FIELDS) - {"odim", "sos_id", "eos_id", "pad_id"}
        assert arch <= set(cfg.model), arch - set(cfg.model)
        assert cfg.exp_name == f"aed_{choice}"
    if config == "train_lm":
        arch = set(ELM_ARG_FIELDS) - {"idim", "odim"}
        assert arch <= set(cfg.model), arch - set(cfg.model)
        assert cfg.model.hidden_size == cfg.model.embedding_dim  # the released layout's rule
    ds = deepspeed_config(cfg.deepspeed, cfg.trainer)
    if group == "deepspeed":
        assert ds["zero_optimization"]["stage"] == int(choice[-1])
    lr = build_lr_lambda(cfg.scheduler)
    assert 0.0 <= lr(0) <= 1.0 and 0.0 < lr(10 ** 4) <= 1.0
    assert cfg.optim.name == "adamw" and cfg.optim.lr > 0
    for key in ("max_frames_per_batch", "min_frames", "max_frames", "max_tokens", "spec_augment"):
        assert key in cfg.data
