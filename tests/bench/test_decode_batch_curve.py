"""bench/decode_batch_curve.py prints one row per batch size and writes the plot."""
import re
import subprocess
import sys

from tests.conftest import REAL_EXAMPLES, REPO


def test_batch_curve_prints_rows_and_plots(ref_aed_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    utts = [line.split()[0] for line in (REAL_EXAMPLES / "wav.scp").read_text().splitlines()]
    (data / "wav.scp").write_text("".join(f"{u} {REAL_EXAMPLES / (u + '.wav')}\n" for u in utts))
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in utts))
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
