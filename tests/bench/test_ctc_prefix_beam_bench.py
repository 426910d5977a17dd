"""bench/ctc_prefix_beam.py times the prefix search against its first version and checks
that both give the same n-best lists (exit 1 otherwise)."""
import re
import subprocess
import sys

from tests.conftest import REPO


def test_prefix_beam_bench_reports_a_ratio_and_identical_results():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "ctc_prefix_beam.py"),
                           "--frames", "40", "--vocab", "50", "--beams", "1,4", "--utts", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    beams = re.findall(r"^beam +(\d+): baseline +[0-9.]+ ms/utt, toolkit +[0-9.]+ ms/utt, "
                       r"speed-up [0-9.]+x", proc.stdout, re.M)
    assert beams == ["1", "4"]
    assert "identical: True" in proc.stdout


def test_prefix_beam_bench_rejects_a_bad_beam_list_with_a_message():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "ctc_prefix_beam.py"),
                           "--beams", "10,x"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "argument --beams: expected an integer, got 'x'" in proc.stderr
