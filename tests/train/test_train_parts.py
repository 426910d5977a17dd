import json

import pytest
import torch
import torch.nn.functional as F

from fireredasr.data.dataset import make_batches, shard, shard_by_utterance
from fireredasr.data.processor import IGNORE_ID, UttInfo, spec_augment
from fireredasr.train.checkpoint import (COMPLETE, META, average_state_dicts,
                                         complete_checkpoints, select_checkpoints)
from fireredasr.train.loss import label_smoothed_ce, token_accuracy
from fireredasr.train.schedulers import noam, warmup_cosine


def test_averaging_is_the_arithmetic_mean():
    states = [{"w": torch.tensor([1.0, 2.0]), "b": torch.tensor(3.0), "n": torch.tensor(5)},
              {"w": torch.tensor([3.0, 6.0]), "b": torch.tensor(-1.0), "n": torch.tensor(7)},
              {"w": torch.tensor([2.0, 1.0]), "b": torch.tensor(1.0), "n": torch.tensor(9)}]
    avg = average_state_dicts(states)
    assert torch.equal(avg["w"], torch.tensor([2.0, 3.0]))
    assert avg["b"].item() == pytest.approx(1.0)
    assert avg["n"].item() == 9  # integer buffers are taken from the newest
    with pytest.raises(ValueError):
        average_state_dicts([states[0], {"w": states[0]["w"]}])


def test_select_last_and_best(tmp_path):
    for step, loss in ((10, 3.0), (20, 1.0), (30, 2.0), (40, 1.5)):
        d = tmp_path / f"step_{step:08d}"
        d.mkdir()
        (d / META).write_text(json.dumps({"valid_loss": loss}))
        (d / COMPLETE).write_text("")
    (tmp_path / "step_00000050").mkdir()  # an interrupted save: ignored
    assert [s for s, _ in complete_checkpoints(str(tmp_path))] == [10, 20, 30, 40]
    assert select_checkpoints(str(tmp_path), 2, "last") == ["step_00000030", "step_00000040"]
    assert select_checkpoints(str(tmp_path), 2, "best") == ["step_00000020", "step_00000040"]


def test_label_smoothed_ce_matches_its_definition():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 7)
    pad = IGNORE_ID
    targets = torch.tensor([[1, 2, pad], [3, pad, pad]])
    loss, n = label_smoothed_ce(logits, targets, 0.1)
    logp = F.log_softmax(logits, -1)
    terms = [0.9 * -logp[b, t, targets[b, t]] + 0.1 * -logp[b, t].mean()
             for b in range(2) for t in range(3) if targets[b, t] != pad]
    assert n == 3 and loss.item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-6)
    assert token_accuracy(logits, targets)[1] == 3


def test_schedules():
    f = noam(100)
    assert f(50) == pytest.approx(0.5) and f(100) == pytest.approx(1.0)
    assert f(400) == pytest.approx(0.5)
    g = warmup_cosine(10, 110, 0.1)
    assert g(5) == pytest.approx(0.5) and g(10) == pytest.approx(1.0)
    assert g(60) == pytest.approx(0.55) and g(110) == pytest.approx(0.1) and g(500) == pytest.approx(0.1)


def test_dynamic_batches_and_equal_shards():
    infos = [UttInfo(f"u{i}", 50 + (i * 37) % 400, (1,)) for i in range(101)]
    batches = make_batches(infos, 1000, 20, seed=1, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(101))
    for b in batches:
        assert max(infos[i].num_frames for i in b) * len(b) <= 1000 or len(b) == 1
    assert batches == make_batches(infos, 1000, 20, seed=1, epoch=0)
    assert batches != make_batches(infos, 1000, 20, seed=1, epoch=1)
    shards = [shard(batches, r, 3) for r in range(3)]
    assert len({len(s) for s in shards}) == 1  # every rank takes the same number of steps
    flat = [tuple(b) for s in shards for b in s]
    assert len(flat) == len(set(flat)) == 3 * (len(batches) // 3)  # disjoint
    padded = [shard(batches, r, 3, pad=True) for r in range(3)]
    assert len({len(s) for s in padded}) == 1
    assert sum(b is not None for s in padded for b in s) == len(batches)


def test_utterance_shards_are_fixed_disjoint_and_equal_in_steps():
    infos = [UttInfo(f"u{i}", 50 + (i * 37) % 400, (1,)) for i in range(101)]
    seen = []
    for epoch in range(3):
        shards = [shard_by_utterance(infos, 1000, 20, 1, epoch, r, 2) for r in range(2)]
        assert len(shards[0]) == len(shards[1]) > 0
        for b in shards[0] + shards[1]:
            assert max(infos[i].num_frames for i in b) * len(b) <= 1000 or len(b) == 1
        seen.append([{i for b in s for i in b} for s in shards])
        assert not seen[-1][0] & seen[-1][1]
    # Each process keeps its own utterances: none ever moves to the other process.
    mine = [set().union(*(e[r] for e in seen)) for r in range(2)]
    assert not mine[0] & mine[1]
    assert len(mine[0] | mine[1]) >= 95
    # Batches are re-formed each epoch.
    assert shard_by_utterance(infos, 1000, 20, 1, 0, 0, 2) != \
        shard_by_utterance(infos, 1000, 20, 1, 1, 0, 2)


def test_spec_augment_masks_with_zeros_deterministically():
    import numpy as np

    x = np.ones((200, 80), dtype=np.float32)
    a = spec_augment(x, np.random.default_rng(1))
    b = spec_augment(x, np.random.default_rng(1))
    assert np.array_equal(a, b) and (a == 0).any() and x.min() == 1.0


def test_a_third_family_is_one_task_module(tmp_path):
    """A CTC-only model (tests/train/ctc_only_task.py) trains, checkpoints, resumes and
    exports through run_training/Trainer/export_run without any change to them."""
    import subprocess
    import sys

    from fireredasr.train.run import export_run
    from tests.conftest import REPO
    from tests.train.ctc_only_task import CtcOnlyTask
    from tests.train_fixtures import make_train_data, tiny_overrides

    data = make_train_data(tmp_path / "data", n_synth=2)
    exp = tmp_path / "exp"
    for steps in (4, 6):
        cmd = [sys.executable, "-m", "tests.train.ctc_only_task",
               *tiny_overrides(data, exp, **{"trainer.max_steps": steps,
                                             "trainer.save_every": 2, "deepspeed": "zero0"})]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
    log = (exp / "train.log").read_text()
    assert "step 2 validation: loss" in log and "training finished at step 4" in log
    assert "resumed from" in log.split("training finished at step 4")[1]
    assert "training finished at step 6" in log
    export_run(CtcOnlyTask, str(exp), 2, "last", str(tmp_path / "model"))
    state = torch.load(tmp_path / "model" / "ctc_model.pt")
    assert state and all(k.startswith(("encoder.", "ctc.")) for k in state)
