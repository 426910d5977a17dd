import shutil

import kaldiio
import numpy as np
import pytest

from fireredasr.data.cmvn import GlobalCMVN
from fireredasr.data.feature_extraction import (compute_cmvn_stats, compute_fbank_dir,
                                                features_complete)
from fireredasr.data.frontend import Frontend
from fireredasr.data.kaldi_dir import DataDir, validate
from tests.conftest import REAL_EXAMPLES, REAL_UTTS
from tests.fake_corpora import real_examples_dir


@pytest.fixture
def data_dir(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    pipe = f"cat {REAL_EXAMPLES / (REAL_UTTS[1] + '.wav')} |"
    return real_examples_dir(tmp_path / "d", extra_wavs={"zz_bad": str(bad), "zz_pipe": pipe})


def test_parallel_jobs_equal_one_job_and_the_frontend(data_dir, tmp_path):
    other = str(tmp_path / "d2")
    shutil.copytree(data_dir, other)
    r1 = compute_fbank_dir(data_dir, nj=1)
    r2 = compute_fbank_dir(other, nj=2)
    assert r1.kept == r2.kept == 5
    assert r1.skipped == r2.skipped == {"unreadable audio": 1}
    d1, d2 = DataDir.load(data_dir), DataDir.load(other)
    assert list(d1.feats) == list(d2.feats) == sorted(REAL_UTTS) + ["zz_pipe"]
    assert "zz_bad" not in d1.text and validate(data_dir) == []
    frontend = Frontend(None)
    for utt in d1.feats:
        a, b = kaldiio.load_mat(d1.feats[utt]), kaldiio.load_mat(d2.feats[utt])
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, frontend.load(d1.wav[utt])[0].numpy())
    assert features_complete(data_dir)


def test_cmvn_from_features_equals_cmvn_from_audio(data_dir, tmp_path):
    on_the_fly = compute_cmvn_stats(data_dir)  # no feats.scp yet: from audio (bad file skipped)
    compute_fbank_dir(data_dir)
    stored = compute_cmvn_stats(data_dir)
    np.testing.assert_allclose(stored, on_the_fly, rtol=1e-9)
    subset = compute_cmvn_stats(data_dir, num_utts=2, seed=3)
    assert subset[0, -1] < stored[0, -1]
    cmvn = GlobalCMVN(stored)
    allf = np.concatenate([kaldiio.load_mat(v) for v in DataDir.load(data_dir).feats.values()])
    normed = cmvn(allf)
    np.testing.assert_allclose(normed.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(normed.std(0), 1, atol=1e-4)


def test_feature_workers_end_with_a_killed_parent(tmp_path):
    """SIGTERM to `fireredasr-compute-fbank --nj 2` must not leave its workers running."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    wav = REAL_EXAMPLES / (REAL_UTTS[1] + ".wav")
    slow = {f"zz{i:02d}": f"sleep 1; cat {wav} |" for i in range(40)}  # 40 s of work
    data = real_examples_dir(tmp_path / "slow", utts=REAL_UTTS[:1], extra_wavs=slow)
    proc = subprocess.Popen([sys.executable, "-m", "fireredasr.bin.compute_fbank", "--nj", "2",
                             data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and len(workers) < 2:
        workers = [p for p in parent.children() if "python" in p.name().lower()]
        time.sleep(0.1)
    assert len(workers) == 2, "the worker processes did not start"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=20)
    for p in alive:  # clean up before failing
        p.kill()
    assert not alive, f"{len(alive)} workers outlived their parent"
