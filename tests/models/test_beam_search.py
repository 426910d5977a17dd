import pytest
import torch

from bench.released_search import uncached_batch_beam_search
from fireredasr.models.beam_search import BeamSearchConfig, batch_beam_search
from tests.models.helpers import tiny_aed


def _encode(model, lengths, seed=0):
    torch.manual_seed(seed)
    feats = torch.randn(len(lengths), max(lengths), 80)
    with torch.no_grad():
        enc, _, mask = model.encoder(feats, torch.tensor(lengths))
    return enc, mask


def _as_lists(hyps):
    return [[h.yseq.tolist() for h in nbest] for nbest in hyps]


@pytest.mark.parametrize("beam,nbest", [(1, 1), (3, 1), (3, 3), (5, 1), (5, 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_cached_equals_uncached(beam, nbest, seed):
    # An eos id inside the likely range makes some hypotheses finish early.
    model = tiny_aed(seed=seed, odim=30, eos_id=5)
    enc, mask = _encode(model, [200, 23, 97, 9], seed)  # very different lengths
    cfg = BeamSearchConfig(beam_size=beam, nbest=nbest, softmax_smoothing=1.25,
                           length_penalty=0.6)
    cached = batch_beam_search(model.decoder, enc, mask, cfg)
    plain = uncached_batch_beam_search(model.decoder, enc, mask, cfg)
    assert _as_lists(cached) == _as_lists(plain)
    for a, b in zip(cached, plain):
        assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-4)
    assert all(len(n) == nbest for n in cached)


def test_batch_equals_single_and_eos_penalty():
    model = tiny_aed(seed=4, odim=30, eos_id=5)
    enc, mask = _encode(model, [150, 12, 60])
    cfg = BeamSearchConfig(beam_size=3, nbest=2, eos_penalty=0.8, decode_max_len=25)
    batch = batch_beam_search(model.decoder, enc, mask, cfg)
    assert _as_lists(batch) == _as_lists(uncached_batch_beam_search(model.decoder, enc, mask, cfg))
    for i in range(3):
        n = int(mask[i].sum())
        single = batch_beam_search(model.decoder, enc[i:i + 1, :n], mask[i:i + 1, :n], cfg)
        assert _as_lists(single) == _as_lists(batch[i:i + 1])


def test_hypotheses_exclude_sos_and_eos_and_respect_max_len():
    model = tiny_aed(seed=5)
    enc, mask = _encode(model, [80, 40])
    hyps = batch_beam_search(model.decoder, enc, mask, BeamSearchConfig(beam_size=2, decode_max_len=4))
    for nbest in hyps:
        seq = nbest[0].yseq.tolist()
        assert len(seq) <= 4
        assert model.decoder.eos_id not in seq


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="nbest"):
        BeamSearchConfig(beam_size=2, nbest=3)
    with pytest.raises(ValueError, match="eos_penalty"):
        BeamSearchConfig(eos_penalty=0.0)
    BeamSearchConfig(eos_penalty=1.5)  # FireRedASR2 allows > 1
    with pytest.raises(ValueError, match="elm_weight"):
        BeamSearchConfig(elm_weight=-0.1)


@pytest.mark.parametrize("beam", [1, 3])
def test_each_utterance_keeps_its_own_length_limit(beam):
    # decode_max_len 0: an utterance's limit is its own encoder length, not the batch's
    # padded length, so a short utterance next to a long one decodes as it does alone.
    model = tiny_aed(seed=2, odim=30, eos_id=29)  # eos rarely wins: searches run to the limit
    enc, mask = _encode(model, [400, 13, 41])
    cfg = BeamSearchConfig(beam_size=beam, softmax_smoothing=1.25, length_penalty=0.6)
    batch = batch_beam_search(model.decoder, enc, mask, cfg)
    assert _as_lists(batch) == _as_lists(uncached_batch_beam_search(model.decoder, enc, mask, cfg))
    for i in range(3):
        n = int(mask[i].sum())
        single = batch_beam_search(model.decoder, enc[i:i + 1, :n], mask[i:i + 1, :n], cfg)
        assert _as_lists(single) == _as_lists(batch[i:i + 1]), i
        assert len(batch[i][0].yseq) <= n
