"""Kaldi data directories: read, write, validate, fix, subset, combine, split, speed-perturb.

A data dir holds ``wav.scp``, ``text``, ``utt2spk`` and ``spk2utt``, and optionally
``segments`` (then wav.scp is keyed by recording), ``utt2dur``, ``utt2num_frames``,
``feats.scp`` and any other ``utt2*`` map (``utt2subdialect`` for KeSpeech). Every file is
sorted by key (``LC_ALL=C`` byte order, which Python's ``sorted`` on str reproduces for
UTF-8). Operations that drop utterances log how many and why; nothing disappears silently.
"""
from __future__ import annotations

import logging
import os
import random
import shlex
import sys
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from fireredasr.data.audio import AudioSource
from fireredasr.data.text_lines import iter_lines, split_key

logger = logging.getLogger(__name__)

# Files whose first column is the utterance id.
UTT_FILES = ("text", "utt2spk", "utt2dur", "utt2num_frames", "feats.scp", "segments")


def read_map(path: str) -> "OrderedDict[str, str]":
    """``key value...`` lines -> ordered dict. A duplicate key or a line that is not UTF-8
    raises ValueError naming the file and line; a byte-order mark is ignored."""
    out: "OrderedDict[str, str]" = OrderedDict()
    for lineno, line in iter_lines(path):
        key, value = split_key(line)
        if not key:
            continue
        if key in out:
            raise ValueError(f"{path}:{lineno}: duplicate key {key}")
        out[key] = value
    return out


def write_map(path: str, items: Iterable[Tuple[str, str]], sort: bool = True) -> None:
    """Write ``key value`` lines atomically, sorted by key unless told otherwise."""
    items = sorted(items) if sort else list(items)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for k, v in items:
            f.write(f"{k} {v}\n" if v != "" else f"{k}\n")
    os.replace(tmp, path)


@dataclass
class DataDir:
    """In-memory view of a Kaldi data dir. ``extra`` holds other ``utt2*`` maps by file name."""

    wav: "OrderedDict[str, str]" = field(default_factory=OrderedDict)
    text: "OrderedDict[str, str]" = field(default_factory=OrderedDict)
    utt2spk: "OrderedDict[str, str]" = field(default_factory=OrderedDict)
    segments: Optional["OrderedDict[str, Tuple[str, float, float]]"] = None
    utt2dur: Optional["OrderedDict[str, str]"] = None
    utt2num_frames: Optional["OrderedDict[str, str]"] = None
    feats: Optional["OrderedDict[str, str]"] = None
    extra: Dict[str, "OrderedDict[str, str]"] = field(default_factory=dict)

    # ---- I/O -----------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str) -> "DataDir":
        if not os.path.isdir(path):
            raise FileNotFoundError(f"data dir not found: {path}")
        if not os.path.isfile(os.path.join(path, "wav.scp")) and \
                not os.path.isfile(os.path.join(path, "feats.scp")):
            raise FileNotFoundError(f"{path} has neither wav.scp nor feats.scp")

        def opt(name: str) -> Optional["OrderedDict[str, str]"]:
            p = os.path.join(path, name)
            return read_map(p) if os.path.isfile(p) else None

        d = cls(wav=opt("wav.scp") or OrderedDict(), text=opt("text") or OrderedDict(),
                utt2spk=opt("utt2spk") or OrderedDict(), utt2dur=opt("utt2dur"),
                utt2num_frames=opt("utt2num_frames"), feats=opt("feats.scp"))
        seg = opt("segments")
        if seg is not None:
            d.segments = OrderedDict()
            for utt, v in seg.items():
                parts = v.split()
                if len(parts) != 3:
                    raise ValueError(f"{path}/segments: bad line for {utt}: {v!r}")
                d.segments[utt] = (parts[0], float(parts[1]), float(parts[2]))
        for name in sorted(os.listdir(path)):
            if name.startswith("utt2") and name not in UTT_FILES and \
                    os.path.isfile(os.path.join(path, name)):
                d.extra[name] = read_map(os.path.join(path, name))
        return d

    def save(self, path: str) -> None:
        """Write every file (sorted) plus a regenerated spk2utt; stale optional files are removed."""
        os.makedirs(path, exist_ok=True)
        files = {"wav.scp": self.wav, "text": self.text, "utt2spk": self.utt2spk,
                 "utt2dur": self.utt2dur, "utt2num_frames": self.utt2num_frames,
                 "feats.scp": self.feats, **self.extra}
        if self.segments is not None:
            files["segments"] = OrderedDict(
                (u, f"{r} {_fmt_time(s)} {_fmt_time(e)}") for u, (r, s, e) in self.segments.items())
        else:
            files["segments"] = None
        for name, content in files.items():
            p = os.path.join(path, name)
            if content is None or (name == "wav.scp" and not content and self.feats):
                if os.path.exists(p):
                    os.remove(p)
                continue
            write_map(p, content.items())
        write_map(os.path.join(path, "spk2utt"), self.spk2utt().items())

    # ---- derived views ---------------------------------------------------------------------

    def utt_ids(self) -> List[str]:
        """Utterances that have audio (through segments or wav.scp) or features."""
        if self.segments is not None:
            return list(self.segments)
        if self.wav:
            return list(self.wav)
        return list(self.feats or {})

    def spk2utt(self) -> "OrderedDict[str, str]":
        groups: Dict[str, List[str]] = {}
        for utt, spk in sorted(self.utt2spk.items()):
            groups.setdefault(spk, []).append(utt)
        return OrderedDict((s, " ".join(u)) for s, u in sorted(groups.items()))

    def audio_source(self, utt: str) -> AudioSource:
        """(wav.scp entry, start seconds or None, end seconds or None) of ``utt``."""
        if self.segments is not None:
            reco, start, end = self.segments[utt]
            return self.wav[reco], start, end
        return self.wav[utt], None, None

    def __len__(self) -> int:
        return len(self.utt_ids())

    # ---- transformations ---------------------------------------------------------------------

    def select(self, utts: Iterable[str]) -> "DataDir":
        """A new data dir with only ``utts`` (and the recordings they use)."""
        keep = set(utts)

        def f(m):
            return None if m is None else OrderedDict((k, v) for k, v in m.items() if k in keep)

        out = DataDir(text=f(self.text), utt2spk=f(self.utt2spk), utt2dur=f(self.utt2dur),
                      utt2num_frames=f(self.utt2num_frames), feats=f(self.feats),
                      extra={n: f(m) for n, m in self.extra.items()})
        if self.segments is not None:
            out.segments = f(self.segments)
            recos = {r for r, _, _ in out.segments.values()}
            out.wav = OrderedDict((k, v) for k, v in self.wav.items() if k in recos)
        else:
            out.wav = f(self.wav)
        return out


def _fmt_time(t: float) -> str:
    """Seconds with millisecond precision and no trailing zeros (12.5, 3, 0.125)."""
    return f"{t:.3f}".rstrip("0").rstrip(".")


# ---- validation and fixing ---------------------------------------------------------------------


def validate(path: str, need_text: bool = True) -> List[str]:
    """Problems that make ``path`` an invalid data dir (an empty list means valid)."""
    problems: List[str] = []
    try:
        d = DataDir.load(path)
    except (FileNotFoundError, ValueError) as e:
        return [str(e)]
    for name in ("wav.scp", "text", "utt2spk", "segments", "utt2dur", "utt2num_frames",
                 "feats.scp", *d.extra):
        p = os.path.join(path, name)
        if os.path.isfile(p):
            keys = list(read_map(p))
            if keys != sorted(keys):
                problems.append(f"{name} is not sorted (run fix_data_dir.sh)")
    utts = d.utt_ids()
    if not utts:
        problems.append("no utterances")
    utt_set = set(utts)
    if need_text:
        _compare(problems, "text", set(d.text), utt_set)
        empty = [u for u, t in d.text.items() if not t.strip()]
        if empty:
            problems.append(f"{len(empty)} empty transcripts (e.g. {empty[0]})")
    _compare(problems, "utt2spk", set(d.utt2spk), utt_set)
    spk2utt_path = os.path.join(path, "spk2utt")
    if os.path.isfile(spk2utt_path) and read_map(spk2utt_path) != d.spk2utt():
        problems.append("spk2utt does not match utt2spk")
    if d.segments is not None:
        missing = {r for r, _, _ in d.segments.values()} - set(d.wav)
        if missing:
            problems.append(f"{len(missing)} segment recordings missing from wav.scp "
                            f"(e.g. {sorted(missing)[0]})")
        bad = [u for u, (_, s, e) in d.segments.items() if not 0 <= s < e]
        if bad:
            problems.append(f"{len(bad)} segments with start >= end or start < 0 (e.g. {bad[0]})")
    for name, m in (("utt2dur", d.utt2dur), ("utt2num_frames", d.utt2num_frames),
                    ("feats.scp", d.feats), *d.extra.items()):
        if m is not None:
            _compare(problems, name, set(m), utt_set)
    if d.feats:
        problems.extend(feature_ark_problems(d.feats))
    return problems


_MATRIX_ELEMENT_BYTES = {b"FM ": 4, b"DM ": 8}


def _stored_matrix_end(f, offset: int) -> Optional[int]:
    """End offset of the binary Kaldi matrix at ``offset``, or None when its header is not a
    plain float/double matrix header (compressed matrices are only checked by offset)."""
    f.seek(offset)
    head = f.read(15)  # "\0B" + "FM " + "\x04" rows(int32) + "\x04" cols(int32)
    if len(head) < 15 or head[:2] != b"\0B" or head[2:5] not in _MATRIX_ELEMENT_BYTES:
        return None
    rows = int.from_bytes(head[6:10], "little", signed=True)
    cols = int.from_bytes(head[11:15], "little", signed=True)
    return offset + 15 + rows * cols * _MATRIX_ELEMENT_BYTES[head[2:5]]


def feature_ark_problems(feats: "OrderedDict[str, str]") -> List[str]:
    """Missing or truncated arks behind a feats.scp (``utt path.ark:offset`` entries).

    Each ark must exist and hold the whole matrix at its largest offset; a killed or
    interrupted feature job leaves arks that are shorter than their scp says.
    """
    last: Dict[str, Tuple[int, str]] = {}
    for utt, loc in feats.items():
        path, sep, offset = loc.rpartition(":")
        if not sep or not offset.isdigit():
            continue  # ranges, pipes: nothing to check without reading
        if path not in last or int(offset) > last[path][0]:
            last[path] = (int(offset), utt)
    problems = []
    for path, (offset, utt) in sorted(last.items()):
        if not os.path.isfile(path):
            problems.append(f"feature archive {path} is missing (needed by {utt} and others); "
                            "re-run stage 1")
            continue
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            end = _stored_matrix_end(f, offset) if size > offset else None
        if size <= offset or (end is not None and end > size):
            problems.append(f"feature archive {path} is truncated ({size} bytes; {utt} needs "
                            f"{end if end is not None else offset + 1}); re-run stage 1")
    return problems


def _compare(problems: List[str], name: str, keys: set, utts: set) -> None:
    if keys - utts:
        problems.append(f"{name} has {len(keys - utts)} utterances without audio "
                        f"(e.g. {sorted(keys - utts)[0]})")
    if utts - keys:
        problems.append(f"{name} lacks {len(utts - keys)} utterances (e.g. {sorted(utts - keys)[0]})")


def fix(d: DataDir, need_text: bool = True) -> Tuple[DataDir, Counter]:
    """Keep utterances present in every map (and with non-empty text); count what was dropped."""
    reasons: Counter = Counter()
    utts = set(d.utt_ids())
    if d.segments is not None:
        no_reco = {u for u, (r, _, _) in d.segments.items() if r not in d.wav}
        reasons["segment recording missing from wav.scp"] += len(no_reco)
        utts -= no_reco
    checks = [("no transcript", d.text)] if need_text else []
    checks += [("no speaker", d.utt2spk)]
    checks += [(f"not in {n}", m) for n, m in (("utt2dur", d.utt2dur),
                                               ("utt2num_frames", d.utt2num_frames),
                                               ("feats.scp", d.feats), *d.extra.items())
               if m is not None]
    for reason, m in checks:
        missing = utts - set(m)
        reasons[reason] += len(missing)
        utts -= missing
    if need_text:
        empty = {u for u in utts if not d.text[u].strip()}
        reasons["empty transcript"] += len(empty)
        utts -= empty
    text_only = set(d.text) - set(d.utt_ids())
    reasons["transcript without audio"] += len(text_only)
    for reason, n in sorted(reasons.items()):
        if n:
            logger.warning("dropped %d utterances: %s", n, reason)
    return d.select(utts), +reasons


# ---- subsets, combination, splitting --------------------------------------------------------------


def subset_first(d: DataDir, n: int) -> DataDir:
    return d.select(sorted(d.utt_ids())[:n])


def subset_random(d: DataDir, n: int, seed: int = 0) -> DataDir:
    utts = sorted(d.utt_ids())
    return d.select(random.Random(seed).sample(utts, min(n, len(utts))))


def subset_list(d: DataDir, utts: Sequence[str]) -> DataDir:
    missing = set(utts) - set(d.utt_ids())
    if missing:
        logger.warning("%d listed utterances are not in the data dir (e.g. %s)",
                       len(missing), sorted(missing)[0])
    return d.select(utts)


def combine(dirs: Sequence[DataDir]) -> DataDir:
    """Union of data dirs; a duplicate utterance or recording id is an error."""
    out = DataDir()
    with_segments = [d.segments is not None for d in dirs]
    if any(with_segments) and not all(with_segments):
        raise ValueError("cannot combine data dirs with and without segments")
    if all(with_segments) and dirs:
        out.segments = OrderedDict()
    optional = ("utt2dur", "utt2num_frames", "feats")
    for name in optional:
        if all(getattr(d, name) is not None for d in dirs):
            setattr(out, name, OrderedDict())
    extras = set.intersection(*(set(d.extra) for d in dirs)) if dirs else set()
    out.extra = {n: OrderedDict() for n in extras}
    for d in dirs:
        for target, src, what in ((out.wav, d.wav, "recording"), (out.text, d.text, "utterance"),
                                  (out.utt2spk, d.utt2spk, "utterance")):
            dup = set(target) & set(src)
            if dup:
                raise ValueError(f"duplicate {what} id {sorted(dup)[0]} across data dirs")
            target.update(src)
        if out.segments is not None:
            out.segments.update(d.segments)
        for name in optional:
            if getattr(out, name) is not None:
                getattr(out, name).update(getattr(d, name))
        for n in extras:
            out.extra[n].update(d.extra[n])
    return out


def contiguous_parts(items: Sequence[str], n: int) -> List[List[str]]:
    """``n`` contiguous, near-equal parts of ``items`` (jobs whose outputs merge back in order)."""
    bounds = [round(i * len(items) / n) for i in range(n + 1)]
    return [list(items[bounds[i]: bounds[i + 1]]) for i in range(n)]


def split(d: DataDir, nj: int) -> List[DataDir]:
    """``nj`` contiguous, near-equal parts in sorted utterance order (merge back in order)."""
    utts = sorted(d.utt_ids())
    if nj < 1:
        raise ValueError("nj must be >= 1")
    if nj > len(utts):
        raise ValueError(f"cannot split {len(utts)} utterances into {nj} jobs")
    return [d.select(part) for part in contiguous_parts(utts, nj)]


# ---- speed perturbation ------------------------------------------------------------------------


def speed_perturb_command(spec: str, factor: float, python: str = sys.executable) -> str:
    """A wav.scp pipe that plays ``spec`` at ``factor`` speed (tempo and pitch, as sox speed)."""
    return (f"{shlex.quote(python)} -m fireredasr.bin.perturb_wav --factor {factor} "
            f"{shlex.quote(spec)} |")


def speed_perturb(d: DataDir, factors: Sequence[float] = (0.9, 1.0, 1.1)) -> DataDir:
    """Copies of ``d`` at each speed as new ids ``sp{f}-{id}`` (factor 1.0 keeps the ids)."""
    parts = []
    for f in factors:
        prefix = "" if f == 1.0 else f"sp{f}-"

        def rename(m, pre=prefix):
            return None if m is None else OrderedDict((pre + k, v) for k, v in m.items())

        p = DataDir(text=rename(d.text), extra={n: rename(m) for n, m in d.extra.items()})
        p.utt2spk = OrderedDict((prefix + u, prefix + s) for u, s in d.utt2spk.items())
        p.wav = OrderedDict((prefix + r, spec if f == 1.0 else speed_perturb_command(spec, f))
                            for r, spec in d.wav.items())
        if d.segments is not None:
            p.segments = OrderedDict((prefix + u, (prefix + r, s / f, e / f))
                                     for u, (r, s, e) in d.segments.items())
        if d.utt2dur is not None:
            p.utt2dur = OrderedDict((prefix + u, f"{float(v) / f:.3f}")
                                    for u, v in d.utt2dur.items())
        parts.append(p)
    return combine(parts)


def iter_text_lines(path: str) -> Iterator[Tuple[str, str]]:
    """Stream ``utt text`` pairs of a text file without loading it whole (UTF-8, BOM ignored;
    an undecodable line raises ValueError naming the file and line)."""
    for _, line in iter_lines(path):
        key, value = split_key(line)
        if key:
            yield key, value
