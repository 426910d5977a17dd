"""Pinyin units for the auxiliary CTC: readings, packing, and a head that is never exported."""
import argparse

import pytest
import torch
from omegaconf import OmegaConf

from fireredasr.data.processor import IGNORE_ID
from fireredasr.models.fireredasr_aed import FireRedAsrAed
from fireredasr.tokenizer.pinyin_units import PinyinUnits, char_units
from fireredasr.train import aed_task

TOKENS = ["<blank>", "<unk>", "<pad>", "<sos>", "<eos>", "中", "爱", "一", "的", "\u2581A", "国"]


def test_char_units_split_initial_and_toned_final():
    assert char_units("中") == ["zh", "ong1"]
    assert char_units("爱") == ["ai4"]          # no initial
    assert char_units("的") == ["d", "e5"]       # neutral tone is 5


def test_targets_pack_the_units_of_each_utterance():
    units = PinyinUnits(TOKENS)
    assert units.units[0] == "<blank>" and len(units) == 9
    ys = torch.tensor([[5, 6, 9, 2, 2], [10, 7, 8, 5, 2]])  # 中爱▁A / 国一的中, pad after
    packed, lengths = units.targets(ys, torch.tensor([3, 4]))
    names = [[units.units[i] for i in row[:n]] for row, n in zip(packed.tolist(), lengths.tolist())]
    assert names == [["zh", "ong1", "ai4"], ["g", "uo2", "i1", "d", "e5", "zh", "ong1"]]


def _args(vocab):
    return argparse.Namespace(idim=80, n_layers_enc=1, n_layers_dec=1, n_head=2, d_model=32,
                              residual_dropout=0.0, dropout_rate=0.0, kernel_size=3,
                              pe_maxlen=64, odim=vocab, sos_id=3, eos_id=4, pad_id=2)


def test_aux_loss_is_added_and_the_head_is_not_exported(tmp_path, ref_aed_dir):
    units = PinyinUnits(TOKENS)
    torch.manual_seed(0)
    model = FireRedAsrAed(_args(len(TOKENS)), ctc=True, aux_units=len(units))
    batch = {"feats": torch.randn(2, 60, 80), "feat_lengths": torch.tensor([60, 50]),
             "ys_in": torch.tensor([[3, 5, 6, 9, 2], [3, 10, 7, 8, 5]]),
             "ys_out": torch.tensor([[5, 6, 9, 4, IGNORE_ID], [10, 7, 8, 5, 4]])}
    base, stats = aed_task.compute_loss(0.0, 0.5)(model, batch)
    total, aux_stats = aed_task.compute_loss(0.0, 0.5, units, 0.3)(model, batch)
    assert "pinyin_ctc_loss" not in stats and aux_stats["pinyin_ctc_loss"] > 0
    assert total.item() == pytest.approx(base.item() + 0.3 * aux_stats["pinyin_ctc_loss"], rel=1e-6)
    state = model.state_dict()
    assert any(k.startswith("aux_ctc.") for k in state)
    out = tmp_path / "model"
    for name in ("dict.txt", "train_bpe1000.model"):
        (tmp_path / name).write_bytes((ref_aed_dir / name).read_bytes())
    aed_task.export_model_folder(str(out), model.args, state, str(tmp_path),
                                 str(ref_aed_dir / "cmvn.ark"))
    package = torch.load(out / "model.pth.tar", weights_only=False)
    keys = package["model_state_dict"]
    assert any(k.startswith("ctc.") for k in keys) and not any(k.startswith("aux_ctc.") for k in keys)


def test_pinyin_weight_zero_builds_no_head():
    cfg = OmegaConf.create({"pinyin_ctc_weight": 0.0})
    assert aed_task.pinyin_units(cfg, None) is None
