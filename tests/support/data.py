"""Where the SVC2004 signatures are: `AUTHATURE_SIGNATURE_DATA` or `<repo>/../shared/data`.

They are research material: tests read them in place and never copy them into the repository.
Without them the tests that need them skip with the reason, unless AUTHATURE_REQUIRE_DATA=1
(CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from authature.biometrics.svc2004 import signature_data_root

REPO_ROOT = Path(__file__).resolve().parents[2]


def signature_data_dir() -> Path:
    folder = signature_data_root(REPO_ROOT.parent / "shared" / "data")
    if not (folder / "svc2004").is_dir():
        reason = (
            f"SVC2004 signature data not found at {folder} "
            "(set AUTHATURE_SIGNATURE_DATA to the folder holding svc2004/)"
        )
        if os.environ.get("AUTHATURE_REQUIRE_DATA") == "1":
            pytest.fail(reason + "; AUTHATURE_REQUIRE_DATA=1 makes this an error")
        pytest.skip(reason)
    return folder


def svc2004_path(user: int, sample: int, task: int = 2) -> Path:
    """`U<user>S<sample>.TXT`: samples 1-20 are genuine, 21-40 skilled forgeries."""
    path = signature_data_dir() / "svc2004" / f"Task{task}" / f"U{user}S{sample}.TXT"
    if not path.is_file():
        pytest.skip(f"SVC2004 file {path} not found")
    return path
