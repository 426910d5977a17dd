import json
import random

import pytest

from fireredasr.scoring.cer import align, score, text_to_tokens, write_results


def released_edit_distance(ref, hyp):
    """The released scorer's algorithm: minimum edit distance with equal costs (plain DP)."""
    prev = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        cur = [i] + [0] * len(hyp)
        for j in range(1, len(hyp) + 1):
            cur[j] = min(prev[j - 1] + (ref[i - 1] != hyp[j - 1]), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return prev[-1]


TRICKY = [
    ("甚至出现交易几乎停滞的情况", "甚至出现交易几乎停滞的情况"),
    ("我们用 iPhone 来说，OK？", "我们用IPHONE来说ok"),                     # case, punctuation
    ("今天（星期一）天气“很好”！", "今天星期一天气很好。"),                  # full-width marks
    ("hello,world.test", "HELLO WORLD TEST"),                              # ASCII punctuation
    ("你好<unk>世界", "你好世界"),                                            # <unk> removed
    ("我有<unk>个苹果", "我有<unk>个<unk>苹果"),
    ("这是参考", ""),                                                        # empty hypothesis
    ("", "多出来的"),                                                        # empty reference
    ("哈" * 30, "哈" * 45),                                                  # long repeats
    ("哈哈哈哈哈哈" + "好" * 20, "好" * 25),
    ("A B C 中文 D", "A C 中 文 D E"),
    ("2023年 GDP 增长了 5.2%", "二零二三年GDP增长了五点二"),
    ("Ｆｕｌｌ－ｗｉｄｔｈ ａｂｃ", "FULL-WIDTH ABC"),
]


def test_tokens_follow_the_released_rules():
    assert text_to_tokens("我们用 iPhone 来说，OK？") == ["我", "们", "用", "IPHONE", "来", "说", "OK"]
    assert text_to_tokens("你好<unk>世界") == ["你", "好", "世", "界"]
    assert text_to_tokens("a[b]c{d}e|f=g+h") == list("ABCDEFGH")
    assert text_to_tokens("") == []


def test_scorer_equals_released_algorithm_on_tricky_pairs():
    refs = {f"u{i}": r for i, (r, _) in enumerate(TRICKY)}
    hyps = {f"u{i}": h for i, (_, h) in enumerate(TRICKY)}
    summary, utts = score(refs, hyps)
    n = errors = 0
    for (r, h), u in zip(TRICKY, utts):
        ref, hyp = text_to_tokens(r), text_to_tokens(h)
        expected = released_edit_distance(ref, hyp)
        assert u.errors == expected, (r, h)
        assert len(u.ref) == len(ref)
        assert u.correct + u.sub + u.dele == len(ref) and u.correct + u.sub + u.ins == len(hyp)
        n += len(ref)
        errors += expected
    assert (summary.n, summary.errors) == (n, errors)
    assert summary.error_rate == pytest.approx(100.0 * errors / n)


def test_random_pairs_match_the_released_algorithm():
    rng = random.Random(0)
    alphabet = list("天地人你我他") + ["AB", "CD"]
    for _ in range(300):
        ref = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        hyp = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        c, s, d, i, ops = align(ref, hyp)
        assert s + d + i == released_edit_distance(ref, hyp)
        assert [r for _, r, _ in ops if r] == ref and [h for _, _, h in ops if h] == hyp


def test_missing_hypotheses_count_as_deletions_unless_skipped(caplog):
    refs = {"a": "一二三", "b": "四五"}
    hyps = {"a": "一二三"}
    summary, _ = score(refs, hyps)
    assert (summary.n, summary.dele, summary.missing_hyps) == (5, 2, 1)
    assert "scored as deletions" in caplog.text
    skipped, _ = score(refs, hyps, skip_missing=True)
    assert (skipped.n, skipped.errors) == (3, 0)


def test_english_digit_stats_groups_and_outputs(tmp_path):
    refs = {"a": "我 用 IPHONE 12", "b": "OK 好的", "c": "北京"}
    hyps = {"a": "我用 IPHONE 13", "b": "OKAY 好的", "c": "背景"}
    summary, utts = score(refs, hyps, groups={"a": "x", "b": "x", "c": "y"})
    assert (summary.en_words, summary.en_correct) == (2, 1)
    assert (summary.digit_words, summary.digit_correct) == (1, 0)
    assert summary.groups["y"].errors == 2 and summary.groups["x"].n == 7
    assert summary.sentence_errors == 3
    write_results(str(tmp_path / "wer"), summary, utts, {"model": "m", "test_set": "t"})
    data = json.loads((tmp_path / "wer.json").read_text())
    assert data["model"] == "m" and data["n"] == 9
    assert data["groups"]["y"]["error_rate"] == pytest.approx(100.0)
    align_text = (tmp_path / "wer.align").read_text()
    assert "c CER 100.00% N=2 S=2" in align_text and "op:  S S" in align_text
    assert "English #word=2, #correct=1" in (tmp_path / "wer").read_text()


def test_number_normalisation():
    assert text_to_tokens("我有2个", number_norm=True) == ["我", "有", "二", "个"]
    summary, _ = score({"a": "我有两个"}, {"a": "我有2个"}, number_norm=True)
    assert summary.errors == 1  # 二 vs 两: cn2an writes 二


def test_bom_in_hyp_file_does_not_lose_the_first_utterance(tmp_path, capsys):
    from fireredasr.bin.score import main

    ref, hyp = tmp_path / "text", tmp_path / "hyp"
    ref.write_text("u1 你好世界\nu2 今天天气\n", encoding="utf-8")
    hyp.write_bytes("\ufeffu1 你好世界\nu2 今天天气\n".encode("utf-8"))
    assert main(["--ref", str(ref), "--hyp", str(hyp), "--out", str(tmp_path / "new" / "wer")]) == 0
    res = json.load(open(tmp_path / "new" / "wer.json"))  # --out's folder was created
    assert res["error_rate"] == 0.0 and res["missing_hyps"] == 0


def test_empty_reference_is_warned_and_counted(caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        summary, _ = score({"u1": "你好", "u2": "，。"}, {"u1": "你好", "u2": "多出来的字"})
    assert summary.empty_refs == 1 and summary.ins == 5
    assert "1 references are empty after normalisation" in caplog.text
    assert "empty reference" in summary.format()


def test_non_utf8_hyp_is_named(tmp_path, caplog):
    from fireredasr.bin.score import main

    ref, hyp = tmp_path / "text", tmp_path / "hyp"
    ref.write_text("u1 你好\n", encoding="utf-8")
    hyp.write_bytes("u1 你好\n".encode("gbk"))
    assert main(["--ref", str(ref), "--hyp", str(hyp)]) == 1
    assert f"{hyp}:1: not valid UTF-8" in caplog.text


# English pairs, scored in words as LibriSpeech's published numbers are (upper-case,
# punctuation removed, apostrophes inside words kept, hyphens between words split).
ENGLISH = [
    ("HE HOPED THERE WOULD BE STEW FOR DINNER", "he hoped there would be stew for dinner"),
    ("IT'S A GOOD THING I DON'T KNOW", "its a good thing i don't know."),     # apostrophes
    ("THE STUDENTS' BOOKS", "the students books"),                            # closing one
    ("A WELL KNOWN STORY", "a well-known story"),                             # hyphen
    ("'TWAS THE NIGHT", "'twas the night"),                                   # opening quote
    ("SHE SAID 'HELLO' TO ME", "she said hello to me"),                       # quote marks
    ("TWENTY THREE MEN", "23 men"),                                           # numbers
    ("TWO THOUSAND AND TWO", "2002"),
    ("THE END", ""),                                                          # empty hypothesis
    ("", "EXTRA WORDS"),                                                      # empty reference
]


def jiwer_reference_normalise(text: str) -> str:
    """An independent statement of the English rule, through jiwer's own transforms."""
    import re

    import jiwer
    text = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z\s]|$)", " ", text).replace("-", " ")
    return jiwer.Compose([jiwer.ToUpperCase(), jiwer.RemovePunctuation(),
                          jiwer.RemoveMultipleSpaces(), jiwer.Strip()])(
        text.replace("'", "\u0000")).replace("\u0000", "'")


@pytest.mark.parametrize("ref,hyp", ENGLISH)
def test_english_wer_counts_equal_jiwer(ref, hyp):
    import jiwer
    summary, _ = score({"u": ref}, {"u": hyp})
    r, h = jiwer_reference_normalise(ref), jiwer_reference_normalise(hyp)
    assert text_to_tokens(ref) == r.split() and text_to_tokens(hyp) == h.split()
    if not r.split():
        assert summary.ins == len(h.split()) and summary.n == 0
        return
    out = jiwer.process_words(r, h if h else "")
    assert (summary.sub, summary.dele, summary.ins) == (out.substitutions, out.deletions,
                                                        out.insertions)
    assert summary.metric == "WER"


def test_metric_names_follow_the_reference_script():
    assert score({"u": "今天天气"}, {"u": "今天"})[0].metric == "CER"
    assert score({"u": "GOOD DAY"}, {"u": "GOOD"})[0].metric == "WER"
    mixed, _ = score({"u": "我们用 IPHONE 来说"}, {"u": "我们用 IPHONE 来"})
    assert mixed.metric == "MER" and mixed.n == 6 and mixed.dele == 1
    assert json.loads(json.dumps(mixed.to_dict()))["metric"] == "MER"
