"""bench/llm_read_check.py trains the LLM path on a readable slot and on a zeroed one."""
import re
import subprocess
import sys

from fireredasr.synthetic.tiny_llm import TinyLlmConfig, build_tiny_llm
from tests.conftest import REPO

TEXTS = ["今天天气很好", "我们明天去北京", "他说这个问题不大", "大家一起学习", "北京的天气很好",
         "明天我们学习", "这个很好", "他们去学习了"]


def test_read_check_prints_both_runs(tmp_path):
    cfg = TinyLlmConfig(vocab_size=400, hidden_size=32, num_layers=1, num_heads=2,
                        num_kv_heads=1, intermediate_size=64, steps=2, batch_size=4)
    build_tiny_llm(TEXTS, TEXTS[:2], str(tmp_path / "llm"), cfg)
    text = tmp_path / "text"
    text.write_text("".join(f"u{i} {t}\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "llm_read_check.py"),
                           "--llm_dir", str(tmp_path / "llm"), "--text", str(text),
                           "--valid_text", str(text), "--steps", "2", "--batch_size", "4",
                           "--lora_r", "2", "--threads", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = re.findall(r"^\| (zeroed \(baseline\)|transcript tokens, 2-4x) \| ([0-9.]+) \| "
                      r"([0-9.]+) \|", proc.stdout, re.M)
    assert [r[0] for r in rows] == ["zeroed (baseline)", "transcript tokens, 2-4x"], proc.stdout
    assert all(0.0 <= float(r[2]) <= 1.0 for r in rows)
    assert re.search(r"accuracy ratio \(tokens / baseline\): [0-9.]+x", proc.stdout)
