"""bench/onnx_aed.py exports, decodes with PyTorch / ONNX fp32 / ONNX int8 and prints one table."""
import re
import subprocess
import sys

from tests.conftest import REAL_EXAMPLES, REPO


def test_onnx_bench_prints_the_three_systems(ref_aed_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    utts = [line.split()[0] for line in (REAL_EXAMPLES / "wav.scp").read_text().splitlines()]
    (data / "wav.scp").write_text("".join(f"{u} {REAL_EXAMPLES / (u + '.wav')}\n" for u in utts))
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in utts))
    (data / "text").write_text((REAL_EXAMPLES / "text").read_text(encoding="utf-8"),
                               encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "onnx_aed.py"), "--model_dir",
                           str(ref_aed_dir), "--data_dir", str(data), "--onnx_dir",
                           str(tmp_path / "onnx"), "--threads", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {m[0]: m[1:] for m in re.findall(
        r"^\| (PyTorch fp32|ONNX fp32|ONNX int8) \| ([0-9.]+)% \| (\d+)/4 \|", proc.stdout, re.M)}
    assert set(rows) == {"PyTorch fp32", "ONNX fp32", "ONNX int8"}
    assert rows["ONNX fp32"] == rows["PyTorch fp32"][:1] + ("0",)
    assert (tmp_path / "onnx" / "decoder.int8.onnx").is_file()
    sherpa = dict(re.findall(r"^\| (sherpa-onnx fp32|sherpa-onnx int8) \| [0-9.]+% \| (\d+)/4 \| \d+ \|",
                             proc.stdout, re.M))
    assert sherpa["sherpa-onnx fp32"] == "0" and "sherpa-onnx int8" in sherpa
