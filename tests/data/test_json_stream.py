import io
import json

import pytest

from fireredasr.data.json_stream import iter_json_array


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_streams_every_element_at_any_chunk_size(chunk):
    doc = {"dataset": "x", "note": "audios is not this", "audios": [
        {"aid": "a", "segments": [{"sid": "a_1", "text": "中文 ]},[", "t": 1.25}]},
        {"aid": "b", "segments": []}, 12345, "s", [1, 2], {"x": {"y": [3.5e-3]}}],
        "tail": 1}
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    assert list(iter_json_array(io.StringIO(text), "audios", chunk)) == doc["audios"]


def test_errors_are_clear():
    with pytest.raises(ValueError, match="no array under key"):
        list(iter_json_array(io.StringIO('{"a": 1}'), "audios"))
    with pytest.raises(ValueError, match="ends inside"):
        list(iter_json_array(io.StringIO('{"audios": [1, 2'), "audios"))
