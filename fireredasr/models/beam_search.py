"""Batch beam search for FireRedASR-AED with the released semantics.

The search itself (:func:`run_search`: scoring, pruning, finished hypotheses, length penalty)
is shared by its drivers: :func:`batch_beam_search` uses the decoder's incremental key/value
caches, ``bench/released_search.py`` re-runs every layer over all earlier steps as the
released code does (a speed baseline for the bench), and the ONNX runtime (``fireredasr/deploy/onnx_model.py``) steps an exported decoder graph. It lives beside
the model it drives; ``decode/`` (the API, data-dir decoding) calls it through the model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F

from fireredasr.models.ctc_prefix_score import CtcPrefixScorer
from fireredasr.models.lstm_lm import ELM_EOS_ID, ELM_SOS_ID
from fireredasr.models.transformer_decoder import DecoderState, TransformerDecoder

logger = logging.getLogger(__name__)

INF = 1e10


DECODE_MODES = ("attention", "joint_ctc_attention", "ctc_greedy", "ctc_prefix_beam",
                "attention_rescoring")
# The modes the attention beam search below runs (the others: fireredasr/models/ctc_search.py).
ATTENTION_SEARCH_MODES = ("attention", "joint_ctc_attention")


@dataclass(frozen=True)
class BeamSearchConfig:
    """Decoding options, named as in the released ``speech2text.py``."""

    beam_size: int = 1
    nbest: int = 1
    decode_max_len: int = 0  # 0: the padded encoder length of the batch
    softmax_smoothing: float = 1.0
    length_penalty: float = 0.0
    eos_penalty: float = 1.0
    elm_weight: float = 0.0  # shallow-fusion weight of an external LM (FireRedASR2)
    # attention (the released search) | joint_ctc_attention | ctc_greedy | ctc_prefix_beam |
    # attention_rescoring; all but the first need a CTC head.
    decode_mode: str = "attention"
    # attention_rescoring: att + this * ctc; joint_ctc_attention: the same at every step
    rescoring_ctc_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.decode_mode not in DECODE_MODES:
            raise ValueError(f"decode_mode must be one of {', '.join(DECODE_MODES)}, "
                             f"got {self.decode_mode!r}")
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        if not 1 <= self.nbest <= self.beam_size:
            raise ValueError(f"nbest must be in [1, beam_size={self.beam_size}], got {self.nbest}")
        # v1 asserted eos_penalty <= 1; FireRedASR2 allows larger values.
        if self.eos_penalty <= 0.0:
            raise ValueError(f"eos_penalty must be > 0, got {self.eos_penalty}")
        if self.elm_weight < 0.0:
            raise ValueError(f"elm_weight must be >= 0, got {self.elm_weight}")
        if self.softmax_smoothing <= 0.0:
            raise ValueError(f"softmax_smoothing must be > 0, got {self.softmax_smoothing}")


@dataclass
class Hypothesis:
    """One entry of an n-best list."""

    yseq: torch.Tensor   # token ids, LongTensor on the CPU, without <sos>/<eos>
    score: float         # the search's total log-probability (length penalty included)
    confidence: float = 0.0   # mean per-token probability, in [0, 1]
    # (starts, ends) in seconds from the CTC alignment (with timestamps asked for); None when
    # no alignment exists
    ctc_times: Optional[Tuple[List[float], List[float]]] = None

# joint_ctc_attention scores this many times beam_size tokens of each row with CTC (ESPnet's
# partial scoring).
JOINT_PRE_BEAM = 1.5

# FireRedASR2 multiplies the external LM's eos score by this before fusion.
ELM_EOS_SCALE = 3.0


class LmFusion:
    """Shallow fusion with an LSTM LM whose state is carried per beam row, one step at a time
    (never re-run over the prefix). Released v2 semantics: the LM reads the token each row chose
    at the previous step (``<sos>`` first), starts from a zero state, and is reordered with the
    beams; its eos column counts :data:`ELM_EOS_SCALE` times."""

    def __init__(self, lm: torch.nn.Module, weight: float, rows: int, eos_id: int,
                 device: torch.device):
        self.lm, self.weight, self.eos_id = lm, weight, eos_id
        self.state = lm.zero_state(rows, device)

    def scores(self, last_tokens: torch.Tensor, finished: torch.Tensor) -> torch.Tensor:
        """(rows,) tokens -> weighted LM log-probs (rows, V), zero for finished rows."""
        lm_scores, self.state = self.lm.step(last_tokens, self.state)
        lm_scores = lm_scores.masked_fill(finished, 0.0)
        lm_scores[:, self.eos_id] *= ELM_EOS_SCALE
        return self.weight * lm_scores

    def reorder(self, rows: torch.Tensor) -> None:
        self.state = tuple(s[:, rows] for s in self.state)


def run_search(step: Callable[[torch.Tensor], torch.Tensor],
            reorder: Callable[[torch.Tensor], None],
            max_lens: torch.Tensor, sos_id: int, eos_id: int, cfg: BeamSearchConfig,
            device: torch.device, fusion: Optional[LmFusion] = None,
            ctc: Optional[CtcPrefixScorer] = None) -> List[List[Hypothesis]]:
    """Run the released beam search given ``step(last_tokens) -> logits`` and ``reorder(rows)``.

    With ``ctc`` (joint CTC/attention decoding) each row's best tokens also get their
    weighted CTC prefix scores, and only those tokens can extend it.

    ``max_lens`` (n,) is each utterance's own step limit. Once an utterance reaches it, its
    hypotheses are treated as finished (they continue only with eos at no cost), so its
    result is the one a search over that utterance alone gives, whatever else is in the
    batch.

    Each hypothesis carries FireRedASR2's confidence: the mean over its output tokens of
    exp(the score its token was chosen with), that score including smoothing, LM fusion and
    the eos penalty.
    """
    n = max_lens.numel()
    max_len = int(max_lens.max())
    B = cfg.beam_size
    rows = n * B
    row_limit = max_lens.to(device).repeat_interleave(B).view(rows, 1)
    ys = torch.full((rows, 1), sos_id, dtype=torch.long, device=device)
    scores = torch.tensor([0.0] + [-INF] * (B - 1), device=device).repeat(n).view(rows, 1)
    finished = torch.zeros(rows, 1, dtype=torch.bool, device=device)
    # A finished hypothesis continues only with eos at no cost.
    finished_scores = torch.tensor([0.0] + [-INF] * (B - 1), device=device).view(1, B)
    utt_offset = (B * torch.arange(n, device=device)).repeat_interleave(B)
    chosen = torch.zeros(rows, 0, device=device)  # per-token scores along each beam's history

    for t in range(max_len):
        logits = step(ys[:, -1]).float()
        t_scores = F.log_softmax(logits / cfg.softmax_smoothing, dim=-1)
        if fusion is not None:
            t_scores = t_scores + fusion.scores(ys[:, -1], finished)
        if cfg.eos_penalty != 1.0:
            t_scores[:, eos_id] *= cfg.eos_penalty
        if ctc is not None:
            t_scores = t_scores + ctc.scores(ys[:, -1], t_scores)
        top_scores, top_ys = torch.topk(t_scores, k=B, dim=1)
        top_scores = torch.where(finished, finished_scores, top_scores)
        top_ys = top_ys.masked_fill(finished, eos_id)

        scores, best = torch.topk((scores + top_scores).view(n, B * B), k=B, dim=1)
        scores = scores.view(rows, 1)
        src_rows = torch.div(best, B, rounding_mode="floor").view(rows) + utt_offset
        new_tokens = torch.gather(top_ys.view(n, B * B), 1, best).view(rows, 1)
        new_scores = torch.gather(top_scores.view(n, B * B), 1, best).view(rows, 1)
        ys = torch.cat((ys[src_rows], new_tokens), dim=1)
        chosen = torch.cat((chosen[src_rows], new_scores), dim=1)
        reorder(src_rows)
        if fusion is not None:
            fusion.reorder(src_rows)
        if ctc is not None:
            ctc.reorder(src_rows, new_tokens.view(rows))
        finished = (new_tokens == eos_id) | (row_limit <= t + 1)
        if bool(finished.all()):
            break

    return _nbest(ys.view(n, B, -1), scores.view(n, B), chosen.view(n, B, -1), eos_id, cfg)


def _nbest(ys: torch.Tensor, scores: torch.Tensor, chosen: torch.Tensor, eos_id: int,
           cfg: BeamSearchConfig) -> List[List[Hypothesis]]:
    """The final beams (n, B, L) -> n-best lists, after the GNMT length penalty (lengths count
    every token that is not eos, sos included), each with its confidence."""
    lengths = (ys != eos_id).sum(dim=-1)
    if cfg.length_penalty > 0.0:
        scores = scores / torch.pow((5.0 + lengths.float()) / 6.0, cfg.length_penalty)
    nbest_scores, nbest_ids = torch.topk(scores, k=cfg.nbest, dim=1)
    results: List[List[Hypothesis]] = []
    for i in range(ys.size(0)):
        hyps = []
        for score, j in zip(nbest_scores[i].tolist(), nbest_ids[i].tolist()):
            n_out = int(lengths[i, j]) - 1  # output tokens: not <sos>, not the final <eos>
            # An empty hypothesis has no tokens to be confident about (the released code
            # divides by zero there); it gets 0.
            conf = float(chosen[i, j, :n_out].exp().mean()) if n_out > 0 else 0.0
            hyps.append(Hypothesis(ys[i, j, 1: n_out + 1].cpu(), score, conf))
        results.append(hyps)
    return results


def resolve_max_lens(cfg: BeamSearchConfig, enc_mask: torch.Tensor,
                     max_positions: int) -> torch.Tensor:
    """Each utterance's step limit: decode_max_len, or when 0 its own encoder length (what
    the released code uses for an utterance decoded alone), capped at the decoder's
    ``max_positions``."""
    if cfg.decode_max_len > 0:
        max_lens = torch.full((enc_mask.size(0),), cfg.decode_max_len, dtype=torch.long)
    else:
        max_lens = enc_mask.sum(dim=1).long().cpu()
    max_lens = max_lens.clamp(min=1)
    if int(max_lens.max()) > max_positions:
        logger.warning("decode length %d capped at the decoder's %d positions",
                       int(max_lens.max()), max_positions)
        max_lens = max_lens.clamp(max=max_positions)
    return max_lens


def check_elm_fits(elm: torch.nn.Module, decoder: TransformerDecoder) -> None:
    """Raise ValueError unless the LM's scores can be added column by column to the decoder's."""
    if elm.vocab_size != decoder.tgt_word_prj.out_features:
        raise ValueError(f"the external LM has {elm.vocab_size} tokens but the AED has "
                         f"{decoder.tgt_word_prj.out_features}; they must share dict.txt")
    if (decoder.sos_id, decoder.eos_id) != (ELM_SOS_ID, ELM_EOS_ID):
        raise ValueError(f"the external LM fixes <sos>/<eos> at {ELM_SOS_ID}/{ELM_EOS_ID} but "
                         f"the AED uses {decoder.sos_id}/{decoder.eos_id}")


@torch.no_grad()
def batch_beam_search(decoder: TransformerDecoder, enc: torch.Tensor, enc_mask: torch.Tensor,
                      cfg: BeamSearchConfig, elm: Optional[torch.nn.Module] = None,
                      ctc_log_probs: Optional[torch.Tensor] = None) -> List[List[Hypothesis]]:
    """Cached batch beam search. enc: (N, T, d); enc_mask: (N, T) bool. Returns N n-best lists.
    With ``elm`` (an :class:`~fireredasr.models.lstm_lm.LstmLm`) and ``cfg.elm_weight`` > 0
    its scores are fused in at every step. ``cfg.decode_mode`` joint_ctc_attention adds the
    CTC prefix scores of ``ctc_log_probs`` (N, T, V), ``cfg.rescoring_ctc_weight`` times."""
    max_lens = resolve_max_lens(cfg, enc_mask, decoder.max_positions)
    state: DecoderState = decoder.init_state(enc, enc_mask, cfg.beam_size, int(max_lens.max()))
    fusion = None
    if elm is not None and cfg.elm_weight > 0.0:
        check_elm_fits(elm, decoder)
        fusion = LmFusion(elm, cfg.elm_weight, enc.size(0) * cfg.beam_size, decoder.eos_id,
                          enc.device)
    ctc = None
    if cfg.decode_mode == "joint_ctc_attention":
        if ctc_log_probs is None:
            raise ValueError("joint_ctc_attention needs the CTC head's log-probabilities")
        ctc = CtcPrefixScorer(ctc_log_probs, enc_mask.sum(dim=1), cfg.beam_size,
                              decoder.eos_id, cfg.rescoring_ctc_weight,
                              pre_beam=max(cfg.beam_size, int(JOINT_PRE_BEAM * cfg.beam_size)))
    return run_search(lambda tok: decoder.step(state, tok), state.reorder, max_lens,
                   decoder.sos_id, decoder.eos_id, cfg, enc.device, fusion, ctc)
