"""Stage 12: collect scores into a markdown table (and a bar chart) beside the published ones."""
from __future__ import annotations

import glob
import json
import logging
import os
from collections import OrderedDict
from typing import Dict, List, Optional

logger = logging.getLogger(__name__)

# Column id -> header. Ids are what recipes write as ``test_set`` in wer.json.
COLUMNS = OrderedDict([
    ("aishell1", "aishell1 test"),
    ("aishell2_ios", "aishell2 test_ios"),
    ("aishell2_android", "aishell2 test_android"),
    ("aishell2_mic", "aishell2 test_mic"),
    ("ws_net", "WenetSpeech test_net"),
    ("ws_meeting", "WenetSpeech test_meeting"),
    ("kespeech", "KeSpeech test"),
    ("librispeech_clean", "LibriSpeech test-clean (WER)"),
    ("librispeech_other", "LibriSpeech test-other (WER)"),
])
TABLE_TITLE = "Error rate (%): CER on Chinese sets, WER on English ones"
# The paper's average is over these four sets.
AVERAGE_OVER = ("aishell1", "aishell2_ios", "ws_net", "ws_meeting")
PUBLISHED: Dict[str, Dict[str, float]] = {
    "FireRedASR-AED-L (published)": {"aishell1": 0.55, "aishell2_ios": 2.52, "ws_net": 4.88,
                                     "ws_meeting": 4.76, "kespeech": 4.48,
                                     "librispeech_clean": 1.93, "librispeech_other": 4.44},
    "FireRedASR-LLM-L (published)": {"aishell1": 0.76, "aishell2_ios": 2.15, "ws_net": 4.60,
                                     "ws_meeting": 4.67, "kespeech": 3.56,
                                     "librispeech_clean": 1.73, "librispeech_other": 3.67},
}


def collect_scores(roots: List[str]) -> "OrderedDict[str, Dict[str, dict]]":
    """model -> test_set -> wer.json content, from every ``wer.json`` under ``roots``."""
    rows: "OrderedDict[str, Dict[str, dict]]" = OrderedDict()
    for root in roots:
        for path in sorted(glob.glob(os.path.join(root, "**", "wer.json"), recursive=True)):
            with open(path, encoding="utf-8") as f:
                res = json.load(f)
            model, test_set = res.get("model"), res.get("test_set")
            if not model or not test_set:
                logger.warning("%s lacks model/test_set labels; left out", path)
                continue
            if test_set in rows.setdefault(model, {}):
                logger.warning("%s: a second score for %s/%s; keeping the first", path,
                               model, test_set)
                continue
            rows[model][test_set] = res
    return rows


def _average(values: Dict[str, float]) -> Optional[float]:
    if all(k in values for k in AVERAGE_OVER):
        # The epsilon rounds halves up, as the paper does (3.045 -> 3.05), despite binary floats.
        return sum(values[k] for k in AVERAGE_OVER) / len(AVERAGE_OVER) + 1e-9
    return None


def make_table(scores: "OrderedDict[str, Dict[str, dict]]", published: bool = True) -> str:
    """Markdown: one row per model, one column per test set with a score, plus the average."""
    ours = OrderedDict((m, {t: r["error_rate"] for t, r in sets.items()}) for m, sets in scores.items())
    rows = OrderedDict(ours)
    if published:
        rows.update(PUBLISHED)
    cols = [c for c in COLUMNS if any(c in v for v in rows.values())]
    extra = sorted({c for v in ours.values() for c in v} - set(COLUMNS))
    cols += extra
    header = ["model"] + [COLUMNS.get(c, c) for c in cols] + ["average (4 sets)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, values in rows.items():
        avg = _average(values)
        cells = [f"{values[c]:.2f}" if c in values else "-" for c in cols]
        lines.append("| " + " | ".join([model] + cells + [f"{avg:.2f}" if avg is not None else "-"])
                     + " |")
    text = TABLE_TITLE + "\n\n" + "\n".join(lines) + "\n"
    dialects = [(m, r["groups"]) for m, sets in scores.items()
                for t, r in sets.items() if t == "kespeech" and r.get("groups")]
    if dialects:
        names = sorted({g for _, groups in dialects for g in groups})
        text += "\nKeSpeech test by sub-dialect, CER (%)\n\n"
        text += "| model | " + " | ".join(names) + " |\n|" + "---|" * (len(names) + 1) + "\n"
        for model, groups in dialects:
            text += "| " + model + " | " + " | ".join(
                f"{groups[n]['error_rate']:.2f}" if n in groups else "-" for n in names) + " |\n"
    return text


def plot_table(scores: "OrderedDict[str, Dict[str, dict]]", path: str,
               published: bool = True) -> None:
    """Grouped bar chart of the same numbers (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = OrderedDict((m, {t: r["error_rate"] for t, r in s.items()}) for m, s in scores.items())
    if published:
        rows.update(PUBLISHED)
    cols = [c for c in list(COLUMNS) + sorted({c for v in rows.values() for c in v} - set(COLUMNS))
            if any(c in v for v in rows.values())]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(cols)), 4))
    width = 0.8 / max(len(rows), 1)
    for i, (model, values) in enumerate(rows.items()):
        xs = [j + i * width for j, c in enumerate(cols) if c in values]
        ax.bar(xs, [values[c] for c in cols if c in values], width, label=model)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cols))])
    ax.set_xticklabels([COLUMNS.get(c, c) for c in cols], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("error rate (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
