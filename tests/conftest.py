"""Shared fixtures. Large reference folders live in ../shared/data beside the clone: tests that
need them skip when it is absent, and fail instead when FIREREDASR_REQUIRE_SHARED=1 (CI)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
REAL_EXAMPLES = FIXTURES / "real_examples"
SHARED_DATA = Path(os.environ.get("FIREREDASR_SHARED_DIR", REPO.parent / "shared")) / "data"

REAL_UTTS = ["BAC009S0764W0121", "IT0011W0001", "TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000",
             "TEST_MEETING_T0000000001_S00000"]


def real_examples_data_dir(path: Path) -> Path:
    """A Kaldi data dir (absolute wav paths, utt2spk, text) of the four real recordings."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "wav.scp").write_text("".join(f"{u} {REAL_EXAMPLES / (u + '.wav')}\n" for u in REAL_UTTS))
    (path / "utt2spk").write_text("".join(f"{u} {u}\n" for u in REAL_UTTS))
    (path / "text").write_text((REAL_EXAMPLES / "text").read_text(encoding="utf-8"),
                               encoding="utf-8")
    return path


def shared_path(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        msg = f"shared reference data not found: {path}"
        if os.environ.get("FIREREDASR_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " (FIREREDASR_REQUIRE_SHARED=1)")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def ref_aed_dir() -> Path:
    return shared_path("reference_aed_small")


@pytest.fixture(scope="session")
def expected_hyps(ref_aed_dir) -> dict:
    return json.loads((ref_aed_dir / "expected_hyps.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def expected_encoder(ref_aed_dir) -> dict:
    return torch.load(ref_aed_dir / "expected_encoder.pt", weights_only=True)


@pytest.fixture(scope="session")
def real_wavs() -> dict:
    return {u: str(REAL_EXAMPLES / f"{u}.wav") for u in REAL_UTTS}


@pytest.fixture(scope="session")
def ref_aed_api(ref_aed_dir):
    from fireredasr.models.fireredasr import FireRedAsr

    return FireRedAsr.from_pretrained("aed", str(ref_aed_dir))


@pytest.fixture(scope="session")
def ref_llm_dir() -> Path:
    return shared_path("reference_llm_small")


@pytest.fixture(scope="session")
def ref_llm_api(ref_llm_dir):
    from fireredasr.models.fireredasr import FireRedAsr

    return FireRedAsr.from_pretrained("llm", str(ref_llm_dir))


@pytest.fixture(scope="session")
def ref_aed2_dir() -> Path:
    return shared_path("reference_aed2_small")


@pytest.fixture(scope="session")
def ref_aed2_api(ref_aed2_dir):
    from fireredasr.models.fireredasr import FireRedAsr

    return FireRedAsr.from_pretrained("aed", str(ref_aed2_dir))


@pytest.fixture(scope="session")
def expected_hyps2(ref_aed2_dir) -> dict:
    return json.loads((ref_aed2_dir / "expected_hyps.json").read_text(encoding="utf-8"))
