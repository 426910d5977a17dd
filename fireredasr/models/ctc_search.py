"""CTC decoding for AED models with a CTC head (FireRedASR2, or trained with ``ctc_weight``).

Three modes, with WeNet's semantics:

- :func:`ctc_greedy_search`: best label per frame, repeats merged, blanks removed;
- :func:`ctc_prefix_beam_search`: prefix beam search over the CTC posteriors, each prefix
  scored by the total probability of every alignment that collapses to it;
- :func:`attention_rescoring`: the prefix-beam n-best rescored by the attention decoder
  (teacher-forced, one batched forward pass), ``att + ctc_weight * ctc``.

All of them cost one encoder pass plus, for rescoring, one decoder pass: much less than the
step-by-step attention beam search.
"""
from __future__ import annotations

import heapq
import math
from operator import itemgetter
from typing import Dict, List, Tuple

import torch

from fireredasr.models.beam_search import Hypothesis
from fireredasr.models.ctc import CTC_BLANK_ID

NEG_INF = -float("inf")


def _logaddexp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), -inf when both are. The search calls it ~2 x beam^2 times a
    frame, so it takes two plain floats."""
    if a == NEG_INF:   # most sums have one empty side: a prefix's new mass ends in a token
        return b
    if b == NEG_INF:
        return a
    m = a if a > b else b
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def ctc_greedy_search(log_probs: torch.Tensor, lengths: torch.Tensor) -> List[List[Hypothesis]]:
    """log_probs (N, T, V), lengths (N,) -> one 1-best list per utterance; the score is the
    best path's log-probability."""
    best_scores, best = log_probs.max(dim=-1)
    results: List[List[Hypothesis]] = []
    for i in range(log_probs.size(0)):
        n = int(lengths[i])
        path = best[i, :n]
        keep = torch.ones_like(path, dtype=torch.bool)
        keep[1:] = path[1:] != path[:-1]
        tokens = path[keep & (path != CTC_BLANK_ID)]
        results.append([Hypothesis(tokens.cpu(), float(best_scores[i, :n].sum()))])
    return results


def _accumulate(nxt: Dict[Tuple[int, ...], List[float]], prefix: Tuple[int, ...], slot: int,
                score: float) -> None:
    """Add alignment mass ``score`` to ``nxt[prefix][slot]`` (0: ends in blank, 1: in the
    prefix's last token), creating the entry on its first finite mass."""
    if score == NEG_INF:
        return  # no alignment reaches it (e.g. a repeat without a blank)
    masses = nxt.get(prefix)
    if masses is None:
        masses = nxt[prefix] = [NEG_INF, NEG_INF]
        masses[slot] = score
    else:
        masses[slot] = _logaddexp(masses[slot], score)


def ctc_prefix_beam_search(log_probs: torch.Tensor, length: int, beam_size: int
                           ) -> List[Tuple[Tuple[int, ...], float]]:
    """Prefix beam search over one utterance's (T, V) CTC log-probs, cut to ``length``.

    Keeps the ``beam_size`` best prefixes after every frame, each with the log-probabilities of
    its alignments ending in blank (pb) and in its last token (pnb); only the ``beam_size``
    most likely tokens of a frame are expanded. Returns up to ``beam_size`` (prefix, log-prob)
    pairs, best first. With a beam as large as the number of prefixes it is exact.
    Pure Python, ~2 x beam^2 log-adds a frame: bench/ctc_prefix_beam.py times it.
    """
    lp = log_probs[:length].float().cpu()
    k = min(beam_size, lp.size(1))
    top_scores, top_ids = lp.topk(k, dim=-1)   # every frame's candidates in one call
    beam: List[Tuple[Tuple[int, ...], float, float, float]] = [((), 0.0, NEG_INF, 0.0)]
    for frame_scores, frame_ids in zip(top_scores.tolist(), top_ids.tolist()):
        nxt: Dict[Tuple[int, ...], List[float]] = {}   # prefix -> [pb, pnb]
        for token, p in zip(frame_ids, frame_scores):
            for prefix, pb, pnb, total in beam:
                if token == CTC_BLANK_ID:
                    _accumulate(nxt, prefix, 0, total + p)
                elif prefix and token == prefix[-1]:
                    _accumulate(nxt, prefix, 1, pnb + p)             # repeat merged into it
                    _accumulate(nxt, prefix + (token,), 1, pb + p)   # a blank separated them
                else:
                    _accumulate(nxt, prefix + (token,), 1, total + p)
        scored = [(prefix, pb, pnb, _logaddexp(pb, pnb)) for prefix, (pb, pnb) in nxt.items()]
        beam = heapq.nlargest(beam_size, scored, key=itemgetter(3))   # stable, like sorted()
    return [(prefix, total) for prefix, _, _, total in beam]


def batch_ctc_prefix_beam_search(log_probs: torch.Tensor, lengths: torch.Tensor,
                                 beam_size: int, nbest: int) -> List[List[Hypothesis]]:
    """:func:`ctc_prefix_beam_search` over a batch: one n-best list per utterance."""
    results: List[List[Hypothesis]] = []
    for i in range(log_probs.size(0)):
        hyps = ctc_prefix_beam_search(log_probs[i], int(lengths[i]), beam_size)[:nbest]
        results.append([Hypothesis(torch.tensor(p, dtype=torch.long), s)
                         for p, s in hyps])
    return results


@torch.no_grad()
def attention_rescoring(decoder: torch.nn.Module, enc: torch.Tensor, enc_mask: torch.Tensor,
                        log_probs: torch.Tensor, lengths: torch.Tensor, beam_size: int,
                        nbest: int, ctc_weight: float) -> List[List[Hypothesis]]:
    """Rescore each utterance's CTC prefix-beam n-best with the attention decoder.

    The decoder scores a hypothesis by the sum of its tokens' log-probs and that of ``<eos>``
    after them (teacher forcing); the final score is ``att + ctc_weight * ctc``.
    """
    results: List[List[Hypothesis]] = []
    for i in range(enc.size(0)):
        cands = ctc_prefix_beam_search(log_probs[i], int(lengths[i]), beam_size)
        n = len(cands)
        longest = max(len(p) for p, _ in cands)
        ys_in = torch.full((n, longest + 1), decoder.pad_id, dtype=torch.long,
                           device=enc.device)
        ys_out = torch.full((n, longest + 1), decoder.pad_id, dtype=torch.long,
                            device=enc.device)
        for j, (prefix, _) in enumerate(cands):
            ys_in[j, :len(prefix) + 1] = torch.tensor((decoder.sos_id,) + prefix)
            ys_out[j, :len(prefix) + 1] = torch.tensor(prefix + (decoder.eos_id,))
        logits = decoder(ys_in, enc[i:i + 1].expand(n, -1, -1), enc_mask[i:i + 1].expand(n, -1))
        token_lp = logits.float().log_softmax(-1).gather(-1, ys_out.clamp(min=0)[..., None])[..., 0]
        valid = torch.arange(longest + 1, device=enc.device)[None] <= \
            torch.tensor([len(p) for p, _ in cands], device=enc.device)[:, None]
        att = (token_lp * valid).sum(-1).tolist()
        scored = sorted(((a + ctc_weight * c, p) for a, (p, c) in zip(att, cands)),
                        key=lambda x: -x[0])[:nbest]
        results.append([Hypothesis(torch.tensor(p, dtype=torch.long), s)
                        for s, p in scored])
    return results


def add_confidence(hyps: List[List[Hypothesis]], lengths: torch.Tensor) -> None:
    """Give CTC-mode hypotheses a confidence in (0, 1]: the per-frame geometric mean of the
    probability behind their score (there is no per-token choice score to average, as the
    attention search has)."""
    for nbest, n in zip(hyps, lengths.tolist()):
        for h in nbest:
            h.confidence = math.exp(min(0.0, h.score) / max(int(n), 1))
