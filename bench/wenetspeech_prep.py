"""Benchmark: streamed WenetSpeech preparation on generated metadata (peak memory and time).

    .venv/bin/python bench/wenetspeech_prep.py [--segments 1000000] [--per_audio 20]

Writes a WenetSpeech-style ``WenetSpeech.json`` with the requested number of segments (all in
subsets L and M, plus DEV/TEST sets), runs ``local/prepare_wenetspeech.py`` on it in a child
process, and prints the child's peak RSS and wall time next to the metadata size. As a
baseline in the same run it prints the peak RSS of ``json.load`` on the same file
(``--skip_baseline`` leaves that out).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def write_metadata(path: Path, n_segments: int, per_audio: int) -> None:
    tags = (["L", "M"], ["L"], ["DEV"], ["TEST_NET"], ["TEST_MEETING"])
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"dataset": "WenetSpeech", "version": "v1.0", "audios": [\n')
        n_audio = (n_segments + per_audio - 1) // per_audio
        for a in range(n_audio):
            aid = f"Y{a:010d}"
            segs = []
            for s in range(min(per_audio, n_segments - a * per_audio)):
                segs.append({"sid": f"{aid}_S{s:05d}", "confidence": 1.0,
                             "begin_time": round(s * 3.2, 2), "end_time": round(s * 3.2 + 3.0, 2),
                             "text": "今天天气不错我们去公园散步吧", "subsets": tags[a % len(tags)]})
            audio = {"aid": aid, "title": "t", "source": "youtube", "path": f"audio/{aid}.opus",
                     "duration": per_audio * 3.2, "segments": segs}
            f.write(("," if a else "") + json.dumps(audio, ensure_ascii=False) + "\n")
        f.write("]}\n")


def child_peak_rss_mb(cmd) -> tuple:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(peak, before) / 1024, wall, proc.stderr


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--segments", type=int, default=1_000_000)
    p.add_argument("--per_audio", type=int, default=20)
    p.add_argument("--skip_baseline", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "WenetSpeech"
        corpus.mkdir()
        meta = corpus / "WenetSpeech.json"
        t0 = time.perf_counter()
        write_metadata(meta, args.segments, args.per_audio)
        print(f"metadata: {args.segments} segments, {meta.stat().st_size / 2**20:.0f} MiB "
              f"(written in {time.perf_counter() - t0:.1f} s)")
        # ru_maxrss of children is a high-water mark over all children: run the streamed
        # preparation first so that the baseline cannot inflate its figure.
        peak, wall, log = child_peak_rss_mb(
            [sys.executable, str(REPO / "local" / "prepare_wenetspeech.py"), "--corpus_dir",
             str(corpus), "--out_dir", str(Path(tmp) / "data"), "--train_subset", "L",
             "--no_check_files"])
        n_train = sum(1 for _ in open(Path(tmp) / "data" / "train_l" / "text", encoding="utf-8"))
        print(f"streamed preparation: peak RSS {peak:.0f} MiB, {wall:.1f} s wall, "
              f"{n_train} train_l segments")
        if not args.skip_baseline:
            base, bwall, _ = child_peak_rss_mb(
                [sys.executable, "-c", f"import json; json.load(open({str(meta)!r}))"])
            print(f"baseline json.load of the same file: peak RSS {base:.0f} MiB, {bwall:.1f} s; "
                  f"ratio {base / peak:.1f}x more memory")
    return 0 if peak < 2048 else 1


if __name__ == "__main__":
    sys.exit(main())
