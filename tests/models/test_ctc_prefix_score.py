"""Joint CTC/attention decoding: the CTC prefix scores against brute force (every alignment of a
tiny T x V posterior enumerated), and the search they steer."""
import itertools
import math

import pytest
import torch

from fireredasr.models.beam_search import BeamSearchConfig, batch_beam_search
from fireredasr.models.ctc_prefix_score import NO_SCORE, CtcPrefixScorer
from tests.models.helpers import tiny_aed
from tests.models.test_ctc_search import _collapse


def _prefix_log_probs(log_probs, length):
    """({labels: log P(labels)}, {prefix: log P(labels starting with prefix)}) over the first
    ``length`` frames, by enumerating every path."""
    V = log_probs.size(1)
    full, prefix = {}, {}
    for path in itertools.product(range(V), repeat=length):
        p = math.exp(sum(float(log_probs[t, s]) for t, s in enumerate(path)))
        labels = _collapse(path)
        full[labels] = full.get(labels, 0.0) + p
        for k in range(len(labels) + 1):
            prefix[labels[:k]] = prefix.get(labels[:k], 0.0) + p
    return ({k: math.log(v) for k, v in full.items()},
            {k: math.log(v) for k, v in prefix.items()})


def _check_deltas(got, g, full, prefix, eos):
    for c, delta in enumerate(got.tolist()):
        if c == eos:
            want = full.get(g, -math.inf) - prefix[g]
        else:
            want = prefix.get(g + (c,), -math.inf) - prefix[g]
        if want == -math.inf:
            assert delta < NO_SCORE / 2, (g, c)
        else:
            assert delta == pytest.approx(want, abs=1e-4), (g, c)


@pytest.mark.parametrize("seed,T,V,g", [(0, 5, 4, (1, 2, 1)), (1, 5, 3, (1, 1)),
                                        (2, 5, 4, (2, 2, 2)), (3, 6, 4, (2, 1))])
def test_prefix_scores_are_exact_step_by_step(seed, T, V, g):
    """Each step's score of a token c is log P(prefix + c ...) - log P(prefix ...), and that of
    <eos> log P(exactly the prefix) - log P(prefix ...), repeats (a a) included."""
    torch.manual_seed(seed)
    log_probs = (2.0 * torch.randn(T, V)).log_softmax(-1)
    full, prefix = _prefix_log_probs(log_probs, T)
    eos = V - 1   # the search's <eos> is also a label of the posterior here; g avoids it
    scorer = CtcPrefixScorer(log_probs[None], torch.tensor([T]), beam_size=1, eos_id=eos,
                             weight=1.0, pre_beam=V)
    last = torch.tensor([eos])   # <sos> stands before the first token: no repeat to merge
    for k in range(len(g) + 1):
        got = scorer.scores(last, torch.zeros(1, V))[0]
        _check_deltas(got, g[:k], full, prefix, eos)
        if k < len(g):
            last = torch.tensor([g[k]])
            scorer.reorder(torch.tensor([0]), last)


def test_rows_see_only_their_own_frames_and_only_the_pre_beam_is_scored():
    """A shorter utterance padded in a batch scores as it does alone; tokens outside a row's
    pre-beam (by the attention scores) get NO_SCORE; the weight scales the rest."""
    torch.manual_seed(4)
    T, V, beam = 6, 5, 2
    log_probs = (2.0 * torch.randn(2, T, V)).log_softmax(-1)
    att = torch.randn(2 * beam, V)
    batch = CtcPrefixScorer(log_probs, torch.tensor([T, 4]), beam, eos_id=4, weight=0.5,
                            pre_beam=3)
    alone = CtcPrefixScorer(log_probs[1:, :4], torch.tensor([4]), beam, eos_id=4, weight=0.5,
                            pre_beam=3)
    got = batch.scores(torch.tensor([4] * 4), att)
    want = alone.scores(torch.tensor([4] * 2), att[2:])
    assert torch.allclose(got[2:], want, atol=1e-5)
    top = att.topk(3, dim=1).indices
    outside = torch.ones_like(got, dtype=torch.bool).scatter_(1, top, False)
    labels = ~outside & (torch.arange(V) != 0)   # blank is never a label: NO_SCORE too
    assert (got[~labels] == NO_SCORE).all() and (got[labels] > NO_SCORE / 2).all()
    full = CtcPrefixScorer(log_probs, torch.tensor([T, 4]), beam, eos_id=4, weight=1.0,
                           pre_beam=3).scores(torch.tensor([4] * 4), att)
    assert torch.allclose(got[labels], 0.5 * full[labels], atol=1e-5)


def _search(model, log_probs, enc, mask, **cfg):
    hyps = batch_beam_search(model.decoder, enc, mask, BeamSearchConfig(**cfg), None, log_probs)
    return [[(tuple(h.yseq.tolist()), h.score) for h in nbest] for nbest in hyps]


def test_joint_search_with_zero_weight_is_the_attention_search():
    model = tiny_aed(seed=1, odim=12, ctc=True)
    torch.manual_seed(2)
    feats, lengths = torch.randn(2, 48, 80), torch.tensor([48, 30])
    with torch.no_grad():
        enc, enc_lengths, mask = model.encoder(feats, lengths)
        log_probs = model.ctc.log_probs(enc)
    attention = _search(model, log_probs, enc, mask, beam_size=4, nbest=4)
    joint = _search(model, log_probs, enc, mask, beam_size=4, nbest=4,
                    decode_mode="joint_ctc_attention", rescoring_ctc_weight=0.0)
    assert [[y for y, _ in n] for n in joint] == [[y for y, _ in n] for n in attention]
    for a, j in zip(attention, joint):
        assert [s for _, s in j] == pytest.approx([s for _, s in a], abs=1e-5)


def test_joint_search_follows_a_confident_ctc_where_the_decoder_is_random():
    """A random decoder alone does not find the labels; weighted CTC prefix scores steer it to
    them, a repeated label included, and end it where the labels end. (The random decoder is
    very sure of itself, up to ~70 nats between tokens, hence the large weight.)"""
    model = tiny_aed(seed=5, odim=12, ctc=True)
    torch.manual_seed(0)
    feats, lengths = torch.randn(1, 60, 80), torch.tensor([60])
    labels = (5, 7, 7, 9)
    with torch.no_grad():
        enc, _, mask = model.encoder(feats, lengths)
    T = enc.size(1)
    path = [5, 5, 0, 7, 0, 7, 7, 9, 9] + [0] * (T - 9)
    log_probs = torch.full((1, T, 12), math.log(0.01 / 11))
    log_probs[0, torch.arange(T), torch.tensor(path)] = math.log(0.99)
    attention = _search(model, log_probs, enc, mask, beam_size=8)
    joint = _search(model, log_probs, enc, mask, beam_size=8, decode_mode="joint_ctc_attention",
                    rescoring_ctc_weight=20.0)
    assert attention[0][0][0] != labels
    assert joint[0][0][0] == labels


def test_transcribe_runs_the_joint_mode_with_confidences():
    model = tiny_aed(seed=1, odim=12, ctc=True)
    torch.manual_seed(3)
    hyps = model.transcribe(torch.randn(2, 40, 80), torch.tensor([40, 25]), beam_size=3,
                            nbest=2, decode_mode="joint_ctc_attention", decode_max_len=6)
    assert [len(n) for n in hyps] == [2, 2]
    assert all(0.0 < h.confidence <= 1.0 for n in hyps for h in n if len(h.yseq))
