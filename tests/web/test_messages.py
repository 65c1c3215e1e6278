"""Sentences people and client developers read: each says what is actually wrong."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from support.data import svc2004_path
from support.oauth_flow import new_identifier, register
from support.payments import submit_bank, to_bank_step
from support.server import LiveServer, run_server, settings_for
from support.signin import Page, authorize_url, follow, open_page, post, redirect_params, verify

from authature.config import RateLimits

REDIRECT = "http://127.0.0.1:9/callback"
PAYMENT_SCOPES = "preapproval,payment,authenticate"


def _text(page_html: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split())


def test_a_nul_in_a_parameter_is_named_as_such_not_as_bad_utf8(live_server: LiveServer) -> None:
    client = register(live_server)
    with live_server.http() as http:
        r = http.get(authorize_url(client.client_id, REDIRECT).replace("state-123", "a%00b"))
    said = redirect_params(r)
    assert said["error"] == "invalid_request"
    assert "state" in said["error_description"] and "NUL character" in said["error_description"]
    assert "UTF-8" not in said["error_description"]


def test_a_capture_just_over_the_limit_never_reads_as_within_it(live_server: LiveServer) -> None:
    client = register(live_server)
    points = [[10.0 + i * 3, 50.0 + (i % 5) * 4, i * 8.0, 0.5] for i in range(60)]
    points.append([200.0, 60.0, 60_001.0, 0.5])
    capture = {"strokes": [points], "width": 400, "height": 200, "dpr": 1, "pointer_type": "pen"}
    with live_server.http() as http:
        page = open_page(http, authorize_url(client.client_id, REDIRECT))
        step = follow(http, page, post(http, page, "identify", {"identifier": new_identifier()}))
        assert isinstance(step, Page)
        data = {"capture": json.dumps(capture), "first_name": "Ada", "last_name": "Lovelace"}
        r = post(http, step, "signature", data)
    assert r.status_code == 400
    status = Page(step.url, r.text, r.status_code).status
    assert "at most 60 seconds" in status
    assert "this one took 60.001 seconds" in status, status


@pytest.mark.parametrize(
    ("iban", "holder", "expected"),
    [
        (
            "DE89 3704 0044 0532 0130 00",
            "Int\u200bGrator",
            "contains control or invisible characters",
        ),
        ("DE89 3704 0044 0532 0130 00", "A" * 71, "may have at most 70 characters"),
        ("021000021 123456789", "Ada Lovelace", "begins with a two-letter country code such as DE"),
    ],
)
def test_bank_step_sentences_say_what_is_wrong(
    live_server: LiveServer, iban: str, holder: str, expected: str
) -> None:
    new = live_server.create_client([REDIRECT], scopes=PAYMENT_SCOPES)
    url = authorize_url(new.client.client_id, REDIRECT, scope="preapproval authenticate")
    with live_server.http() as http:
        result = submit_bank(http, to_bank_step(http, url, new_identifier()), iban, holder)
    assert isinstance(result, Page)
    said = _text(result.html)
    assert 'data-testid="bank-form"' in result.html
    assert expected in said, said[-800:]
    assert "ordinary characters" not in said


@pytest.mark.parametrize(
    "pasted", ["IBAN DE89 3704 0044 0532 0130 00", "IBAN: DE89 3704 0044 0532 0130 00"]
)
def test_an_iban_pasted_with_its_label_is_read(live_server: LiveServer, pasted: str) -> None:
    new = live_server.create_client([REDIRECT], scopes=PAYMENT_SCOPES)
    url = authorize_url(new.client.client_id, REDIRECT, scope="preapproval authenticate")
    with live_server.http() as http:
        result = submit_bank(http, to_bank_step(http, url, new_identifier()), pasted)
    assert isinstance(result, Page)
    assert 'data-testid="bank-form"' not in result.html, _text(result.html)[-800:]
    assert "3000" in result.html  # the next step shows the account's last four characters


def _multipart(http: httpx.Client, body: bytes, auth: tuple[str, str]) -> httpx.Response:
    return http.post(
        "/oauth/token",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        auth=auth,
    )


def test_a_multipart_epilogue_is_ignored_and_a_file_part_is_named(
    live_server: LiveServer,
) -> None:
    client = register(live_server)
    part = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="redirect_uri"\r\n\r\n' + REDIRECT.encode() + b"\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="grant_type"\r\n\r\n'
        b"authorization_code\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="code"\r\n\r\n'
        b"not-a-code\r\n"
    )
    with live_server.http() as http:
        plain = _multipart(http, part + b"--b0undary--\r\n", client.basic)
        epilogue = _multipart(
            http, part + b"--b0undary--\r\nThis is the epilogue; it is ignored.\r\n", client.basic
        )
        padded = _multipart(http, part + b"--b0undary--  \r\n", client.basic)
        cut = _multipart(http, part + b"--b0und", client.basic)
        upload = _multipart(
            http,
            b"--b0undary\r\n"
            b'Content-Disposition: form-data; name="code"; filename="code.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n"
            b"abc\r\n"
            b"--b0undary--\r\n",
            client.basic,
        )
    for r in (plain, epilogue, padded):
        # Read as a form: the code is judged (and refused), not the body.
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), r.text
    assert cut.json()["error"] == "invalid_request"
    assert "incomplete" in cut.json()["error_description"]
    assert (upload.status_code, upload.json()) == (
        400,
        {"error": "invalid_request", "error_description": "File uploads are not accepted here."},
    )


@pytest.mark.data
def test_the_rate_limit_page_says_so_and_for_how_long(tmp_path: Path, database_url: str) -> None:
    limits = replace(RateLimits(), window_seconds=86_400, verify_per_ip=1)
    settings = replace(settings_for(tmp_path, database_url), rate_limits=limits)
    with run_server(settings) as server, server.http() as http:
        client = register(server)
        url = authorize_url(client.client_id, REDIRECT)
        verify(http, url, "nobody@example.com", svc2004_path(1, 1))
        refused = verify(http, url, "nobody@example.com", svc2004_path(1, 1))
    assert isinstance(refused, httpx.Response) and refused.status_code == 429
    said = _text(refused.text)
    seconds = refused.headers["Retry-After"]
    assert "Too many attempts" in said
    assert "What you sent could not be used" not in said
    assert f"wait {seconds} seconds before trying again" in said, said
