from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from authature.biometrics.capture import parse_capture
from authature.biometrics.quality import quality_problem
from authature.biometrics.svc2004 import (
    genuine_files,
    list_files,
    list_users,
    load_signature,
    skilled_forgery_files,
    to_payload,
)

pytestmark = pytest.mark.data


def test_listing_follows_the_layout(svc: Path) -> None:
    users = list_users(svc / "Task2")
    assert users == list(range(1, 31))
    assert [f.sample for f in genuine_files(svc / "Task2", 3)] == list(range(1, 21))
    assert [f.sample for f in skilled_forgery_files(svc / "Task2", 3)] == list(range(21, 41))


def test_pen_status_above_one_is_pen_down_and_zero_starts_a_stroke(svc: Path) -> None:
    path = svc / "Task2" / "U25S14.TXT"
    rows = np.loadtxt(path, skiprows=1)
    c = load_signature(path)
    assert c.point_count == len(rows)
    assert c.stroke_count == int(np.sum(rows[1:, 3] == 0)) + 1


def test_every_file_posts_cleanly_and_genuine_ones_pass_quality(svc: Path) -> None:
    for task in ("Task1", "Task2"):
        for f in list_files(svc / task):
            payload = to_payload(f.path)
            c = parse_capture(json.loads(json.dumps(payload)))
            assert c.point_count > 0
            if f.is_genuine:
                assert quality_problem(c) is None, f.path.name


def test_time_is_clamped_y_flipped_and_pressure_scaled(svc: Path) -> None:
    c = load_signature(svc / "Task2" / "U1S1.TXT")
    pts = c.points()
    assert np.all(np.diff(pts[:, 2]) >= 0)
    assert pts[:, 3].min() >= 0 and pts[:, 3].max() <= 1 and c.has_pressure
    assert pts[:, 0].min() >= 0 and pts[:, 0].max() <= 600 and pts[:, 1].max() <= 200
    raw = np.loadtxt(svc / "Task2" / "U1S1.TXT", skiprows=1)
    # the highest tablet point is the smallest screen y
    assert pts[int(np.argmax(raw[:, 1])), 1] == pytest.approx(pts[:, 1].min())
    assert not load_signature(svc / "Task1" / "U1S1.TXT").has_pressure
