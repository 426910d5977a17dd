import json

from fireredasr.bin.results_table import main as results_main
from fireredasr.scoring.results_table import collect_scores, make_table


def write(path, model, test_set, cer, groups=None):
    path.mkdir(parents=True)
    res = {"model": model, "test_set": test_set, "error_rate": cer}
    if groups:
        res["groups"] = {g: {"error_rate": v} for g, v in groups.items()}
    (path / "wer.json").write_text(json.dumps(res))


def test_table_rows_columns_average_and_dialects(tmp_path):
    write(tmp_path / "a" / "decode_test", "aed_s", "aishell1", 4.5)
    write(tmp_path / "b" / "decode_test_ios", "aed_s", "aishell2_ios", 6.25)
    write(tmp_path / "c" / "decode_net", "aed_s", "ws_net", 10.0)
    write(tmp_path / "c" / "decode_meeting", "aed_s", "ws_meeting", 12.0)
    write(tmp_path / "d" / "decode_test", "aed_s", "kespeech", 9.0,
          {"Mandarin": 5.0, "Southwestern": 11.5})
    write(tmp_path / "e" / "decode_test", "aed_m", "aishell1", 3.0)
    scores = collect_scores([str(tmp_path)])
    table = make_table(scores)
    lines = table.splitlines()
    assert "| model | aishell1 test | aishell2 test_ios | WenetSpeech test_net |" in table
    # The published rows bring the LibriSpeech columns (WER); the average stays over the
    # four Mandarin sets.
    assert "| kespeech test | LibriSpeech test-clean (WER) | LibriSpeech test-other (WER) |" \
        in table.replace("KeSpeech test", "kespeech test")
    assert "| aed_s | 4.50 | 6.25 | 10.00 | 12.00 | 9.00 | - | - | 8.19 |" in lines
    assert "| aed_m | 3.00 | - | - | - | - | - | - | - |" in lines
    assert ("| FireRedASR-LLM-L (published) | 0.76 | 2.15 | 4.60 | 4.67 | 3.56 | 1.73 | 3.67 "
            "| 3.05 |") in lines
    assert "| model | Mandarin | Southwestern |" in table
    assert "| aed_s | 5.00 | 11.50 |" in lines


def test_cli_writes_table_and_plot(tmp_path, capsys):
    write(tmp_path / "x", "m", "aishell1", 1.0)
    out, png = tmp_path / "t.md", tmp_path / "t.png"
    assert results_main([str(tmp_path), "--out", str(out), "--plot", str(png)]) == 0
    assert "| m | 1.00 |" in out.read_text() and png.stat().st_size > 1000
    assert results_main([str(tmp_path / "empty")]) == 1
