"""The sign-in pages' own rules: quality and consistency of samples, CSRF, names, encryption."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from support.data import svc2004_path
from support.server import LiveServer, run_server, settings_for
from support.signin import (
    Page,
    authorize_url,
    capture_json,
    enroll,
    follow,
    get_page,
    open_page,
    post,
    redirect_params,
)

from authature.biometrics.capture import decode_capture
from authature.store import models

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.data


def _genuine_with(**changes: object) -> str:
    payload = json.loads(capture_json(svc2004_path(1, 1)))
    payload.update(changes)
    return json.dumps(payload)


def _shifted(ms: float) -> str:
    payload = json.loads(capture_json(svc2004_path(1, 1)))
    payload["strokes"] = [[[x, y, t + ms, p] for x, y, t, p in s] for s in payload["strokes"]]
    return json.dumps(payload)


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.http() as client:
        yield client


def _enroll_page(
    live_server: LiveServer, http: httpx.Client, identifier: str = "new@example.com"
) -> Page:
    new = live_server.create_client([REDIRECT])
    page = open_page(http, authorize_url(new.client.client_id, REDIRECT))
    result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    assert isinstance(result, Page)
    return result


def _line(n: int = 60) -> str:
    points = [[10 + 5 * i, 100.0, 10.0 * i, 0.5] for i in range(n)]
    return json.dumps(
        {"strokes": [points], "width": 600, "height": 200, "dpr": 1, "pointer_type": "pen"}
    )


def test_a_straight_line_is_refused_with_a_reason_and_a_400(
    live_server: LiveServer, http: httpx.Client
) -> None:
    page = _enroll_page(live_server, http)
    r = post(http, page, "signature", {"capture": _line(), "first_name": "A", "last_name": "B"})
    assert r.status_code == 400
    refused = Page(page.url, r.text, 400)
    assert "line" in refused.status.lower()
    assert "Signature 1 of 3" in refused.status


@pytest.mark.parametrize(
    ("capture", "words"),
    [
        ("", "sign in the box"),
        ("{not json", "could not be read"),
        (json.dumps({"strokes": []}), ""),
        (json.dumps({"strokes": [[[1, 2, 3, "x"]]], "width": 600, "height": 200}), ""),
        (json.dumps({"strokes": [[[1e999, 2, 3, 0.5]]], "width": 600, "height": 200}), ""),
        # The format check names the rule, not a quality problem it causes later (SPEC 6).
        (_genuine_with(pointer_type="laser"), "must be one of mouse, pen, touch, unknown"),
        (_genuine_with(pointer_type=7), "must be one of mouse, pen, touch, unknown"),
        (_shifted(-250), "start at 0 or later"),
    ],
)
def test_malformed_captures_get_a_400_page_naming_the_problem(
    live_server: LiveServer, http: httpx.Client, capture: str, words: str
) -> None:
    page = _enroll_page(live_server, http)
    r = post(http, page, "signature", {"capture": capture, "first_name": "A", "last_name": "B"})
    assert r.status_code == 400
    refused = Page(page.url, r.text, 400)
    assert words in refused.status.lower()
    assert refused.status != "Signature 1 of 3"  # a sentence says what was wrong


@pytest.mark.parametrize("pointer_type", ["", "pen", "mouse", "touch", None])
def test_what_browsers_send_as_pointer_type_is_accepted(
    live_server: LiveServer, http: httpx.Client, pointer_type: str | None
) -> None:
    """The page sends pen, mouse or touch; PointerEvent.pointerType may be "" (unknown)."""
    page = _enroll_page(live_server, http)
    payload = json.loads(capture_json(svc2004_path(1, 1)))
    if pointer_type is None:
        del payload["pointer_type"]
    else:
        payload["pointer_type"] = pointer_type
    data = {"capture": json.dumps(payload), "first_name": "A", "last_name": "B"}
    result = follow(http, page, post(http, page, "signature", data))
    assert isinstance(result, Page) and result.status_code == 200, result
    assert "Signature 2 of 3" in result.status


def test_names_are_required_for_a_new_user(live_server: LiveServer, http: httpx.Client) -> None:
    page = _enroll_page(live_server, http)
    r = post(http, page, "signature", {"capture": capture_json(svc2004_path(3, 1))})
    assert r.status_code == 400
    assert "first and last name" in Page(page.url, r.text, 400).status


def test_another_writers_signature_during_enrollment_is_set_aside(
    live_server: LiveServer, http: httpx.Client
) -> None:
    page = _enroll_page(live_server, http)
    first = follow(
        http,
        page,
        post(
            http,
            page,
            "signature",
            {"capture": capture_json(svc2004_path(3, 1)), "first_name": "A", "last_name": "B"},
        ),
    )
    assert isinstance(first, Page) and first.status == "Signature 2 of 3"
    second = follow(
        http, first, post(http, first, "signature", {"capture": capture_json(svc2004_path(3, 2))})
    )
    assert isinstance(second, Page) and second.status == "Signature 3 of 3"
    odd = follow(
        http, second, post(http, second, "signature", {"capture": capture_json(svc2004_path(9, 1))})
    )
    assert isinstance(odd, Page), "another writer's signature completed the enrollment"
    assert "Signature 3 of 3" in odd.status
    assert odd.status != "Signature 3 of 3", "no sentence said why the sample was refused"


def test_the_same_sample_twice_is_refused_as_a_copy(
    live_server: LiveServer, http: httpx.Client
) -> None:
    page = _enroll_page(live_server, http)
    data = {"capture": capture_json(svc2004_path(3, 1)), "first_name": "A", "last_name": "B"}
    first = follow(http, page, post(http, page, "signature", data))
    assert isinstance(first, Page)
    again = follow(http, first, post(http, first, "signature", {"capture": data["capture"]}))
    assert isinstance(again, Page)
    assert "copy" in again.status and "Signature 2 of 3" in again.status


def test_enroll_samples_setting_is_honoured(tmp_path: Path) -> None:
    with run_server(replace(settings_for(tmp_path), enroll_samples=4)) as server:
        new = server.create_client([REDIRECT])
        url = authorize_url(new.client.client_id, REDIRECT)
        with server.http() as http:
            samples = [svc2004_path(6, s) for s in (1, 2, 3, 4)]
            done = enroll(http, url, "four@example.com", samples)
            assert "code" in redirect_params(done)


def test_a_stale_or_forged_nonce_sends_nothing(live_server: LiveServer, http: httpx.Client) -> None:
    page = _enroll_page(live_server, http)
    r = http.post(
        f"{page.url}/signature",
        data={"nonce": "forged", "capture": capture_json(svc2004_path(3, 1))},
    )
    assert r.status_code == 303
    again = follow(http, page, r)
    assert isinstance(again, Page)
    assert "out of date" in again.status and "Signature 1 of 3" in again.status


def test_a_post_from_another_origin_is_refused(live_server: LiveServer, http: httpx.Client) -> None:
    page = _enroll_page(live_server, http)
    r = http.post(
        f"{page.url}/deny",
        data={"nonce": page.nonce},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 400
    assert "Location" not in r.headers


def test_deny_returns_access_denied_with_state(live_server: LiveServer, http: httpx.Client) -> None:
    page = _enroll_page(live_server, http)
    r = post(http, page, "deny", {})
    assert r.status_code == 302
    params = redirect_params(r)
    assert params["error"] == "access_denied"
    assert params["state"] == "state-123"


def test_an_invalid_identifier_is_asked_again(live_server: LiveServer) -> None:
    new = live_server.create_client([REDIRECT])
    with live_server.http() as http:
        page = open_page(http, authorize_url(new.client.client_id, REDIRECT))
        again = follow(http, page, post(http, page, "identify", {"identifier": "not an email"}))
        assert isinstance(again, Page)
        assert "valid e-mail" in again.status


def test_an_unknown_sign_in_page_says_to_start_again(live_server: LiveServer) -> None:
    with live_server.http() as http:
        r = http.get("/signin/not-a-real-handle")
    assert r.status_code == 404
    assert "start signing in again" in r.text


def test_a_get_on_a_form_address_goes_back_to_the_page(
    live_server: LiveServer, http: httpx.Client
) -> None:
    """A reload after a POST (or the address bar) must not meet a 405 JSON body."""
    page = _enroll_page(live_server, http)
    handle_path = page.url.split("?", 1)[0]
    for step in ("identify", "signature", "restart", "deny", "bank"):
        r = http.get(f"{handle_path}/{step}")
        assert r.status_code == 303, (step, r.text)
        assert r.headers["location"] == handle_path
    again = http.get(f"{handle_path}/signature", follow_redirects=True)
    assert again.status_code == 200
    assert 'data-testid="signature-pad"' in again.text  # the step it was at
    # Unknown steps stay unknown, and the forms are still POST only for what they change.
    assert http.get(f"{handle_path}/nothing").status_code == 404


def test_signatures_are_encrypted_at_rest(live_server: LiveServer) -> None:
    new = live_server.create_client([REDIRECT])
    with live_server.http() as http:
        enroll(
            http,
            authorize_url(new.client.client_id, REDIRECT),
            "sealed@example.com",
            [svc2004_path(7, s) for s in (1, 2, 3)],
        )
    with live_server.services.database.transaction() as session:
        rows = session.scalars(select(models.Signature)).all()
    assert len(rows) == 4  # three references and the signed sample
    for row in rows:
        with pytest.raises(Exception):  # noqa: B017 - any failure to parse ciphertext will do
            decode_capture(row.sealed)
        clear = live_server.services.keys.unseal(row.sealed, f"signature:{row.pk}".encode())
        assert decode_capture(clear).point_count > 50
        with pytest.raises(Exception):  # noqa: B017 - AES-GCM refuses a blob moved to another row
            live_server.services.keys.unseal(row.sealed, f"signature:{row.pk + 1}".encode())


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [
        ("A\x07B", "Lovelace", "control or invisible"),
        ("Ada", "evil\u202e", "control or invisible"),
        ("Ada\u200d", "Lovelace", "control or invisible"),  # a joiner joins nothing at the end
        ("A\u200c\u200cda", "Lovelace", "control or invisible"),
        ("\u0301\u0301", "Lovelace", "must contain letters"),  # combining marks only
        ("123", "Lovelace", "must contain letters"),
        ("Ada", "\u3164", "control or invisible"),  # a Hangul filler renders as nothing
        ("Ada", "L" * 201, "at most 200 characters"),
    ],
)
def test_names_with_invisible_characters_or_too_long_are_refused(
    live_server: LiveServer, http: httpx.Client, first: str, last: str, words: str
) -> None:
    page = _enroll_page(live_server, http)
    data = {"capture": capture_json(svc2004_path(3, 1)), "first_name": first, "last_name": last}
    r = post(http, page, "signature", data)
    assert r.status_code == 400
    assert words in Page(page.url, r.text, 400).status
    with live_server.services.database.transaction() as session:
        assert session.scalars(select(models.User)).all() == []


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627", "Tehrani"),  # Persian: ZWNJ
        ("Ada", "Lovelace \U0001f469\u200d\U0001f3a4"),  # an emoji ZWJ sequence
    ],
)
def test_names_spelt_with_a_zero_width_joiner_are_kept(
    live_server: LiveServer, http: httpx.Client, first: str, last: str
) -> None:
    page = _enroll_page(live_server, http)
    data = {"capture": capture_json(svc2004_path(3, 1)), "first_name": first, "last_name": last}
    r = post(http, page, "signature", data)
    assert r.status_code == 303, Page(page.url, r.text, r.status_code).status
    # Kept on the pending request for the user to be created with, as typed.
    shown = get_page(http, r.headers["location"])
    assert "control or invisible" not in shown.status


@pytest.mark.parametrize(
    "identifier", ["nul\x01x@example.com", "zero\x00x@example.com", "zw\u200dj@example.com"]
)
def test_identifiers_with_control_characters_are_asked_again(
    live_server: LiveServer, http: httpx.Client, identifier: str
) -> None:
    new = live_server.create_client([REDIRECT])
    page = open_page(http, authorize_url(new.client.client_id, REDIRECT))
    again = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    assert isinstance(again, Page)
    assert "valid e-mail" in again.status


def test_the_page_names_the_client_with_its_logo_and_says_what_each_scope_allows(
    live_server: LiveServer, http: httpx.Client
) -> None:
    from authature.admin import ClientAdmin

    logo = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    admin = ClientAdmin(live_server.services.uow, live_server.services.keys)
    new = admin.create("Logo Shop", [REDIRECT], ["capture,authenticate"], "Fine goods", logo)
    page = open_page(http, authorize_url(new.client.client_id, REDIRECT))
    assert "<h1>Logo Shop</h1>" in page.html
    assert "Fine goods" in page.html
    assert f'src="{logo}"' in page.html
    assert "Sign you in and see your name and e-mail address." in page.html
    assert "Receive an image of the signature you draw now" in page.html


@pytest.mark.parametrize("scope", ["capture", "openid"])
def test_every_scope_alone_says_the_contact_details_it_shares(
    live_server: LiveServer, http: httpx.Client, scope: str
) -> None:
    # SPEC 1: the token (and for openid, userinfo) carries the user's name and e-mail address.
    new = live_server.create_client([REDIRECT], scopes=f"{scope},authenticate")
    page = open_page(http, authorize_url(new.client.client_id, REDIRECT, scope=scope))
    assert "name and e-mail address" in page.html or "name, e-mail address" in page.html


def test_a_refused_form_says_the_page_still_works(
    live_server: LiveServer, http: httpx.Client
) -> None:
    page = _enroll_page(live_server, http)
    r = post(http, page, "signature", {"capture": "x" * 1_200_000})
    assert r.status_code == 400
    assert "What you sent could not be used" in r.text and "larger than" in r.text
    assert "not valid" not in r.text
    assert f'href="{page.url}"' in r.text  # back to the same page
    again = http.get(page.url)
    assert again.status_code == 200 and "Signature 1 of 3" in again.text
