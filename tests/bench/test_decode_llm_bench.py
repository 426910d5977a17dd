"""bench/decode_llm.py builds a released-layout LLM folder and compares the two loaders."""
import re
import subprocess
import sys

from tests.conftest import REPO


def test_llm_decode_bench_runs_and_hypotheses_agree():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "decode_llm.py"), "--llm", "tiny",
                           "--encoder", "aed_xs", "--decode_max_len", "8", "--threads", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert re.search(r"speed-up: [0-9.]+x; hypotheses identical: True", proc.stdout)
    assert re.search(r"^RESULT\tllm_decode_speedup\t[0-9.]+\t", proc.stdout, re.M)
