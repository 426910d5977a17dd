"""CTC prefix scores for joint CTC/attention beam search (Watanabe et al., 2017; ESPnet's
``CTCPrefixScorer``), batched over the search's rows.

Attention rescoring (``ctc_search.attention_rescoring``) lets the decoder choose only among the
CTC prefix beam's n-best, so a word the CTC beam dropped can never come back. Joint decoding
runs the attention beam search instead and adds, at every step, ``ctc_weight x`` the change in
the CTC *prefix probability* (the total probability of all alignments whose labels start with
the prefix) that each candidate token brings. The decoder proposes, CTC vetoes what the audio
does not support, for example a hypothesis that ends too early or repeats itself.

Only the ``pre_beam`` best tokens of each row (by the attention score) are scored, as ESPnet's
partial scoring does; the others get :data:`NO_SCORE`. Each step costs one pass over the
frames on a (frames, rows, pre_beam) tensor.
"""
from __future__ import annotations

import torch

from fireredasr.models.ctc import CTC_BLANK_ID

NO_SCORE = -1e10   # tokens left out of a row's pre-beam (finite: no inf - inf in the search)


class CtcPrefixScorer:
    """The CTC side of joint decoding for ``rows = N x beam_size`` search rows.

    Each row keeps, for its current prefix g and every frame t, the log-probability of the
    alignments of frames 0..t that collapse to g and end in a label (``r[t, row, 0]``) or in a
    blank (``r[t, row, 1]``), and the prefix's log prefix-probability ``psi``.
    """

    def __init__(self, log_probs: torch.Tensor, lengths: torch.Tensor, beam_size: int,
                 eos_id: int, weight: float, pre_beam: int):
        """log_probs (N, T, V) from the CTC head, lengths (N,) valid frames of each."""
        n, frames, vocab = log_probs.shape
        self.weight, self.eos_id = weight, eos_id
        self.pre_beam = min(pre_beam, vocab)
        device = log_probs.device
        # (T, N, V): frames first, so the recursion indexes one frame at a time; rows read
        # their utterance's posteriors through utt_of_row (no beam_size copies of a large V).
        self.x = log_probs.float().transpose(0, 1)
        self.utt_of_row = torch.arange(n, device=device).repeat_interleave(beam_size)
        self.x_blank = self.x[:, self.utt_of_row, CTC_BLANK_ID]              # (T, rows)
        rows = self.utt_of_row.numel()
        self.last_frame = (lengths.to(device).long().clamp(min=1) - 1).repeat_interleave(beam_size)
        frame_ids = torch.arange(frames, device=device)[:, None]
        self.beyond = frame_ids > self.last_frame[None]      # (T, rows): padding frames
        # The empty prefix: only blanks so far.
        self.r = torch.full((frames, rows, 2), NO_SCORE, device=device)
        self.r[:, :, 1] = torch.cumsum(self.x_blank, dim=0)
        self.psi = torch.zeros(rows, device=device)
        self.empty = torch.ones(rows, dtype=torch.bool, device=device)
        self._cand = self._cand_r = self._cand_psi = None

    def scores(self, last_tokens: torch.Tensor, att_scores: torch.Tensor) -> torch.Tensor:
        """``weight x`` (psi(prefix + c) - psi(prefix)) for each row's ``pre_beam`` best tokens
        c by ``att_scores`` (rows, V); :data:`NO_SCORE` for the other tokens."""
        cand = att_scores.topk(self.pre_beam, dim=1).indices               # (rows, K)
        frames = self.x.size(0)
        xc = self.x[:, self.utt_of_row[:, None], cand]                      # (T, rows, K)
        r_prev = torch.logaddexp(self.r[:, :, 0], self.r[:, :, 1])          # (T, rows)
        # phi: mass a new label c can follow. After the same label, only the alignments that
        # end in a blank count (otherwise c would merge into the repeat).
        repeat = (cand == last_tokens[:, None]) & ~self.empty[:, None]      # (rows, K)
        phi = torch.where(repeat[None], self.r[:, :, 1:2], r_prev[:, :, None])
        r_new = torch.full((*xc.shape, 2), NO_SCORE, device=self.x.device)
        r_new[0, :, :, 0] = torch.where(self.empty[:, None], xc[0], NO_SCORE)
        for t in range(1, frames):
            r_new[t, :, :, 0] = torch.logaddexp(r_new[t - 1, :, :, 0], phi[t - 1]) + xc[t]
            r_new[t, :, :, 1] = (torch.logaddexp(r_new[t - 1, :, :, 0], r_new[t - 1, :, :, 1])
                                 + self.x_blank[t, :, None])
        # psi(prefix + c): the label c starts at some frame t within the utterance.
        starts = torch.cat((r_new[:1, :, :, 0], phi[:-1] + xc[1:]), dim=0)
        starts = starts.masked_fill(self.beyond[:, :, None], NO_SCORE)
        psi = torch.logsumexp(starts, dim=0)                                # (rows, K)
        # <eos>: the prefix is complete, with every alignment over all the frames.
        psi_eos = r_prev.gather(0, self.last_frame[None])[0]
        psi = torch.where(cand == self.eos_id, psi_eos[:, None], psi)
        self._cand, self._cand_r, self._cand_psi = cand, r_new, psi
        delta = (psi - self.psi[:, None]) * self.weight
        delta = delta.masked_fill(cand == CTC_BLANK_ID, NO_SCORE)   # blank is never a label
        return torch.full_like(att_scores, NO_SCORE).scatter_(1, cand, delta)

    def reorder(self, src_rows: torch.Tensor, new_tokens: torch.Tensor) -> None:
        """Each row now holds ``src_rows``' prefix plus its ``new_tokens`` (rows,)."""
        match = self._cand[src_rows] == new_tokens[:, None]
        # A finished row continues with <eos> whether or not it was a candidate: its state
        # no longer matters, any candidate's will do.
        k = match.float().argmax(dim=1)
        self.r = self._cand_r[:, src_rows, k]
        self.psi = self._cand_psi[src_rows, k]
        self.empty = torch.zeros_like(self.empty)
