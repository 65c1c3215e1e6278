"""Shared fixtures: where the SVC2004 data lives, and synthetic captures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from authature.biometrics.capture import Capture, parse_capture

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("AUTHATURE_SIGNATURE_DATA", REPO.parent / "shared" / "data"))
SVC = DATA / "svc2004"


def _require_data() -> Path:
    if not (SVC / "Task2").is_dir() or not (SVC / "Task1").is_dir():
        pytest.skip(
            f"SVC2004 data not found at {SVC} (set AUTHATURE_SIGNATURE_DATA to the folder "
            "holding svc2004/)"
        )
    return SVC


@pytest.fixture(scope="session")
def svc() -> Path:
    return _require_data()


def squiggle_payload(n: int = 120, phase: float = 0.0, jitter: float = 0.0) -> dict[str, object]:
    """A synthetic two-stroke scribble (no real signature data)."""
    import math

    strokes = []
    t = 0.0
    for s in range(2):
        pts = []
        for i in range(n // 2):
            a = i / (n // 2) * 4 * math.pi + phase
            x = 40 + 200 * s + i * 3 + 25 * math.sin(a) + jitter * math.sin(7 * a)
            y = 100 + 40 * math.cos(1.5 * a + s) + jitter * math.cos(5 * a)
            pts.append([round(x, 2), round(y, 2), t, 0.5 + 0.3 * math.sin(a)])
            t += 10.0
        strokes.append(pts)
        t += 150.0
    return {"strokes": strokes, "width": 600, "height": 200, "dpr": 2, "pointer_type": "pen"}


@pytest.fixture
def squiggle() -> Capture:
    return parse_capture(squiggle_payload())


@pytest.fixture
def make_payload() -> object:
    return squiggle_payload
