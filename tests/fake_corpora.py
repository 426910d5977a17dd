"""Tiny copies of each corpus in its exact release layout, built from the real examples and
synthetic audio, with a few deliberately broken entries (each noted where it is made)."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Dict

import numpy as np
import soundfile as sf

from tests.conftest import REAL_EXAMPLES

REAL_TEXT = dict(line.split(maxsplit=1) for line in
                 (REAL_EXAMPLES / "text").read_text(encoding="utf-8").splitlines())


def real_audio(utt: str) -> np.ndarray:
    return sf.read(REAL_EXAMPLES / f"{utt}.wav", dtype="int16")[0]


def synth_audio(seconds: float, seed: int) -> np.ndarray:
    """A chirp with a little noise: deterministic, non-silent int16 audio."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    x = 0.3 * np.sin(2 * np.pi * (200 + 300 * seed + 150 * t) * t) + 0.01 * rng.standard_normal(t.size)
    return (x * 32767).astype(np.int16)


def write_wav(path: Path, audio: np.ndarray, sr: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, sr, subtype="PCM_16")
    return path


def _tar_gz(src_dir: Path, arcnames: Dict[str, Path]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for arcname, path in sorted(arcnames.items()):
            tar.add(path, arcname=arcname)
    return buf.getvalue()


# ---- AISHELL-1 --------------------------------------------------------------------------------

AISHELL1_UTTS = {
    # utt: (set, speaker, audio, transcript (None: not in the transcript file))
    "BAC009S0764W0121": ("test", "S0764", "real", REAL_TEXT["BAC009S0764W0121"]),
    "BAC009S0002W0122": ("train", "S0002", 1, "而 对 楼市 成交 抑制 作用 最 大 的 限 购"),
    "BAC009S0002W0123": ("train", "S0002", 2, "也 成为 地方 政府 的 眼中 钉"),
    "BAC009S0003W0121": ("train", "S0003", 3, "自 六月 底 呼和浩特 市 率先 宣布 取消 限 购 后"),
    "BAC009S0003W0124": ("train", "S0003", 4, "OK 我们 用 IPHONE 来 说"),
    "BAC009S0003W0125": ("train", "S0003", 5, None),           # audio without transcript
    "BAC009S0003W0126": ("train", "S0003", "corrupt", "这 个 文件 坏 了"),  # unreadable audio
    "BAC009S0724W0121": ("dev", "S0724", 6, "广州 市 房地产 中介 协会 分析"),
}
AISHELL1_ORPHAN_TEXT = {"BAC009S0999W0001": "没有 音频 的 文本"}  # transcript without audio


def make_aishell1_archives(root: Path) -> Dict[str, bytes]:
    """The two release archives (data_aishell.tgz with per-speaker tar.gz inside, and
    resource_aishell.tgz) as bytes."""
    stage = root / "stage"
    speakers: Dict[str, Dict[str, Path]] = {}
    lines = []
    for utt, (part, spk, audio, text) in AISHELL1_UTTS.items():
        wav = stage / "wav" / part / spk / f"{utt}.wav"
        if audio == "real":
            write_wav(wav, real_audio(utt))
        elif audio == "corrupt":
            wav.parent.mkdir(parents=True, exist_ok=True)
            wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk" + os.urandom(64))
        else:
            write_wav(wav, synth_audio(1.0 + 0.1 * audio, audio))
        speakers.setdefault(spk, {})[f"{part}/{spk}/{utt}.wav"] = wav
        if text is not None:
            lines.append(f"{utt} {text}")
    lines += [f"{u} {t}" for u, t in AISHELL1_ORPHAN_TEXT.items()]
    inner = {}
    for spk, files in speakers.items():
        p = stage / "spk_archives" / f"{spk}.tar.gz"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_tar_gz(stage, files))
        inner[f"data_aishell/wav/{spk}.tar.gz"] = p
    transcript = stage / "aishell_transcript_v0.8.txt"
    transcript.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    inner["data_aishell/transcript/aishell_transcript_v0.8.txt"] = transcript
    lexicon = stage / "lexicon.txt"
    lexicon.write_text("而 er2\n", encoding="utf-8")
    return {"data_aishell.tgz": _tar_gz(stage, inner),
            "resource_aishell.tgz": _tar_gz(stage, {"resource_aishell/lexicon.txt": lexicon})}


# ---- AISHELL-2 --------------------------------------------------------------------------------


def make_aishell2(root: Path) -> Dict[str, Path]:
    """AISHELL-2/iOS/data and AISHELL-DEV-TEST-SET/{iOS,Android,Mic}/{dev,test}."""
    train = root / "AISHELL-2" / "iOS" / "data"
    utts = {"IC0001W0001": ("C0001", "厨房用具"), "IC0001W0002": ("C0001", "电蒸锅"),
            "IC0002W0001": ("C0002", "换一首英文歌 HELLO")}
    scp, trans = [], []
    for i, (utt, (spk, text)) in enumerate(utts.items()):
        write_wav(train / "wav" / spk / f"{utt}.wav", synth_audio(1.2, 10 + i))
        scp.append(f"{utt}\twav/{spk}/{utt}.wav")
        trans.append(f"{utt}\t{text}")
    scp.append("IC0002W0002\twav/C0002/IC0002W0002.wav")  # listed, but the file is missing
    trans.append("IC0002W0002\t文件丢了")
    trans.append("IC0003W0001\t没有音频")                     # transcript without audio
    trans.append("IC0001W0003\t")                            # empty transcript ...
    scp.append("IC0001W0003\twav/C0001/IC0001W0003.wav")     # ... of an existing file
    write_wav(train / "wav" / "C0001" / "IC0001W0003.wav", synth_audio(1.0, 13))
    (train / "wav.scp").write_text("\n".join(scp) + "\n", encoding="utf-8")
    (train / "trans.txt").write_text("\n".join(trans) + "\n", encoding="utf-8")
    dev_test = root / "AISHELL-DEV-TEST-SET"
    for ch, prefix in (("iOS", "I"), ("Android", "A"), ("Mic", "M")):
        for part, spk in (("dev", "D0001"), ("test", "T0001")):
            d = dev_test / ch / part
            utt = f"{prefix}{spk}W0001"
            if (ch, part) == ("iOS", "test"):
                write_wav(d / "wav" / spk / f"{utt}.wav", real_audio("IT0011W0001"))
                text = REAL_TEXT["IT0011W0001"]
            else:
                write_wav(d / "wav" / spk / f"{utt}.wav", synth_audio(1.0, 20))
                text = "我们的商场"
            (d / "wav.scp").write_text(f"{utt}\twav/{spk}/{utt}.wav\n", encoding="utf-8")
            (d / "trans.txt").write_text(f"{utt}\t{text}\n", encoding="utf-8")
    return {"train_dir": train, "dev_test_dir": dev_test}


# ---- WenetSpeech ------------------------------------------------------------------------------


def make_wenetspeech(root: Path) -> Path:
    """WenetSpeech.json + opus recordings; segments tagged with S/M/L/DEV/TEST_* subsets."""
    corpus = root / "WenetSpeech"
    net = real_audio("TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000")
    meeting = real_audio("TEST_MEETING_T0000000001_S00000")
    recordings = {
        # aid: (relative path, audio, [(sid, begin, end, text, subsets)])
        "Y0000000000_-KTKHdZ2fb8": (
            "audio/test_net/youtube/Y0000000000_-KTKHdZ2fb8.opus",
            np.concatenate([np.zeros(8000, np.int16), net]),
            [("TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000", 0.5, 0.5 + len(net) / 16000,
              REAL_TEXT["TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000"], ["TEST_NET"])]),
        "T0000000001": (
            "audio/test_meeting/T0000000001.opus", meeting,
            [("TEST_MEETING_T0000000001_S00000", 0.0, len(meeting) / 16000,
              REAL_TEXT["TEST_MEETING_T0000000001_S00000"], ["TEST_MEETING"])]),
        "Y0000000001_train": (
            "audio/train/youtube/B00000/Y0000000001_train.opus", synth_audio(6.0, 30),
            [("Y0000000001_train_S00000", 0.0, 1.5, "今天天气不错", ["L", "M", "S"]),
             ("Y0000000001_train_S00001", 1.5, 3.2, "我们去 PARK 散步", ["L", "M"]),
             ("Y0000000001_train_S00002", 3.2, 4.0, "", ["L"]),          # empty transcript
             ("Y0000000001_train_S00003", 4.0, 5.9, "好的没问题", ["L"])]),
        "Y0000000002_dev": (
            "audio/dev/youtube/Y0000000002_dev.opus", synth_audio(3.0, 31),
            [("Y0000000002_dev_S00000", 0.2, 2.5, "开发集的一句话", ["DEV"])]),
        "Y0000000003_missing": (
            "audio/train/youtube/B00000/Y0000000003_missing.opus", None,  # file not shipped
            [("Y0000000003_missing_S00000", 0.0, 2.0, "音频丢了", ["L"])]),
    }
    audios = []
    for aid, (rel, audio, segs) in recordings.items():
        if audio is not None:
            path = corpus / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio.astype(np.float32) / 32768, 16000, format="OGG", subtype="OPUS")
        audios.append({"aid": aid, "title": "t", "source": "youtube", "path": rel,
                       "duration": 10.0, "tags": ["教育"],
                       "segments": [{"sid": sid, "confidence": 1.0, "begin_time": b,
                                     "end_time": e, "text": text, "subsets": sub}
                                    for sid, b, e, text, sub in segs]})
    meta = {"dataset": "WenetSpeech", "language": "Chinese Mandarin", "version": "v1.0",
            "audios": audios}
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "WenetSpeech.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
    return corpus


# ---- KeSpeech ---------------------------------------------------------------------------------


def make_kespeech(root: Path) -> Path:
    """KeSpeech/Tasks/ASR/<part>/{wav.scp,text,utt2spk,utt2subdialect} + Audio/."""
    corpus = root / "KeSpeech"
    parts = {
        "train_phase1": [("1000001_a1", "1000001", "Mandarin", "今天天气很好 <SPOKEN_NOISE>", 40),
                         ("1000002_a1", "1000002", "Southwestern", "我们去吃火锅", 41)],
        "train_phase2": [("1000001_b1", "1000001", "Northeastern", "这旮旯真冷", 42)],
        "dev_phase1": [("1000003_c1", "1000003", "Mandarin", "开发集", 43)],
        "dev_phase2": [("1000003_c2", "1000003", "Zhongyuan", "开发集二", 44)],
        "test": [("1000004_d1", "1000004", "Southwestern", REAL_TEXT["IT0011W0001"], "real"),
                 ("1000005_d1", "1000005", "Beijing", "北京话测试", 45)],
    }
    for part, utts in parts.items():
        d = corpus / "Tasks" / "ASR" / part
        d.mkdir(parents=True, exist_ok=True)
        files = {"wav.scp": [], "text": [], "utt2spk": [], "utt2subdialect": []}
        for utt, spk, dialect, text, audio in utts:
            rel = f"Audio/{spk}/{'phase2' if part.endswith('2') else 'phase1'}/{utt}.wav"
            write_wav(corpus / rel, real_audio("IT0011W0001") if audio == "real"
                      else synth_audio(1.1, audio))
            files["wav.scp"].append(f"{utt} {rel}")
            files["text"].append(f"{utt} {text}")
            files["utt2spk"].append(f"{utt} {spk}")
            files["utt2subdialect"].append(f"{utt} {dialect}")
        for name, lines in files.items():
            (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus


# ---- data dirs of the real examples -------------------------------------------------------------


def real_examples_dir(path: Path, utts=None, extra_wavs: Dict[str, str] = None) -> str:
    """A Kaldi data dir of real examples (their transcripts) plus ``extra_wavs`` entries
    (uttid -> wav.scp value, transcript "坏文件"): e.g. broken files or pipes."""
    from collections import OrderedDict

    from fireredasr.data.kaldi_dir import DataDir
    from tests.conftest import REAL_UTTS

    wav = OrderedDict((u, str(REAL_EXAMPLES / f"{u}.wav")) for u in (utts or REAL_UTTS))
    wav.update(extra_wavs or {})
    DataDir(wav=wav, text=OrderedDict((u, REAL_TEXT.get(u, "坏文件")) for u in wav),
            utt2spk=OrderedDict((u, u) for u in wav)).save(str(path))
    return str(path)


# ---- LibriSpeech ------------------------------------------------------------------------------

LIBRISPEECH_UTTS = {
    # utt: (subset, transcript (None: no transcript line))
    "103-1240-0000": ("train-clean-100", "CHAPTER ONE MISSUS RACHEL LYNDE IS SURPRISED"),
    "103-1240-0001": ("train-clean-100", "THAT HAD ITS SOURCE AWAY BACK IN THE WOODS"),
    "103-1241-0000": ("train-clean-100", "IT'S A GOOD THING I DON'T KNOW HIS NAME"),
    "1034-121119-0000": ("train-clean-100", "WHAT A WELL KNOWN STORY SHE SAID"),
    "1034-121119-0001": ("train-clean-100", None),                   # audio without transcript
    "2277-149896-0000": ("dev-clean", "HE WAS IN A FEVERED STATE OF MIND"),
    "2277-149896-0001": ("dev-clean", "THE STUDENTS' BOOKS WERE ON THE TABLE"),
    "1089-134686-0000": ("test-clean", "HE HOPED THERE WOULD BE STEW FOR DINNER"),
    "1089-134686-0001": ("test-clean", "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM"),
    "1688-142285-0000": ("test-other", "THERE'S IRON THEY SAY IN ALL OUR BLOOD"),
}
LIBRISPEECH_NO_AUDIO = {"1089-134686-0002": ("test-clean", "A LINE WITHOUT ITS FLAC FILE")}


def make_librispeech(root: Path) -> Path:
    """root/LibriSpeech/<subset>/SPEAKER/CHAPTER/{*.flac, SPEAKER-CHAPTER.trans.txt}."""
    corpus = root / "LibriSpeech"
    lines: Dict[Path, list] = {}
    for i, (utt, (subset, text)) in enumerate(sorted(LIBRISPEECH_UTTS.items())):
        spk, chapter, _ = utt.split("-")
        chapter_dir = corpus / subset / spk / chapter
        chapter_dir.mkdir(parents=True, exist_ok=True)
        sf.write(chapter_dir / f"{utt}.flac", synth_audio(1.0 + 0.1 * i, i), 16000,
                 format="FLAC", subtype="PCM_16")
        lines.setdefault(chapter_dir / f"{spk}-{chapter}.trans.txt", [])
        if text is not None:
            lines[chapter_dir / f"{spk}-{chapter}.trans.txt"].append(f"{utt} {text}")
    for utt, (subset, text) in LIBRISPEECH_NO_AUDIO.items():
        spk, chapter, _ = utt.split("-")
        lines[corpus / subset / spk / chapter / f"{spk}-{chapter}.trans.txt"].append(f"{utt} {text}")
    for path, content in lines.items():
        path.write_text("".join(line + "\n" for line in sorted(content)), encoding="utf-8")
    return corpus


def make_librispeech_archives(root: Path) -> Dict[str, bytes]:
    """<subset>.tar.gz as OpenSLR serves them (members under LibriSpeech/<subset>/)."""
    corpus = make_librispeech(root)
    out = {}
    for subset_dir in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = {str(f.relative_to(root)): f for f in subset_dir.rglob("*") if f.is_file()}
        out[f"{subset_dir.name}.tar.gz"] = _tar_gz(root, files)
    return out
