"""RFC 6750 3.1 on the payment endpoint that takes a bearer token (SPEC 3.5), as on the others."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from support.payments import enroll_payer
from support.server import LiveServer

pytestmark = pytest.mark.data
CHALLENGE = 'Bearer realm="authature", error="invalid_token"'


def _authorize(http: httpx.Client, token: str, client_id: str, device_uid: str) -> httpx.Response:
    return http.post(
        "/api/v2/payment/authorize",
        headers={"Authorization": f"Bearer {token}"},
        data={"client_id": client_id, "device_uid": device_uid},
    )


def test_a_refused_bearer_token_carries_the_challenge(live_server: LiveServer) -> None:
    payer = enroll_payer(live_server, identifier="challenge@example.com")
    other = live_server.create_client(scopes="preapproval,payment,authenticate")
    with live_server.http() as http:
        answers = [
            _authorize(http, "0" * 64, payer.client_id, payer.device_uid),  # unknown token
            _authorize(http, payer.token, other.client.client_id, payer.device_uid),
            _authorize(http, payer.token, payer.client_id, "another-device"),
        ]
        userinfo = http.get("/oauth/userinfo", headers={"Authorization": "Bearer " + "0" * 64})
        check = http.get(
            "/oauth/token",
            params={"client_id": payer.client_id, "scope": "authenticate"},
            headers={"Authorization": "Bearer " + "0" * 64},
        )
        missing = http.post(
            "/api/v2/payment/authorize",
            data={"client_id": payer.client_id, "device_uid": payer.device_uid},
        )
    for r in answers:
        # SPEC 4's status and body, with RFC 6750's header.
        assert (r.status_code, r.json()["error"]) == (400, "invalid_token"), r.text
        assert set(r.json()) == {"error", "error_description"}
        assert r.headers["WWW-Authenticate"] == CHALLENGE
    for r in (userinfo, check):
        assert r.headers["WWW-Authenticate"] == CHALLENGE
    # No token at all: the challenge without an error code (RFC 6750 3.1).
    assert missing.status_code == 400
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="authature"'


def test_a_capture_with_another_clients_token_is_told_as_for_an_unknown_token(
    live_server: LiveServer,
) -> None:
    from support.payments import authorize, capture

    mine = enroll_payer(live_server, identifier="mine@example.com")
    theirs = enroll_payer(live_server, identifier="theirs@example.com", user=2)
    with live_server.http() as http:
        authorization_id = authorize(http, mine).json()["authorization_id"]
        foreign = capture(http, replace(mine, token=theirs.token), authorization_id)
        unknown = capture(http, replace(mine, token="0" * 64), authorization_id)
    assert (foreign.status_code, foreign.json()["error"]) == (400, "invalid_token")
    assert foreign.json() == unknown.json()
    assert "not issued" not in foreign.text
