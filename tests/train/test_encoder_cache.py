"""The frozen-encoder output cache of LLM-ASR training (fireredasr/train/encoder_cache.py)."""
import pytest
import torch
from hydra import compose, initialize_config_dir

from fireredasr.models.conformer_encoder import ConformerEncoder
from fireredasr.train.encoder_cache import EncoderOutputCache, check_cacheable
from tests.conftest import REPO


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return ConformerEncoder(80, 2, 2, 32, kernel_size=5).eval()


def batch(lengths):
    g = torch.Generator().manual_seed(sum(lengths))
    feats = torch.zeros(len(lengths), max(lengths), 80)
    for i, n in enumerate(lengths):
        feats[i, :n] = torch.randn(n, 80, generator=g)
    return feats, torch.tensor(lengths)


def test_cached_outputs_equal_a_fresh_encoding_whatever_the_batch(encoder):
    calls = []

    def encode(feats, lengths):
        calls.append(lengths.tolist())
        return encoder(feats, lengths)[:2]

    cache = EncoderOutputCache(10 ** 9)
    feats, lengths = batch([90, 60, 75])
    first, first_len = cache.encode(encode, ["a", "b", "c"], feats, lengths)
    assert torch.equal(first_len, encoder(feats, lengths)[1]) and len(cache) == 3
    # "b" again, beside a new utterance: only the new one is encoded.
    feats2 = torch.zeros(2, 120, 80)
    feats2[0, :60] = feats[1, :60]
    feats2[1] = torch.randn(120, 80)
    out, out_len = cache.encode(encode, ["b", "d"], feats2, torch.tensor([60, 120]))
    assert calls == [[90, 60, 75], [120]]
    fresh, fresh_len = encoder(feats2, torch.tensor([60, 120]))[:2]
    assert torch.equal(out_len, fresh_len)
    n = int(out_len[0])
    assert torch.allclose(out[0, :n], fresh[0, :n], atol=1e-5)
    m = int(out_len[1])
    assert out.size(1) == m and torch.allclose(out[1], fresh[1, :m], atol=1e-5)
    assert torch.equal(out[0, :n], first[1, :n])


def test_the_budget_bounds_the_cache_and_counts_the_rest(encoder):
    feats, lengths = batch([90, 60, 75])
    one = encoder(feats[:1], lengths[:1])[0]
    cache = EncoderOutputCache(one.numel() * one.element_size())
    encode = lambda f, n: encoder(f, n)[:2]  # noqa: E731
    cache.encode(encode, ["a", "b", "c"], feats, lengths)
    assert len(cache) == 1 and cache.uncached == 2
    cache.encode(encode, ["a", "b", "c"], feats, lengths)
    assert len(cache) == 1 and cache.uncached == 4


def test_settings_that_change_features_between_epochs_are_refused():
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="train_llm", overrides=["model.freeze_encoder=true"])
    cfg.data.spec_augment.enabled = False
    cfg.data.speed_perturb, cfg.data.dither = [], 0.0
    check_cacheable(cfg)
    cfg.data.spec_augment.enabled = True
    cfg.model.freeze_encoder = False
    with pytest.raises(ValueError, match="spec_augment.enabled=true") as err:
        check_cacheable(cfg)
    assert "freeze_encoder=false" in str(err.value)
