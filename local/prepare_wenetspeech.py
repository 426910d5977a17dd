#!/usr/bin/env python3
"""WenetSpeech data dirs from the release layout, streaming the metadata.

    local/prepare_wenetspeech.py --corpus_dir WenetSpeech --out_dir data --train_subset L

Reads ``WenetSpeech.json`` (one ``audios`` array: aid, path of the opus file, segments with sid,
begin_time, end_time, text and subsets) and writes segments-based data dirs: train_<s|m|l>,
dev, test_net and test_meeting. The JSON is streamed, so memory does not grow with the corpus;
the per-set files are sorted with ``sort`` on disk. Opus audio is decoded by soundfile (its
bundled libsndfile reads Ogg Opus), so no ffmpeg is needed.
"""
import argparse
import logging
import os
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack

from fireredasr.cli_utils import setup_logging
from fireredasr.data.json_stream import iter_json_array
from fireredasr.data.prep_report import PrepReport
from fireredasr.tokenizer.text_norm import normalize_transcript

TEST_SETS = {"DEV": "dev", "TEST_NET": "test_net", "TEST_MEETING": "test_meeting"}
# Every tag of the release: training subsets S, M, L, the weakly labelled W, and the tests.
KNOWN_TAGS = ("S", "M", "L", "W", *TEST_SETS)
FILES = ("wav.scp", "segments", "text", "utt2spk", "utt2dur")
logger = logging.getLogger("prepare_wenetspeech")


def sort_and_dedupe(path: str) -> int:
    """Sort in place by key (bytes, LC_ALL=C, on disk, stable) and keep the first line of each
    key. Returns how many duplicate lines were dropped."""
    env = dict(os.environ, LC_ALL="C")
    subprocess.run(["sort", "-s", "-k1,1", "-S", "256M", "-o", path, path], check=True, env=env)
    dropped, last = 0, None
    tmp = path + ".tmp"
    with open(path, encoding="utf-8") as fin, open(tmp, "w", encoding="utf-8") as fout:
        for line in fin:
            key = line.split(maxsplit=1)[0]
            if key == last:
                dropped += 1
                continue
            last = key
            fout.write(line)
    os.replace(tmp, path)
    return dropped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus_dir", required=True)
    p.add_argument("--out_dir", required=True)
    p.add_argument("--train_subset", default="L", choices=["S", "M", "L"])
    p.add_argument("--metadata", default=None, help="default: <corpus_dir>/WenetSpeech.json")
    p.add_argument("--no_check_files", action="store_true",
                   help="do not check that each opus file exists (faster on slow storage)")
    args = p.parse_args()
    setup_logging()
    # Absolute audio paths: the data dirs must work from any directory, whatever form of
    # --corpus_dir was given.
    corpus_dir = os.path.abspath(args.corpus_dir)
    meta = args.metadata or os.path.join(corpus_dir, "WenetSpeech.json")
    if not os.path.isfile(meta):
        logger.error("WenetSpeech metadata not found: %s", meta)
        return 1
    sets = {args.train_subset: f"train_{args.train_subset.lower()}", **TEST_SETS}
    reports = {tag: PrepReport(f"wenetspeech {name}") for tag, name in sets.items()}
    tags_seen: Counter = Counter()  # segments per subset tag in the metadata
    try:
        write_sets(args, corpus_dir, meta, sets, reports, tags_seen)
    except (UnicodeDecodeError, ValueError, KeyError) as e:  # malformed metadata
        logger.error("%s: cannot read the metadata: %s: %s", meta, type(e).__name__, e)
        return 1
    return finish_sets(args.out_dir, sets, reports, tags_seen)


def write_sets(args, corpus_dir: str, meta: str, sets, reports, tags_seen: Counter) -> None:
    """Stream the metadata into unsorted per-set files (wav.scp, segments, text, ...)."""
    with ExitStack() as stack:
        out = {}
        for tag, name in sets.items():
            d = os.path.join(args.out_dir, name)
            os.makedirs(d, exist_ok=True)
            out[tag] = {f: stack.enter_context(open(os.path.join(d, f), "w", encoding="utf-8"))
                        for f in FILES}
        with open(meta, encoding="utf-8-sig") as f:  # tolerate a byte-order mark
            for n_audio, audio in enumerate(iter_json_array(f, "audios"), 1):
                aid, path = audio["aid"], os.path.join(corpus_dir, audio["path"])
                exists = args.no_check_files or os.path.isfile(path)
                wrote_reco = set()
                for seg in audio.get("segments", []):
                    tags_seen.update(seg.get("subsets", []))
                    tags = [t for t in seg.get("subsets", []) if t in sets]
                    sid = seg["sid"]
                    for tag in tags:
                        report = reports[tag]
                        text = normalize_transcript(seg.get("text", ""), report.changes)
                        begin, end = float(seg["begin_time"]), float(seg["end_time"])
                        if not exists:
                            report.skip(sid, "audio file missing")
                        elif not text:
                            report.skip(sid, "empty transcript")
                        elif not 0 <= begin < end:
                            report.skip(sid, "bad segment times")
                        else:
                            o = out[tag]
                            if tag not in wrote_reco:
                                o["wav.scp"].write(f"{aid} {path}\n")
                                wrote_reco.add(tag)
                            o["segments"].write(f"{sid} {aid} {begin:.3f} {end:.3f}\n")
                            o["text"].write(f"{sid} {text}\n")
                            o["utt2spk"].write(f"{sid} {sid}\n")
                            o["utt2dur"].write(f"{sid} {end - begin:.3f}\n")
                            report.keep()
                if n_audio % 10000 == 0:
                    logger.info("%d recordings read", n_audio)


def finish_sets(out_dir: str, sets, reports, tags_seen: Counter) -> int:
    """Sort and de-duplicate each set's files, log the reports; 1 when a set is empty."""
    status = 0
    for tag, name in sets.items():
        d = os.path.join(out_dir, name)
        for fname in FILES:
            dropped = sort_and_dedupe(os.path.join(d, fname))
            if fname == "text" and dropped:
                # Segments are written in one order to every file, so all files keep the same line.
                reports[tag].kept -= dropped
                reports[tag].skip(f"{dropped} ids in {d}/text", "duplicate utterance id", dropped)
        # Every utterance is its own speaker, so spk2utt equals utt2spk.
        subprocess.run(["cp", os.path.join(d, "utt2spk"), os.path.join(d, "spk2utt")], check=True)
        reports[tag].log()
        if reports[tag].kept == 0:
            logger.error("%s: no usable segments (subset tags in the metadata: %s)", name,
                         ", ".join(f"{t} ({n} segments)" for t, n in sorted(tags_seen.items()))
                         or "none")
            status = 1
    unknown = sorted(set(tags_seen) - set(KNOWN_TAGS))
    if unknown:
        logger.warning("subset tags this script does not know were left out: %s (known: %s)",
                       ", ".join(f"{t} ({tags_seen[t]} segments)" for t in unknown),
                       ", ".join(KNOWN_TAGS))
    return status


if __name__ == "__main__":
    sys.exit(main())
