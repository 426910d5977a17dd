"""recipes/mini --tiny true: every stage 0-12 end to end on a few dozen synthetic utterances,
each stage's outputs checked."""
import json
import os
import subprocess
import sys

from fireredasr.data.kaldi_dir import DataDir, validate
from tests.conftest import REPO


def test_mini_recipe_tiny_runs_every_stage(tmp_path):
    data, exp = tmp_path / "data", tmp_path / "exp"
    proc = subprocess.run(["bash", str(REPO / "recipes" / "mini" / "run.sh"), "--tiny", "true",
                           "--data", str(data), "--exp", str(exp), "--master_port", "29681",
                           "--elm", "true"],
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    # Stage 0: three disjoint synthetic sets; stage 1: features and CMVN.
    texts = {}
    for s, n in (("train", 48), ("dev", 8), ("test", 12)):
        assert validate(str(data / s)) == [], s
        d = DataDir.load(str(data / s))
        assert len(d) == n and d.feats is not None and d.utt2dur is not None
        texts[s] = set(d.text.values())
    assert not (texts["train"] & texts["test"]) and not (texts["dev"] & texts["test"])
    assert (data / "train" / "cmvn.ark").is_file()
    # Stage 2: dictionary and BPE; stages 3-4: checkpoints and the exported AED folder.
    assert (data / "lang" / "dict.txt").is_file() and (data / "lang" / "bpe.model").is_file()
    assert list((exp / "aed" / "checkpoints").glob("step_*"))
    for f in ("model.pth.tar", "cmvn.ark", "dict.txt", "train_bpe1000.model"):
        assert (exp / "aed" / "model" / f).is_file(), f
    # --elm true: the LM (stages 5-6), its weight chosen on dev and the fused decode (stage 7).
    assert (exp / "elm" / "elm" / "model.pth.tar").is_file()
    sweep = (exp / "aed" / "elm_sweep_dev" / "elm_weight_sweep.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in sweep] == ["elm_weight", "0", "0.3"]
    best = (exp / "aed" / "elm_sweep_dev" / "best_elm_weight").read_text().strip()
    fused = json.loads((exp / "aed_elm" / "decode_test" / "decode.json").read_text())
    assert fused["settings"]["elm_weight"] == float(best)
    # Stage 8: the tiny base LLM; stages 9-10: LoRA training and the exported LLM folder.
    assert (exp / "llm_base" / "config.json").is_file()
    assert (exp / "llm_base" / "tokenizer.json").is_file()
    for f in ("model.pth.tar", "asr_encoder.pth.tar", "cmvn.ark", "Qwen2-7B-Instruct"):
        assert (exp / "llm" / "model" / f).exists(), f
    # Stages 7 and 11: hypotheses and scores for the test set; stage 12: the table and chart.
    for model in ("aed", "llm"):
        dec = exp / model / "decode_test"
        assert len((dec / "hyp").read_text(encoding="utf-8").splitlines()) == 12
        assert json.loads((dec / "wer.json").read_text())["sentences"] == 12
    # The recipe's AED decodes are joint CTC/attention at beam 20: the plain one, every decode
    # of the LM weight sweep and the fused one (which then differs by the LM alone).
    for decode in (exp / "aed" / "decode_test", exp / "aed" / "elm_sweep_dev" / "elm0",
                   exp / "aed" / "elm_sweep_dev" / "elm0.3", exp / "aed_elm" / "decode_test"):
        settings = json.loads((decode / "decode.json").read_text())["settings"]
        assert (settings["decode_mode"], settings["beam_size"]) == ("joint_ctc_attention", 20)
    table = (exp / "RESULTS.md").read_text()
    assert "| aed |" in table and "| aed_elm |" in table and "| llm |" in table and (exp / "results.png").is_file()
    # Every stage logged its wall time.
    stages = [line.split("\t")[1] for line in (exp / "stage_times.tsv").read_text().splitlines()]
    assert stages == [str(s) for s in range(13)], stages
    # The trained AED exports to ONNX, and the toolkit (beam 3) and sherpa-onnx (greedy) decode
    # the export as PyTorch does (bench/onnx_aed.py exits 1 otherwise).
    bench = subprocess.run([sys.executable, str(REPO / "bench" / "onnx_aed.py"), "--model_dir",
                            str(exp / "aed" / "model"), "--data_dir", str(data / "test"),
                            "--onnx_dir", str(tmp_path / "onnx"), "--threads", "1"],
                           capture_output=True, text=True, timeout=300)
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-3000:]
    assert "| ONNX fp32 |" in bench.stdout and "| sherpa-onnx fp32 |" in bench.stdout
    # A re-run skips what is complete.
    again = subprocess.run(["bash", str(REPO / "recipes" / "mini" / "run.sh"), "--tiny", "true",
                            "--data", str(data), "--exp", str(exp), "--stop_stage", "2"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "complete, skipped" in again.stderr and "synthesising" not in again.stderr
