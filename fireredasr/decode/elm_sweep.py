"""Choose the external-LM fusion weight on a development set (FireRedASR2 shallow fusion).

Each weight decodes the set once (weight 0: no LM, the baseline the LM must beat); the weight
with the lowest error rate wins, ties going to the smaller weight.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, List, Mapping, Sequence, Tuple, Union

from fireredasr.data.kaldi_dir import DataDir, read_map
from fireredasr.decode.decode_data_dir import decode_data_dir
from fireredasr.decode.options import AedDecodeOptions, decode_options
from fireredasr.scoring.cer import score

logger = logging.getLogger(__name__)


def sweep_elm_weight(model_dir: str, elm_dir: str, data_dir: str, out_dir: str,
                     weights: Sequence[float],
                     options: Union[None, Mapping[str, Any], AedDecodeOptions] = None,
                     batch_size: int = 8, nj: int = 1, ngpu: int = 0
                     ) -> Tuple[float, List[Tuple[float, float]]]:
    """Decode ``data_dir`` once per weight; returns (best weight, [(weight, error rate)]).
    ``options`` (an options object, or a released ``args`` dict over the paper's settings) is
    the search every decode uses; the sweep sets only the LM and its weight.
    Writes ``elm_weight_sweep.tsv`` and ``best_elm_weight`` into ``out_dir``."""
    refs = DataDir.load(data_dir).text
    base = decode_options("aed", options, base=AedDecodeOptions.paper())
    # Every weight's options are built (and so checked) before the first decode.
    runs = [(w, dataclasses.replace(base, elm_dir=elm_dir if w > 0 else "", elm_weight=w))
            for w in sorted({0.0, *map(float, weights)})]
    table: List[Tuple[float, float]] = []
    for w, settings in runs:
        sub = os.path.join(out_dir, f"elm{w:g}")
        decode_data_dir(model_dir, data_dir, sub, "aed", settings, batch_size, nj, ngpu)
        summary, _ = score(refs, read_map(os.path.join(sub, "hyp")))
        table.append((w, summary.error_rate))
        logger.info("elm_weight %g: %s %.2f%%", w, summary.metric, summary.error_rate)
    best = min(table, key=lambda x: (round(x[1], 6), x[0]))[0]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "elm_weight_sweep.tsv"), "w", encoding="utf-8") as f:
        f.write("elm_weight\terror_rate\n")
        f.writelines(f"{w:g}\t{e:.2f}\n" for w, e in table)
    with open(os.path.join(out_dir, "best_elm_weight"), "w", encoding="utf-8") as f:
        f.write(f"{best:g}\n")
    logger.info("best elm_weight on %s: %g", data_dir, best)
    return best, table
