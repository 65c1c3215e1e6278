"""Bad input: schemathesis against /openapi.json, and a corpus of malformed signature POSTs.

The schemathesis run generates requests from the OpenAPI document (including deliberately
invalid ones) and checks that the server never answers 5xx and that every answer has a
documented status, content type and body shape. The corpus aims at the signature POST, the
endpoint that takes the largest and most structured input: each malformed capture gets a 4xx
that names the problem, and nothing stored changes.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from support.data import svc2004_path
from support.oauth_flow import new_identifier, register, sign_in
from support.server import LiveServer, run_server, settings_for
from support.signin import Page, authorize_url, capture_json, follow, open_page, post

from authature.config import RateLimits
from authature.store import models
from authature.store.db import Database

REDIRECT = "http://127.0.0.1:9/callback"
NO_LIMITS = RateLimits(60, 0, 0, 0, 0, 0, payment_per_ip=0)  # a fuzzer is a flood by design


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    tmp_path: Path, database_url: str
) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    settings = replace(settings_for(tmp_path, database_url), rate_limits=NO_LIMITS)
    with run_server(settings) as server:
        client = register(server)
        done = subprocess.run(
            [
                st,
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,"
                "response_headers_conformance,response_schema_conformance",
                "--phases",
                "coverage,fuzzing,stateful",
                "--max-time",
                "25",
                "--max-redirects",
                "0",
                "--auth",
                f"{client.client_id}:{client.secret}",
                "--seed",
                "20261203",
                "--generation-database",
                "none",
                "--workers",
                "2",
                "--request-timeout",
                "20",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]


# -- the signature POST ------------------------------------------------------------------------


def _capture(**changes: Any) -> dict[str, Any]:
    """A well-formed capture (a short zig-zag), to be spoiled one way at a time."""
    strokes = [[[10.0 + i * 3, 50.0 + (i % 5) * 4, i * 8.0, 0.5] for i in range(60)]]
    return {
        "strokes": strokes,
        "width": 400,
        "height": 200,
        "dpr": 1,
        "pointer_type": "pen",
        **changes,
    }


def _with_point(point: object) -> dict[str, Any]:
    capture = _capture()
    capture["strokes"][0][5] = point
    return capture


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


_BACKWARDS = _capture()
_BACKWARDS["strokes"][0][30][2] = 1.0  # time goes back in the middle of the stroke
_NEGATIVE_AND_DECREASING = _capture(strokes=[[[10.0 + i, 50.0, -float(i), 0.5] for i in range(40)]])

# (what, the capture field as sent, a word the answer must contain)
CORPUS: list[tuple[str, str, str]] = [
    ("NaN", json.dumps(_with_point([1.0, 2.0, math.nan, 0.5])), "finite"),
    ("Infinity", json.dumps(_with_point([math.inf, 2.0, 40.0, 0.5])), "finite"),
    ("-Infinity", json.dumps(_with_point([1.0, -math.inf, 40.0, 0.5])), "finite"),
    ("1e999", json.dumps(_capture()).replace("0.5]", "1e999]", 1), "finite"),
    (
        "too many points",
        json.dumps(_capture(strokes=[[[1, 1, i, 0.5] for i in range(10_001)]])),
        "10,000 points",
    ),
    (
        "too many strokes",
        json.dumps(_capture(strokes=[[[1, 1, i, 0.5]] for i in range(65)])),
        "64 strokes",
    ),
    ("time goes backwards", json.dumps(_BACKWARDS), "backwards"),
    ("negative, decreasing times", json.dumps(_NEGATIVE_AND_DECREASING), "backwards"),
    (
        "too long",
        json.dumps(_capture(strokes=[[[1, 1, 0, 0.5], [2, 2, 61_000, 0.5]]])),
        "60 seconds",
    ),
    ("numbers as strings", json.dumps(_with_point(["1", "2", "40", "0.5"])), "four numbers"),
    ("booleans as numbers", json.dumps(_with_point([True, False, 40, 0.5])), "four numbers"),
    ("a point as an object", json.dumps(_with_point({"x": 1})), "four numbers"),
    ("three values", json.dumps(_with_point([1, 2, 40])), "four numbers"),
    ("null point", json.dumps(_with_point(None)), "four numbers"),
    ("strokes as a string", json.dumps(_capture(strokes="zigzag")), "list of strokes"),
    ("no strokes", json.dumps(_capture(strokes=[])), "empty"),
    ("an empty stroke", json.dumps(_capture(strokes=[[]])), "at least one point"),
    ("not an object", json.dumps([1, 2, 3]), "JSON object"),
    ("width as text", json.dumps(_capture(width="wide")), "must be a number"),
    ("zero height", json.dumps(_capture(height=0)), "more than 0"),
    ("huge canvas", json.dumps(_capture(width=1e12)), "at most"),
    ("pressure 5", json.dumps(_with_point([1, 2, 40, 5])), "Pressure"),
    ("outside the canvas", json.dumps(_with_point([-500, 2, 40, 0.5])), "inside"),
    ("not JSON", "{strokes: [[1, 2, 3, 4]]", "could not be read"),
    ("nested 100,000 deep", _nested(100_000), "could not be read"),
    ("empty", "", "sign in the box"),
]


def _snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row, except what showing and answering a page legitimately changes: the
    auth request's one-time page nonce and message, and the rate limit counters."""
    volatile = {"auth_requests": {"page_nonce_digest", "message"}, "rate_limits": {"*"}}
    found: dict[str, list[tuple[Any, ...]]] = {}
    with database.engine.connect() as conn:
        for table in models.Base.metadata.sorted_tables:
            skip = volatile.get(table.name, set())
            if "*" in skip:
                continue
            columns = [c for c in table.columns if c.name not in skip]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(r) for r in rows]
    return found


def _signing_page(server: LiveServer, http: httpx.Client) -> tuple[Page, str]:
    """A known user's signing (verify) step."""
    client = register(server)
    identifier = new_identifier()
    assert sign_in(http, client.client_id, identifier=identifier, writer=9).status_code == 302
    page = open_page(http, authorize_url(client.client_id, REDIRECT))
    step = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    assert isinstance(step, Page) and step.status_code == 200
    return step, client.client_id


def test_malformed_signatures_get_a_4xx_naming_the_problem_and_change_nothing(
    tmp_path: Path, database_url: str
) -> None:
    settings = replace(settings_for(tmp_path, database_url), rate_limits=NO_LIMITS)
    with run_server(settings) as server, server.http() as http:
        page, _ = _signing_page(server, http)
        before = _snapshot(server.services.database)
        for what, capture, word in CORPUS:
            r = post(http, page, "signature", {"capture": capture})
            assert 400 <= r.status_code < 500, (what, r.status_code)
            assert word in r.text, (what, word, r.text[-3000:])
            page = Page(page.url, r.text, r.status_code)  # the answer carries a fresh nonce
        assert _snapshot(server.services.database) == before

        # And the page still works: the writer's own signature goes through.
        done = post(http, page, "signature", {"capture": capture_json(svc2004_path(9, 4))})
        assert done.status_code == 302 and "code=" in done.headers["location"], done.text[-2000:]


def test_oversized_bodies_are_refused_before_they_are_read(
    tmp_path: Path, database_url: str
) -> None:
    settings = replace(settings_for(tmp_path, database_url), rate_limits=NO_LIMITS)
    with run_server(settings) as server, server.http() as http:
        page, client_id = _signing_page(server, http)
        before = _snapshot(server.services.database)
        ten_mb = "[" + ",".join(["[1,2,3,0.5]"] * 900_000) + "]"
        assert len(ten_mb) > 10_000_000
        cases = {
            "10 MB capture": {"nonce": page.nonce, "capture": ten_mb},
            "700 kB field": {"nonce": page.nonce, "capture": "x" * 700_000},
        }
        for what, data in cases.items():
            r = http.post(f"{page.url}/signature", data=data)
            assert 400 <= r.status_code < 500, what
            assert "larger than" in r.text or "too long" in r.text, (what, r.text[-2000:])
        as_json = http.post(f"{page.url}/signature", json={"capture": "{}"})
        assert as_json.status_code == 400 and "urlencoded" in as_json.text
        token = http.post("/oauth/token", data={"code": "x" * 10_500_000, "client_id": client_id})
        assert token.status_code == 400
        assert token.json()["error"] == "invalid_request"
        assert "larger than" in token.json()["error_description"]
        assert _snapshot(server.services.database) == before
