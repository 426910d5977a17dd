"""bench/gpu_check.sh runs end to end (tiny, on the CPU) and prints its one table."""
import os
import re
import subprocess

from tests.conftest import REPO


def test_gpu_check_prints_its_table_on_cpu():
    proc = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), "--device", "cpu",
                           "--quick", "true"], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = dict(re.findall(r"^\| (.+?) \| (.+?) \|", proc.stdout, re.M))
    number = re.compile(r"^[0-9.e+-]+$")
    assert number.match(rows["AED training aed_xs bf16 (cpu), audio-s/s"])
    assert number.match(rows["AED decoding (cpu): cached search vs released uncached"])
    assert number.match(rows["AED decoding (cpu): bf16 vs fp32"])
    assert "hypotheses identical: True" in proc.stdout
    # The released inference code itself (.venv/released, utils/setup_venv.sh) decoded the same
    # audio with the same weights to the same hypotheses (the bench exits 1 otherwise).
    assert number.match(rows["AED decoding (cpu): end to end vs released code"])
    assert number.match(rows["LLM LoRA training, tiny shape bf16 (cpu), audio-s/s"])
    assert "failed" not in proc.stdout
