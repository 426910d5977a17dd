"""bench/onnx_aed.py exports, decodes with PyTorch / ONNX fp32 / ONNX int8 and prints one table."""
import re
import subprocess
import sys

from tests.conftest import REPO, real_examples_data_dir


def test_onnx_bench_prints_the_three_systems(ref_aed_dir, tmp_path):
    data = real_examples_data_dir(tmp_path / "data")
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
