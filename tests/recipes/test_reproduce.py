"""Stages 5 and 9 end to end: the reference model on four one-utterance test sets."""
import json
import subprocess

from tests.conftest import REPO
from tests.fake_corpora import real_examples_dir

SETS = {  # corpus, test set -> utterance
    ("aishell", "test"): "BAC009S0764W0121",
    ("aishell2", "test_ios"): "IT0011W0001",
    ("wenetspeech", "test_net"): "TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000",
    ("wenetspeech", "test_meeting"): "TEST_MEETING_T0000000001_S00000",
}
COLUMNS = {"test": "aishell1", "test_ios": "aishell2_ios", "test_net": "ws_net",
           "test_meeting": "ws_meeting"}


def test_reproduce_published_table(ref_aed_dir, tmp_path):
    for (corpus, name), utt in SETS.items():
        real_examples_dir(tmp_path / "data" / corpus / name, [utt])
    # An English set (Mandarin audio, English reference: the reference model cannot get it
    # right) fills the LibriSpeech column in WER.
    english = tmp_path / "data" / "librispeech" / "test_clean"
    real_examples_dir(english, [SETS[("aishell", "test")]])
    (english / "text").write_text(f"{SETS[('aishell', 'test')]} HE HOPED THERE WOULD BE STEW\n")
    exp = tmp_path / "exp"
    proc = subprocess.run(["bash", str(REPO / "recipes" / "reproduce_published.sh"),
                           "--model_dir", str(ref_aed_dir), "--data_root", str(tmp_path / "data"),
                           "--exp_root", str(exp), "--model_name", "ref-small"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kespeech: no data dirs" in proc.stderr
    table = (exp / "RESULTS.md").read_text(encoding="utf-8")
    assert (exp / "results.png").stat().st_size > 1000
    row = next(line for line in table.splitlines() if line.startswith("| ref-small"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    header = [c.strip() for c in table.splitlines()[2].strip("|").split("|")]
    # Each CER in the table is the one the decode produced.
    cers = {}
    for (corpus, name), utt in SETS.items():
        res = json.load(open(exp / corpus / "ref-small" / f"decode_{name}" / "wer.json"))
        assert res["test_set"] == COLUMNS[name] and res["sentences"] == 1
        cers[COLUMNS[name]] = res["error_rate"]
    assert cells[header.index("aishell1 test")] == f"{cers['aishell1']:.2f}"
    assert cells[header.index("aishell2 test_ios")] == f"{cers['aishell2_ios']:.2f}"
    assert cells[header.index("WenetSpeech test_net")] == f"{cers['ws_net']:.2f}"
    assert cells[header.index("WenetSpeech test_meeting")] == f"{cers['ws_meeting']:.2f}"
    assert cells[-1] == f"{sum(cers.values()) / 4:.2f}"
    en = json.load(open(exp / "librispeech" / "ref-small" / "decode_test_clean" / "wer.json"))
    assert en["metric"] == "WER" and en["test_set"] == "librispeech_clean" and en["n"] == 6
    assert cells[header.index("LibriSpeech test-clean (WER)")] == f"{en['error_rate']:.2f}"
    assert ("| FireRedASR-AED-L (published) | 0.55 | 2.52 | 4.88 | 4.76 | 4.48 | 1.93 | 4.44 "
            "| 3.18 |") in table
    # The reference model transcribes the AISHELL-1 example perfectly.
    assert cers["aishell1"] == 0.0


def test_reproduce_with_the_llm_model(ref_llm_dir, tmp_path):
    real_examples_dir(tmp_path / "data" / "aishell" / "test", [SETS[("aishell", "test")]])
    exp = tmp_path / "exp"
    proc = subprocess.run(["bash", str(REPO / "recipes" / "reproduce_published.sh"),
                           "--asr_type", "llm", "--model_dir", str(ref_llm_dir),
                           "--data_root", str(tmp_path / "data"), "--exp_root", str(exp),
                           "--corpora", "aishell"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.load(open(exp / "aishell" / "reference_llm_small" / "decode_test" / "wer.json"))
    assert res["error_rate"] == 0.0
    decode = json.load(open(exp / "aishell" / "reference_llm_small" / "decode_test" / "decode.json"))
    assert decode["settings"]["repetition_penalty"] == 3.0 and decode["settings"]["beam_size"] == 3
    assert "| reference_llm_small | 0.00 |" in (exp / "RESULTS.md").read_text()
