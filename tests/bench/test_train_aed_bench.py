"""bench/train_aed.py times real DeepSpeed steps of a preset with fields replaced, and
compares dropout rates against the first."""
import re
import subprocess
import sys

from tests.conftest import REPO

BENCH = [sys.executable, str(REPO / "bench" / "train_aed.py")]


def test_a_field_the_preset_lacks_is_a_usage_error():
    proc = subprocess.run(BENCH + ["--set", "d_modle=32"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 2
    assert "aed_xs has no field(s) ['d_modle']" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dropout_comparison_times_each_rate_against_the_first():
    proc = subprocess.run(BENCH + [
                           "--model", "aed_xs", "--vocab", "40", "--utts", "2", "--frames", "64",
                           "--steps", "1", "--threads", "1", "--precisions", "fp32",
                           "--set", "d_model=32", "n_layers_enc=1", "n_layers_dec=1", "n_head=2",
                           "--dropouts", "0.1,0.0"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # The replaced fields reach the model: a d 32 one-layer model is far below aed_xs's 15M.
    params = float(re.search(r"aed_xs: ([0-9.]+)M parameters", proc.stdout).group(1))
    assert params < 1.0
    rows = re.findall(r"^fp32, dropout ([0-9.]+): [0-9.]+ s/step, +[0-9.]+ audio-s/s, "
                      r"([0-9.]+)x the dropout 0.1 speed$", proc.stdout, re.M)
    assert [r[0] for r in rows] == ["0.1", "0.0"]
    assert rows[0][1] == "1.00"
