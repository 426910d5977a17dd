from fireredasr.decode.postprocess import collapse_repeats


def test_collapses_runaway_loops_only():
    assert collapse_repeats("好的" + "哈" * 20, max_repeats=3) == "好的哈哈哈"
    assert collapse_repeats("我们" * 10 + "走吧", max_repeats=2) == "我们我们走吧"
    assert collapse_repeats("OK " * 9 + "好", max_repeats=2) == "OK OK 好"
    normal = "今天天气很好 HELLO WORLD 谢谢谢谢"
    assert collapse_repeats(normal) == normal
