"""Replay (SPEC 7) over real HTTP: a copy of any stored sample is refused, also one that
template updates retired, and also one redrawn slower, smaller or on a stretched canvas."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from support.data import svc2004_path
from support.server import LiveServer, run_server, settings_for
from support.signin import Page, authorize_url, enroll, follow, open_page, post

from authature.biometrics.svc2004 import to_payload
from authature.store import models

REDIRECT = "http://127.0.0.1:9/callback"
COPY = "copy of an earlier one"
pytestmark = pytest.mark.data


@pytest.fixture()
def small_set_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    # Three references at most, so that the first template update retires an enrollment sample.
    with run_server(replace(settings_for(tmp_path, database_url), max_references=3)) as live:
        yield live


def _post_capture(
    http: httpx.Client, url: str, identifier: str, payload: dict[str, Any]
) -> Page | httpx.Response:
    page = open_page(http, url)
    result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    assert isinstance(result, Page), result
    data = {"capture": json.dumps(payload)}
    return follow(http, result, post(http, result, "signature", data))


def _reasons(server: LiveServer) -> list[str]:
    with server.services.database.engine.connect() as conn:
        rows = conn.execute(
            select(models.VerificationAttempt.reason).order_by(models.VerificationAttempt.pk)
        )
        return list(rows.scalars())


def _inactive_references(server: LiveServer) -> int:
    with server.services.database.engine.connect() as conn:
        rows = conn.execute(
            select(models.Signature.pk).where(
                models.Signature.role == "reference", models.Signature.active.is_(False)
            )
        )
        return len(list(rows))


def test_a_copy_of_a_retired_reference_is_refused(small_set_server: LiveServer) -> None:
    server = small_set_server
    client = server.create_client([REDIRECT])
    url = authorize_url(client.client.client_id, REDIRECT)
    identifier = "retired@example.com"
    with server.http() as http:
        assert enroll(http, url, identifier, [svc2004_path(1, n) for n in (1, 2, 3)]).status_code
        # Genuine sign-ins until one scores clearly enough to join the set and retire the oldest
        # enrollment sample (U1S1).
        for n in range(11, 21):
            result = _post_capture(http, url, identifier, to_payload(svc2004_path(1, n)))
            if _inactive_references(server):
                break
            if isinstance(result, Page):  # refused (the verifier's FRR): start again
                continue
        assert _inactive_references(server) == 1, "no sign-in updated the references"
        # The store tells the added reference from the enrollment's (the model is chosen by it).
        with server.services.uow() as repos:
            user = repos.users.by_identifier(identifier)
            assert user is not None
            flags = [r.from_update for r in repos.signatures.reference_refs(user.pk)]
        assert flags == [False, False, True]
        copy = _post_capture(http, url, identifier, to_payload(svc2004_path(1, 1)))
    assert isinstance(copy, Page)
    assert COPY in copy.status, copy.status
    assert _reasons(server)[-1] == "replay"


def _scaled(payload: dict[str, Any], *, t: float = 1.0, x: float = 1.0, y: float = 1.0) -> Any:
    strokes = [[[p[0] * x, p[1] * y, p[2] * t, p[3]] for p in s] for s in payload["strokes"]]
    return {**payload, "strokes": strokes}


def _with_midpoints(payload: dict[str, Any]) -> Any:
    def doubled(stroke: list[list[float]]) -> list[list[float]]:
        out = [stroke[0]]
        for a, b in zip(stroke, stroke[1:], strict=False):
            out += [[(u + v) / 2 for u, v in zip(a, b, strict=True)], b]
        return out

    return {**payload, "strokes": [doubled(s) for s in payload["strokes"]]}


def _merged(payload: dict[str, Any]) -> Any:
    return {**payload, "strokes": [[p for s in payload["strokes"] for p in s]]}


@pytest.mark.parametrize(
    "variant",
    [
        lambda p: p,
        lambda p: _scaled(p, t=1.03),  # redrawn 3 % slower
        lambda p: _scaled(p, t=0.9),
        lambda p: _scaled(p, x=0.97, y=0.97),  # a slightly smaller canvas
        lambda p: _scaled(p, x=0.9),  # a stretched one
        _merged,  # the strokes joined into one
        _with_midpoints,  # twice the points, the same path
    ],
    ids=["exact", "slower", "faster", "smaller", "narrower", "strokes-joined", "midpoints"],
)
def test_a_copy_of_a_signed_sample_is_refused_however_it_is_replayed(
    live_server: LiveServer, variant: Callable[[dict[str, Any]], Any]
) -> None:
    client = live_server.create_client([REDIRECT])
    url = authorize_url(client.client.client_id, REDIRECT)
    identifier = "copies@example.com"
    with live_server.http() as http:
        assert enroll(http, url, identifier, [svc2004_path(2, n) for n in (1, 2, 3)]).status_code
        signed = to_payload(svc2004_path(2, 6))
        first = _post_capture(http, url, identifier, signed)
        assert isinstance(first, httpx.Response) and first.status_code == 302, first
        copy = _post_capture(http, url, identifier, variant(signed))
    assert isinstance(copy, Page)
    assert COPY in copy.status, copy.status
    assert _reasons(live_server)[-2:] == ["accepted", "replay"]
