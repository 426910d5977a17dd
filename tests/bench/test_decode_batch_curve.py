"""bench/decode_batch_curve.py prints one row per batch size and writes the plot."""
import re
import subprocess
import sys

from tests.conftest import REPO, real_examples_data_dir


def test_batch_curve_prints_rows_and_plots(ref_aed_dir, tmp_path):
    data = real_examples_data_dir(tmp_path / "data")
    png = tmp_path / "curve.png"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "decode_batch_curve.py"),
                           "--model_dir", str(ref_aed_dir), "--data_dir", str(data),
                           "--batch_sizes", "1,2", "--png", str(png), "--threads", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = re.findall(r"^\| (\d+) \| ([0-9.]+) \| [0-9.]+ \| ([0-9.]+) \| [0-9.]+ \| [0-9.]+x \| "
                      r"(\d+)/4 \|$", proc.stdout, re.M)
    assert [r[0] for r in rows] == ["1", "2"]
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
