"""Token timestamps of FireRedASR2: CTC forced alignment of the attention hypothesis.

Two steps, as the released v2 code does them:

1. ``models/ctc_alignment.ctc_token_times`` aligns the hypothesis to the CTC head's log-probs
   and reads token start/end times off the frame labels (40 ms frames), with long tokens
   shortened (the model does this step, beside its search).
2. :func:`fix_timestamps` shifts them by :data:`TIMESTAMP_SHIFT_S`, keeps them inside the audio and
   monotonic, rounds to milliseconds, and merges English BPE pieces into words.
"""
from __future__ import annotations

import re
from typing import List, Sequence, Tuple

from fireredasr.tokenizer.aed_tokenizer import SPM_SPACE

TIMESTAMP_SHIFT_S = 0.06   # CTC spikes come late; the released code shifts by 60 ms

Timestamp = Tuple[str, float, float]  # (token, start seconds, end seconds)


def uniform_times(n_tokens: int, dur: float) -> Tuple[List[float], List[float]]:
    """Equal slots over the audio, when no CTC alignment is available."""
    slot = dur / max(n_tokens, 1)
    return [k * slot for k in range(n_tokens)], [(k + 1) * slot for k in range(n_tokens)]


def fix_timestamps(tokens: Sequence[str], starts: Sequence[float], ends: Sequence[float],
                   dur: float) -> List[Timestamp]:
    """The released post-processing of CTC times into ``(token, start, end)`` tuples.

    Shift by 60 ms; a start never lies after the previous token's end (the audio's end for
    the first token) and never before 0; an end lies within [0, dur]; round to milliseconds;
    then nudge starts/ends that sit on the very end of the audio 1 ms apart, from the last
    token backwards. Tokens are lower-cased and English BPE pieces merged into words.
    """
    fixed_starts: List[float] = []
    fixed_ends: List[float] = []
    prev_end = dur
    for s, e in zip(starts, ends):
        s = round(min(max(0, s - TIMESTAMP_SHIFT_S), prev_end), 3)
        e = round(min(max(0, e - TIMESTAMP_SHIFT_S), dur), 3)
        fixed_starts.append(s)
        fixed_ends.append(e)
        prev_end = e
    n = len(fixed_starts)
    for i in range(n):  # i = 0 is the last token
        k = n - 1 - i
        if abs(dur - fixed_starts[k]) < 1e-3:
            fixed_starts[k] = dur - (i + 1) * 0.001
        if i > 0 and abs(dur - fixed_ends[k]) < 1e-3:
            fixed_ends[k] = dur - i * 0.001
    return merge_bpe_timestamps([(t.lower(), s, e) for t, s, e in
                                 zip(tokens, fixed_starts, fixed_ends)])


_BPE_CONTINUATION = re.compile(r"[a-zA-Z']+")


def merge_bpe_timestamps(stamps: Sequence[Timestamp]) -> List[Timestamp]:
    """Glue each word-initial BPE piece (``▁...``) with the letter-only pieces that follow it:
    one timestamp per English word, from its first piece's start to its last piece's end."""
    out: List[Timestamp] = []
    in_word = False
    for token, start, end in stamps:
        if in_word and _BPE_CONTINUATION.fullmatch(token):
            word, word_start, _ = out[-1]
            out[-1] = (word + token, word_start, end)
            continue
        in_word = token.startswith(SPM_SPACE)
        out.append((token, start, end))
    return out
