"""The streamed WenetSpeech preparation on 1,000,000 generated segments stays under 2 GB."""
import subprocess
import sys

from tests.conftest import REPO


def test_one_million_segments_under_2gb():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "wenetspeech_prep.py"),
                           "--segments", "1000000", "--skip_baseline"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("streamed preparation"))
    peak_mb = float(line.split("peak RSS ")[1].split(" MiB")[0])
    assert peak_mb < 2048
    assert "400000 train_l segments" in line
