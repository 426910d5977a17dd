import hashlib
import subprocess
import sys
import tarfile

import pytest

from fireredasr.data.download import DownloadError, download, extract
from tests.conftest import REPO
from tests.fake_corpora import AISHELL1_UTTS, make_aishell1_archives
from tests.local.http_server import FileServer


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    return make_aishell1_archives(tmp_path_factory.mktemp("aishell_src"))


def test_md5_verified_download(tmp_path, archives):
    data = archives["resource_aishell.tgz"]
    with FileServer({"r.tgz": data}) as srv:
        out = download(f"{srv.url}/r.tgz", str(tmp_path / "r.tgz"), md5(data))
        assert open(out, "rb").read() == data
        # A second call finds the verified file and fetches nothing.
        n = len(srv.requests)
        download(f"{srv.url}/r.tgz", str(tmp_path / "r.tgz"), md5(data))
        assert len(srv.requests) == n


def test_interrupted_download_resumes(tmp_path, archives):
    data = archives["data_aishell.tgz"]
    with FileServer({"d.tgz": data}) as srv:
        srv.cut_once.add("d.tgz")
        download(f"{srv.url}/d.tgz", str(tmp_path / "d.tgz"), md5(data), backoff=0.01)
        assert (tmp_path / "d.tgz").read_bytes() == data
        ranges = [r for _, r in srv.requests]
        assert ranges[0] is None and ranges[1] == f"bytes={len(data) // 2}-"


def test_corrupt_archive_is_refused_and_never_unpacked(tmp_path, archives):
    data = bytearray(archives["data_aishell.tgz"])
    data[len(data) // 2] ^= 0xFF
    with FileServer({"d.tgz": bytes(data)}) as srv:
        with pytest.raises(DownloadError, match="md5 .* does not match"):
            download(f"{srv.url}/d.tgz", str(tmp_path / "d.tgz"), md5(archives["data_aishell.tgz"]))
    assert not (tmp_path / "d.tgz").exists() and (tmp_path / "d.tgz.corrupt").exists()


def test_truncated_archive_leaves_no_half_made_tree(tmp_path, archives):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(archives["data_aishell.tgz"][:-200])
    with pytest.raises(DownloadError, match="cannot unpack"):
        extract(str(bad), str(tmp_path / "out"))
    assert list((tmp_path / "out").iterdir()) == []


def test_unsafe_members_are_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    payload = tmp_path / "x.txt"
    payload.write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(payload, arcname="../escape.txt")
    with pytest.raises(DownloadError, match="unsafe"):
        extract(str(evil), str(tmp_path / "out"))
    assert not (tmp_path / "escape.txt").exists()


def test_download_aishell_script(tmp_path, archives):
    md5s = [a for name, b in archives.items() for a in ("--md5", name, md5(b))]
    with FileServer(archives) as srv:
        srv.cut_once.add("data_aishell.tgz")
        proc = subprocess.run([sys.executable, str(REPO / "local" / "download_aishell.py"),
                               "--dest", str(tmp_path), "--base_url", srv.url, *md5s],
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr
    for utt, (part, spk, _, _) in AISHELL1_UTTS.items():
        assert (tmp_path / "data_aishell" / "wav" / part / spk / f"{utt}.wav").is_file()
    assert (tmp_path / "data_aishell" / "transcript" / "aishell_transcript_v0.8.txt").is_file()
    assert (tmp_path / "resource_aishell" / "lexicon.txt").is_file()
