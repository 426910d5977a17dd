"""CTC forced alignment of a hypothesis: token start/end times, as the released v2 code reads
them off the frame labels (40 ms frames), with overlong tokens shortened."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torchaudio.functional as AF

from fireredasr.models.ctc import CTC_BLANK_ID

FRAME_S = 0.04             # 10 ms fbank shift x 4 subsampling
LAST_END_EXTRA_MS = 25     # the last token ends at 40*T + 25 ms (the final 25 ms window)
LONG_TOKEN_FACTOR = 2.0    # tokens longer than this times the mean are cut ...
LONG_TOKEN_CAP = 1.5       # ... to this times the mean (or their CTC frames, if longer)


def ctc_token_times(log_probs: torch.Tensor, token_ids: Sequence[int]
                    ) -> Optional[Tuple[List[float], List[float]]]:
    """Start and end times (seconds) of each non-blank token of ``token_ids``.

    ``log_probs`` (T, V) are the CTC head's log-probs of one utterance, cut to its encoder
    length. Returns None when no alignment exists (empty hypothesis, more tokens than frames),
    and the caller falls back to equal slots (``decode/timestamps.uniform_times``).
    """
    y = [int(t) for t in token_ids if int(t) != CTC_BLANK_ID]
    t_frames = log_probs.size(0)
    if not y or len(y) > t_frames:
        return None
    try:
        labels, _ = AF.forced_align(log_probs[None].float().cpu(),
                                    torch.tensor([y], dtype=torch.int32), blank=CTC_BLANK_ID)
    except RuntimeError:
        return None
    starts: List[float] = []
    ctc_durs: List[float] = []
    prev = CTC_BLANK_ID
    for i, label in enumerate(labels[0].tolist()):
        if label != CTC_BLANK_ID:
            if label != prev:
                starts.append((i + 1) * FRAME_S)
                ctc_durs.append(FRAME_S)
            else:
                ctc_durs[-1] += FRAME_S
        prev = label
    ends = starts[1:] + [(40 * t_frames + LAST_END_EXTRA_MS) / 1000]
    mean = sum(e - s for s, e in zip(starts, ends)) / len(starts)
    for k, (s, e) in enumerate(zip(starts, ends)):
        if e - s > LONG_TOKEN_FACTOR * mean:
            ends[k] = s + max(LONG_TOKEN_CAP * mean, ctc_durs[k])
    return starts, [round(e, 3) for e in ends]
