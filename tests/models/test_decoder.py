import torch

from fireredasr.models.transformer_decoder import TransformerDecoder
from tests.models.helpers import tiny_aed


def test_teacher_forced_logits_equal_incremental_logits():
    model = tiny_aed(seed=1)
    dec: TransformerDecoder = model.decoder
    feats = torch.randn(3, 90, 80)
    lengths = torch.tensor([90, 30, 61])
    ys = torch.randint(5, 50, (3, 7))
    ys[:, 0] = dec.sos_id
    with torch.no_grad():
        enc, _, mask = model.encoder(feats, lengths)
        full = dec(ys, enc, mask)
        state = dec.init_state(enc, mask, beam=1, max_len=ys.size(1))
        steps = torch.stack([dec.step(state, ys[:, t]) for t in range(ys.size(1))], dim=1)
    torch.testing.assert_close(steps, full, rtol=1e-4, atol=1e-4)


def test_padded_targets_do_not_change_earlier_logits():
    model = tiny_aed(seed=2)
    dec = model.decoder
    enc = torch.randn(1, 20, 64)
    mask = torch.ones(1, 20, dtype=torch.bool)
    ys = torch.tensor([[3, 10, 11, 12]])
    ys_padded = torch.tensor([[3, 10, 11, 12, 2, 2]])
    with torch.no_grad():
        a = dec(ys, enc, mask)
        b = dec(ys_padded, enc, mask)[:, :4]
    torch.testing.assert_close(a, b)


def test_training_forward_backward_runs():
    model = tiny_aed(seed=3).train()
    feats = torch.randn(2, 50, 80)
    logits, enc_len = model(feats, torch.tensor([50, 33]), torch.tensor([[3, 7, 8], [3, 9, 2]]))
    assert logits.shape == (2, 3, 50)
    assert enc_len.tolist() == [11, 7]
    logits.sum().backward()
    assert model.encoder.layer_stack[0].mhsa.pos_bias_u.grad is not None
