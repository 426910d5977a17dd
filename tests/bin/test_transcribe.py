import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL_EXAMPLES, REAL_UTTS, REPO
from fireredasr.bin.transcribe import main


def _read(path):
    return dict(line.rstrip("\n").split("\t", 1) for line in Path(path).read_text().splitlines())


def _cli_args(name, expected_hyps):
    a = expected_hyps[name]["args"]
    out = ["--use_gpu", "0", "--beam_size", str(a["beam_size"]), "--nbest", str(a["nbest"])]
    if "softmax_smoothing" in a:
        out += ["--softmax_smoothing", str(a["softmax_smoothing"]),
                "--aed_length_penalty", str(a["aed_length_penalty"])]
    return out


@pytest.mark.parametrize("name", ["beam1", "beam3"])
def test_cli_wav_scp_batch_and_single(ref_aed_dir, expected_hyps, tmp_path, name):
    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"{u} {REAL_EXAMPLES / (u + '.wav')}\n" for u in REAL_UTTS))
    for mode, batch in (("batch", 4), ("single", 1)):
        out = tmp_path / f"hyp_{mode}"
        rc = main(["--asr_type", "aed", "--model_dir", str(ref_aed_dir), "--wav_scp", str(scp),
                   "--output", str(out), "--batch_size", str(batch)] + _cli_args(name, expected_hyps))
        assert rc == 0
        assert _read(out) == expected_hyps[name][mode]


def test_cli_wav_dir_and_paths(ref_aed_dir, expected_hyps, tmp_path):
    wav_dir = tmp_path / "wavs" / "sub"
    wav_dir.mkdir(parents=True)
    for u in REAL_UTTS[:2]:
        shutil.copy(REAL_EXAMPLES / f"{u}.wav", wav_dir)
    out = tmp_path / "hyp"
    assert main(["--asr_type", "aed", "--model_dir", str(ref_aed_dir), "--wav_dir",
                 str(tmp_path / "wavs"), "--output", str(out), "--use_gpu", "0"]) == 0
    assert _read(out) == {u: expected_hyps["beam1"]["batch"][u] for u in REAL_UTTS[:2]}
    out2 = tmp_path / "hyp2"
    assert main(["--asr_type", "aed", "--model_dir", str(ref_aed_dir), "--wav_paths",
                 *[str(p) for p in sorted(wav_dir.iterdir())], "--output", str(out2),
                 "--use_gpu", "0", "--batch_size", "2"]) == 0
    assert _read(out2) == _read(out)


def test_cli_bad_inputs(ref_aed_dir, tmp_path):
    assert main(["--asr_type", "aed", "--model_dir", str(ref_aed_dir)]) == 2
    assert main(["--asr_type", "aed", "--model_dir", str(tmp_path), "--wav_path", "x.wav"]) == 2
    missing = tmp_path / "missing.wav"
    assert main(["--asr_type", "aed", "--model_dir", str(ref_aed_dir), "--wav_path",
                 str(missing), "--use_gpu", "0"]) == 1


def test_console_script_is_installed(ref_aed_dir, expected_hyps, tmp_path):
    exe = Path(sys.executable).parent / "fireredasr-transcribe"
    assert exe.exists(), "pip install -e . should install the console script"
    u = REAL_UTTS[1]
    proc = subprocess.run([str(exe), "--asr_type", "aed", "--model_dir", str(ref_aed_dir),
                           "--wav_path", str(REAL_EXAMPLES / f"{u}.wav"), "--use_gpu", "0"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{u}\t{expected_hyps['beam1']['single'][u]}\n"
