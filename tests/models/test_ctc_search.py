"""CTC decoding modes against brute force: every alignment of a tiny T x V posterior enumerated."""
import itertools
import math
from collections import defaultdict

import pytest
import torch

from fireredasr.models.ctc_search import (attention_rescoring, ctc_greedy_search,
                                          ctc_prefix_beam_search)
from tests.models.helpers import tiny_aed


def _collapse(path):
    out, prev = [], None
    for t in path:
        if t != prev and t != 0:
            out.append(t)
        prev = t
    return tuple(out)


def _exhaustive(log_probs):
    """{label sequence: log of the summed probability of every path collapsing to it}."""
    T, V = log_probs.shape
    total = defaultdict(float)
    for path in itertools.product(range(V), repeat=T):
        total[_collapse(path)] += math.exp(sum(float(log_probs[t, s]) for t, s in enumerate(path)))
    return {k: math.log(v) for k, v in total.items()}


@pytest.mark.parametrize("seed,T,V", [(0, 4, 3), (1, 5, 3), (2, 3, 4), (3, 6, 2)])
def test_prefix_beam_search_with_a_full_beam_is_exact(seed, T, V):
    torch.manual_seed(seed)
    log_probs = (2.0 * torch.randn(T, V)).log_softmax(-1)
    exact = _exhaustive(log_probs)
    got = ctc_prefix_beam_search(log_probs, T, beam_size=len(exact) + V)
    assert {p for p, _ in got} == set(exact)
    for prefix, score in got:
        assert score == pytest.approx(exact[prefix], abs=1e-5)
    assert [p for p, _ in got] == sorted(exact, key=lambda k: -exact[k])


def test_small_beams_find_the_best_sequence_of_a_peaked_posterior():
    torch.manual_seed(4)
    log_probs = (4.0 * torch.randn(6, 4)).log_softmax(-1)
    exact = _exhaustive(log_probs)
    best = max(exact, key=exact.get)
    (prefix, score), = ctc_prefix_beam_search(log_probs, 6, beam_size=1)[:1]
    assert ctc_prefix_beam_search(log_probs, 6, beam_size=3)[0][0] == best
    assert score <= exact[prefix] + 1e-6  # a pruned beam can only under-count paths


def test_greedy_is_the_best_path_collapsed_and_respects_lengths():
    torch.manual_seed(5)
    log_probs = (3.0 * torch.randn(2, 5, 3)).log_softmax(-1)
    hyps = ctc_greedy_search(log_probs, torch.tensor([5, 3]))
    for i, n in enumerate((5, 3)):
        paths = itertools.product(range(3), repeat=n)
        best = max(paths, key=lambda p: sum(float(log_probs[i, t, s]) for t, s in enumerate(p)))
        assert tuple(hyps[i][0].yseq.tolist()) == _collapse(best)
        assert hyps[i][0].score == pytest.approx(
            sum(float(log_probs[i, t, s]) for t, s in enumerate(best)), abs=1e-5)


def test_attention_rescoring_adds_teacher_forced_decoder_scores():
    model = tiny_aed(seed=3, odim=12).eval()
    torch.manual_seed(6)
    feats, lengths = torch.randn(1, 40, 80), torch.tensor([40])
    with torch.no_grad():
        enc, enc_lengths, mask = model.encoder(feats, lengths)
        log_probs = (3.0 * torch.randn(1, enc.size(1), 12)).log_softmax(-1)
        got = attention_rescoring(model.decoder, enc, mask, log_probs, enc_lengths,
                                  beam_size=4, nbest=4, ctc_weight=0.3)
        cands = ctc_prefix_beam_search(log_probs[0], int(enc_lengths[0]), 4)
        want = []
        for prefix, ctc in cands:
            ys = torch.tensor([[model.decoder.sos_id, *prefix]])
            lp = model.decoder(ys, enc, mask)[0].log_softmax(-1)
            att = sum(float(lp[k, tok]) for k, tok in enumerate([*prefix, model.decoder.eos_id]))
            want.append((att + 0.3 * ctc, prefix))
    want.sort(key=lambda x: -x[0])
    assert [tuple(h.yseq.tolist()) for h in got[0]] == [p for _, p in want]
    assert [h.score for h in got[0]] == pytest.approx([s for s, _ in want], abs=1e-4)
