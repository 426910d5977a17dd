"""The cached batch beam search against an independent oracle.

The oracle restates the released search from its definition, one utterance at a time, in
plain Python lists, and asks the decoder for each prefix's next-token scores through the
teacher-forced ``forward`` (not the incremental ``step`` the search uses). It shares no code
with ``fireredasr.models.beam_search``:
- every live hypothesis proposes its own top-``beam`` tokens (log-softmax of logits /
  softmax_smoothing, the eos score multiplied by eos_penalty); a finished one proposes only
  eos at no cost;
- the ``beam`` best of all proposals survive; a hypothesis ends with eos or at the step limit
  (decode_max_len, or the utterance's own encoder length);
- at the end, score / ((5 + length) / 6) ** length_penalty with length = non-eos tokens
  (sos included), and the n best are returned without sos and eos.
"""
import math

import pytest
import torch

from fireredasr.models.beam_search import BeamSearchConfig, batch_beam_search
from tests.models.helpers import tiny_aed

NEG = -1e10


def next_token_scores(decoder, prefix, enc, mask, cfg):
    with torch.no_grad():
        logits = decoder(torch.tensor([prefix]), enc, mask)[0, -1].float()
    scores = torch.log_softmax(logits / cfg.softmax_smoothing, dim=-1).tolist()
    scores[decoder.eos_id] *= cfg.eos_penalty
    return scores


def oracle(decoder, enc, mask, cfg, limit):
    """Beam search over one utterance (enc (1, T, d), mask (1, T)); returns [(yseq, score)]."""
    sos, eos, beam = decoder.sos_id, decoder.eos_id, cfg.beam_size
    hyps = [([sos], 0.0, False)] + [([sos], NEG, False)] * (beam - 1)
    for t in range(limit):
        proposals = []
        for seq, score, done in hyps:
            if done:
                options = [(eos, 0.0)] + [(eos, NEG)] * (beam - 1)
            else:
                s = next_token_scores(decoder, seq, enc, mask, cfg)
                best = sorted(range(len(s)), key=lambda v: -s[v])[:beam]
                options = [(v, s[v]) for v in best]
            proposals += [(score + s, seq + [v]) for v, s in options]
        proposals.sort(key=lambda p: -p[0])
        hyps = [(seq, score, seq[-1] == eos or t + 1 >= limit)
                for score, seq in proposals[:beam]]
        if all(done for _, _, done in hyps):
            break
    final = []
    for seq, score, _ in hyps:
        length = sum(1 for tok in seq if tok != eos)
        if cfg.length_penalty > 0:
            score /= ((5.0 + length) / 6.0) ** cfg.length_penalty
        final.append((seq[1:length], score))
    final.sort(key=lambda h: -h[1])
    return final[: cfg.nbest]


CASES = [  # beam, nbest, length_penalty, eos_penalty, softmax_smoothing, decode_max_len
    (1, 1, 0.0, 1.0, 1.0, 0),
    (2, 2, 0.6, 1.0, 1.25, 0),
    (3, 1, 0.0, 0.8, 1.0, 5),
    (3, 3, 0.6, 0.9, 1.25, 0),
    (4, 2, 1.0, 1.0, 1.0, 6),
    (5, 5, 0.6, 0.8, 1.25, 0),
    (5, 1, 0.0, 1.0, 1.0, 4),
    (2, 1, 0.0, 0.5, 1.0, 0),     # a strong eos penalty: hypotheses end earlier
    (4, 4, 0.6, 0.5, 1.25, 0),
]


@pytest.mark.parametrize("beam,nbest,lp,eos_penalty,smoothing,max_len", CASES)
def test_cached_search_equals_the_oracle(beam, nbest, lp, eos_penalty, smoothing, max_len):
    # A 12-token vocabulary with eos among the likely tokens: hypotheses end at different
    # steps. Three utterances of different lengths decode as one batch.
    model = tiny_aed(seed=beam, odim=12, eos_id=5)
    # An output projection of its own (the tied one makes a tiny random decoder repeat its
    # input token): varied hypotheses, some ending early with eos.
    g = torch.Generator().manual_seed(beam)
    model.decoder.tgt_word_prj.weight = torch.nn.Parameter(0.6 * torch.randn(12, 64, generator=g))
    torch.manual_seed(100 + beam)
    lengths = [44, 15, 29]
    feats = torch.randn(len(lengths), max(lengths), 80)
    with torch.no_grad():
        enc, _, mask = model.encoder(feats, torch.tensor(lengths))
    cfg = BeamSearchConfig(beam_size=beam, nbest=nbest, length_penalty=lp,
                           eos_penalty=eos_penalty, softmax_smoothing=smoothing,
                           decode_max_len=max_len)
    got = batch_beam_search(model.decoder, enc, mask, cfg)
    for i in range(len(lengths)):
        limit = max_len or int(mask[i].sum())
        n = int(mask[i].sum())
        want = oracle(model.decoder, enc[i:i + 1, :n], mask[i:i + 1, :n], cfg, limit)
        assert [h.yseq.tolist() for h in got[i]] == [seq for seq, _ in want], (i, cfg)
        for h, (_, score) in zip(got[i], want):
            assert math.isclose(h.score, score, rel_tol=1e-4, abs_tol=1e-4), (i, cfg)
