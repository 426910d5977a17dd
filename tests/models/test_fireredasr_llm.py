"""FireRedASR-LLM against the reference outputs of the released code (reference_llm_small)."""
import json

import pytest
import torch

from fireredasr.bin.transcribe import main as transcribe_main
from fireredasr.tokenizer.llm_tokenizer import clean_text, encode_prompts
from tests.conftest import REAL_EXAMPLES, REAL_UTTS


@pytest.fixture(scope="module")
def expected(ref_llm_dir):
    return torch.load(ref_llm_dir / "expected_tensors.pt", weights_only=False)


@pytest.fixture(scope="module")
def hyps(ref_llm_dir):
    return json.loads((ref_llm_dir / "expected_hyps.json").read_text(encoding="utf-8"))


def test_intermediate_tensors_match_the_reference(ref_llm_api, expected):
    model, tok = ref_llm_api.model, ref_llm_api.tokenizer
    assert tok.convert_tokens_to_ids("<speech>") == 692
    ids, mask, _, _ = encode_prompts(tok, [""] * 4, decode=True)
    assert torch.equal(ids, expected["prompt_input_ids"])
    with torch.no_grad():
        enc, enc_len, _ = model.encoder(expected["feats"], expected["feat_lengths"])
        assert torch.equal(enc_len, expected["encoder_lengths"])
        assert (enc - expected["encoder_outputs"]).abs().max() <= 1e-4
        speech, lens = model.encoder_projector(enc, enc_len)
        assert torch.equal(lens, expected["speech_lens"])
        assert (speech - expected["speech_features"]).abs().max() <= 1e-4
        embeds, att, _ = model.merge_speech(expected["feats"], expected["feat_lengths"], ids, mask)
        assert (embeds - expected["inputs_embeds"]).abs().max() <= 1e-4
        # Padded speech frames of shorter utterances are masked (the released code attends
        # to them): each utterance attends to its prompt tokens, less the <speech>
        # placeholder, plus its own speech frames; the longest utterance sees everything.
        own = mask.sum(1) - 1 + expected["speech_lens"]
        assert att.sum(1).tolist() == own.tolist()
        assert bool(att[int(expected["speech_lens"].argmax())].all())


def test_adapter_ctc_loss_prefers_speech_that_holds_the_transcript_tokens(ref_llm_api):
    model, tok = ref_llm_api.model, ref_llm_api.tokenizer
    texts = ["今天天气很好", "北京"]
    _, _, labels, _ = encode_prompts(tok, texts, decode=False)
    table = model.llm.get_input_embeddings().weight.detach()
    said = [tok(clean_text(t), add_special_tokens=False)["input_ids"] for t in texts]

    def speech(rows):  # each token over two positions, then one zero (blank-like) position
        width = max(3 * len(r) for r in rows)
        out = torch.zeros(len(rows), width, table.size(1))
        for i, r in enumerate(rows):
            for k, t in enumerate(r):
                out[i, 3 * k: 3 * k + 2] = table[t]
        return out, torch.tensor([3 * len(r) for r in rows])

    with torch.no_grad():
        right = model.adapter_ctc_loss(*speech(said), labels)
        wrong = model.adapter_ctc_loss(*speech([[t + 1 for t in r] for r in said]), labels)
    assert torch.isfinite(right) and right < 0.5 * wrong, (right, wrong)


@pytest.mark.parametrize("name", ["beam1", "beam3"])
def test_hypotheses_batch_and_single(ref_llm_api, hyps, real_wavs, name):
    args = hyps[name]["args"]
    batch = ref_llm_api.transcribe(REAL_UTTS, [real_wavs[u] for u in REAL_UTTS], args)
    assert {r["uttid"]: r["text"] for r in batch} == hyps[name]["batch"]
    for u in REAL_UTTS[:2]:  # the long meeting one is covered by the batch
        (r,) = ref_llm_api.transcribe([u], [real_wavs[u]], args)
        assert r["text"] == hyps[name]["single"][u]


def test_cli_llm(ref_llm_dir, hyps, tmp_path):
    out = tmp_path / "hyp"
    u = REAL_UTTS[1]
    assert transcribe_main(["--asr_type", "llm", "--model_dir", str(ref_llm_dir), "--wav_path",
                            str(REAL_EXAMPLES / f"{u}.wav"), "--output", str(out), "--use_gpu",
                            "0", "--beam_size", "3", "--repetition_penalty", "3.0",
                            "--llm_length_penalty", "1.0"]) == 0
    assert out.read_text(encoding="utf-8") == f"{u}\t{hyps['beam3']['single'][u]}\n"


def test_training_prompts_and_labels(ref_llm_api):
    tok = ref_llm_api.tokenizer
    assert clean_text("今天，天气 很好！Hello   World.") == "今天天气很好hello world"
    ids, mask, labels, cleaned = encode_prompts(tok, ["换一首歌。", "好"], decode=False)
    prefix = encode_prompts(tok, [""], decode=True)[0].size(1)
    assert cleaned == ["换一首歌", "好"]
    first = ids[0][mask[0]].tolist()
    assert first[-1] == tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.decode(first[prefix:-1]) == "换一首歌"
    assert (labels[0, :prefix] == -100).all() and labels[0, prefix:].tolist() == first[prefix:]
    assert (labels[1][~mask[1]] == -100).all() and (ids[1][~mask[1]] == tok.pad_token_id).all()


def test_training_loss_on_the_tail_equals_the_full_sequence_loss(ref_llm_api, expected):
    """forward() scores only the assistant turn's positions: same loss as the LLM's own
    cross entropy over every position, and logits that line up with the labels it returns."""
    model, tok = ref_llm_api.model, ref_llm_api.tokenizer
    feats, lengths = expected["feats"][:2], expected["feat_lengths"][:2]
    ids, mask, labels, _ = encode_prompts(tok, ["今天天气很好", "北京"], decode=False)
    with torch.no_grad():
        loss, logits, tail, _ = model(feats, lengths, ids, mask, labels)
        embeds, att, merged = model.merge(*model.embed_speech(feats, lengths), ids, mask, labels)
        full = model.llm(inputs_embeds=embeds, attention_mask=att, labels=merged)
    assert logits.size(1) < merged.size(1) and torch.equal(tail, merged[:, -tail.size(1):])
    assert (tail[:, 0] == -100).all() and (tail[:, 1] != -100).any()
    assert torch.allclose(loss, full.loss, atol=1e-5), (loss, full.loss)
    assert torch.allclose(logits, full.logits[:, -logits.size(1):], atol=1e-4)
