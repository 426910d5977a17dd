"""The CTC head and joint CTC/attention training: loss, gradients, v1/v2 export and lengths."""
import torch
import torch.nn.functional as F

from fireredasr.data.processor import collate_features, collate_tokens
from fireredasr.models.ctc import CTC
from fireredasr.models.fireredasr_aed import FireRedAsrAed
from fireredasr.train.aed_task import compute_loss
from tests.models.helpers import tiny_aed_args


def test_ctc_loss_is_torch_ctc_over_the_unpadded_targets():
    torch.manual_seed(0)
    head = CTC(odim=12, d_model=8)
    enc = torch.randn(2, 20, 8)
    logp = head.log_probs(enc)
    targets = torch.tensor([[5, 6, 7, 2], [8, 9, 2, 2]])  # padded with 2 after the lengths
    lengths, enc_len = torch.tensor([3, 2]), torch.tensor([20, 15])
    got = CTC.loss_sum(logp, enc_len, targets, lengths)
    want = sum(F.ctc_loss(logp[i, :enc_len[i]].unsqueeze(1), targets[i:i + 1, :lengths[i]],
                          enc_len[i:i + 1], lengths[i:i + 1], blank=0, reduction="sum")
               for i in range(2))
    assert torch.allclose(got, want)


def test_joint_loss_trains_the_head_and_the_v1_layout_has_no_head():
    torch.manual_seed(0)
    args = tiny_aed_args(odim=30)
    model = FireRedAsrAed.from_args(args, ctc=True).train()
    assert {k for k in model.state_dict() if k.startswith("ctc.")} == {"ctc.ctc_lo.weight",
                                                                       "ctc.ctc_lo.bias"}
    import numpy as np

    feats = [np.random.randn(60, 80).astype(np.float32), np.random.randn(45, 80).astype(np.float32)]
    # A batch as the AED task's collate builds it: padded features plus its targets.
    batch = dict(collate_features(["a", "b"], feats),
                 **collate_tokens([[5, 6, 7], [8, 9]], args.sos_id, args.eos_id, args.pad_id))
    att_only, _ = compute_loss(0.1)(FireRedAsrAed.from_args(args), batch)
    loss, stats = compute_loss(0.1, ctc_weight=0.3)(model, batch)
    assert stats["ctc_loss"] > 0 and torch.isfinite(loss)
    loss.backward()
    assert model.ctc.ctc_lo.weight.grad.abs().sum() > 0
    # Without the head the model is exactly the released v1 architecture.
    assert FireRedAsrAed.from_args(args).ctc is None
    assert set(FireRedAsrAed.from_args(args).state_dict()) == \
        {k for k in model.state_dict() if not k.startswith("ctc.")}
    assert torch.isfinite(att_only)


def test_export_writes_the_v2_layout_with_a_ctc_head(tmp_path):
    import numpy as np

    from fireredasr.data.cmvn import write_cmvn
    from fireredasr.models.checkpoint import load_aed_model
    from fireredasr.tokenizer.build import build_tokenizer
    from fireredasr.train.aed_task import export_model_folder, load_tokenizer

    build_tokenizer(["今天天气很好", "我们去公园"], str(tmp_path / "lang"), bpe_vocab_size=30)
    args = tiny_aed_args(odim=len(load_tokenizer(str(tmp_path / "lang"))))
    state = FireRedAsrAed.from_args(args, ctc=True).state_dict()
    stats = np.zeros((2, 81))
    stats[0, :80], stats[1, :80], stats[0, 80] = 1.0, 2.0, 1.0
    write_cmvn(str(tmp_path / "cmvn.ark"), stats)
    export_model_folder(str(tmp_path / "v2"), args, state, str(tmp_path / "lang"),
                        str(tmp_path / "cmvn.ark"))
    model, _ = load_aed_model(str(tmp_path / "v2" / "model.pth.tar"))  # strict loading
    assert model.ctc is not None and model.encoder.ceil_lengths
    torch.testing.assert_close(model.ctc.ctc_lo.weight, state["ctc.ctc_lo.weight"])
    v1_state = FireRedAsrAed.from_args(args).state_dict()
    export_model_folder(str(tmp_path / "v1"), args, v1_state, str(tmp_path / "lang"),
                        str(tmp_path / "cmvn.ark"))
    model, _ = load_aed_model(str(tmp_path / "v1" / "model.pth.tar"))
    assert model.ctc is None and not model.encoder.ceil_lengths


def test_v2_encoder_lengths_are_ceil_of_a_quarter():
    torch.manual_seed(0)
    args = tiny_aed_args(odim=30)
    v1, v2 = FireRedAsrAed.from_args(args).eval(), FireRedAsrAed.from_args(args, ctc=True).eval()
    lengths = torch.tensor([418, 197, 178, 17, 16])
    feats = torch.randn(5, 418, 80)
    assert v2.encoder(feats, lengths)[1].tolist() == [105, 50, 45, 5, 4]
    assert v1.encoder(feats, lengths)[1].tolist() == [103, 48, 43, 3, 3]
