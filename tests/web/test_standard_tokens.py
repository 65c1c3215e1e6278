"""The standard token endpoint (SPEC 5.1): PKCE, refresh rotation, single-use codes under races."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from support.oauth_flow import (
    REDIRECT,
    Registered,
    code_for,
    is_live,
    pkce_pair,
    register,
    shared_server,
    sign_in,
    standard_tokens,
)
from support.server import LiveServer
from support.signin import redirect_params

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


def _exchange(http: httpx.Client, client: Registered, code: str, **form: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **form}
    # httpx.Auth() sends no credentials (a public client), whatever the httpx.Client's default.
    auth = httpx.BasicAuth(*client.basic) if client.secret else httpx.Auth()
    return http.post("/oauth/token", auth=auth, data=data)


def _refresh(http: httpx.Client, client: Registered, refresh_token: str, **form: str) -> Any:
    return http.post(
        "/oauth/token",
        auth=client.basic,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **form},
    )


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]


# -- the standard answer ------------------------------------------------------------------------


def test_standard_exchange_has_the_rfc_6749_shape(server: LiveServer) -> None:
    client = register(server)
    verifier, challenge = pkce_pair()
    with server.http() as http:
        code = code_for(
            http, client.client_id, code_challenge=challenge, code_challenge_method="S256"
        )
        r = _exchange(http, client, code, code_verifier=verifier)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"  # RFC 6749 5.1
    assert r.headers["pragma"] == "no-cache"
    body = r.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_token",
        "user",
    }
    assert re.fullmatch(r"[0-9a-f]{64}", body["access_token"])
    assert re.fullmatch(r"[0-9a-f]{64}", body["refresh_token"])
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "authenticate capture"
    assert set(body["user"]) == {"first_name", "last_name", "identifier"}


# -- PKCE (RFC 7636) ----------------------------------------------------------------------------


def test_wrong_or_missing_code_verifier_is_invalid_grant(server: LiveServer) -> None:
    client = register(server)
    verifier, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    with server.http() as http:
        for form in ({"code_verifier": other_verifier}, {}, {"code_verifier": "short"}):
            code = code_for(http, client.client_id, **pkce)
            assert _error(_exchange(http, client, code, **form)) == (400, "invalid_grant")
        code = code_for(http, client.client_id, **pkce)
        assert _exchange(http, client, code, code_verifier=verifier).status_code == 200


def test_code_verifier_for_a_code_issued_without_challenge_is_refused(server: LiveServer) -> None:
    client = register(server)
    verifier, _ = pkce_pair()
    with server.http() as http:
        code = code_for(http, client.client_id)
        r = _exchange(http, client, code, code_verifier=verifier)
    assert _error(r) == (400, "invalid_grant")
    assert "without PKCE" in r.json()["error_description"]


@pytest.mark.parametrize(
    "params",
    [
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "x" * 43, "code_challenge_method": "S512"},
        {"code_challenge": "too-short", "code_challenge_method": "S256"},
        {"code_challenge": "x" * 43},  # the default method is plain, which we refuse
        {"code_challenge_method": "S256"},
    ],
    ids=["plain", "unknown", "malformed", "default-plain", "method-only"],
)
def test_only_s256_challenges_are_accepted(server: LiveServer, params: dict[str, str]) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(
            "/oauth/authorize",
            params={
                "client_id": client.client_id,
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "state": "s",
                "scope": "authenticate",
                **params,
            },
        )
    assert r.status_code == 302
    assert redirect_params(r)["error"] == "invalid_request"
    if params == {"code_challenge": "x" * 43}:  # say what to send, not that plain is refused
        assert "Send code_challenge_method=S256" in redirect_params(r)["error_description"]


def test_public_client_must_use_pkce_and_needs_no_secret(server: LiveServer) -> None:
    public = register(server, public=True)
    assert public.secret is None
    verifier, challenge = pkce_pair()
    with server.http() as http:
        refused = http.get(
            "/oauth/authorize",
            params={
                "client_id": public.client_id,
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "state": "s",
                "scope": "authenticate",
            },
        )
        assert refused.status_code == 302
        assert redirect_params(refused)["error"] == "invalid_request"
        assert "PKCE" in redirect_params(refused)["error_description"]

        code = code_for(
            http,
            public.client_id,
            scope="authenticate",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        with_secret = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": public.client_id,
                "client_secret": "guess",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
        assert _error(with_secret) == (401, "invalid_client")

        code = code_for(
            http,
            public.client_id,
            scope="authenticate",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        ok = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": public.client_id,
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
    assert ok.status_code == 200, ok.text
    assert ok.json()["refresh_token"]


def test_native_app_needs_pkce_and_gets_code_and_state_as_json(server: LiveServer) -> None:
    """SPEC 3.1: a private-use scheme redirect URI gets `{code, state}` as JSON (RFC 8252 7.1)."""
    native_uri = "com.example.shop:/oauth/done"
    client = register(server, redirect_uris=[native_uri])
    verifier, challenge = pkce_pair()
    base = {
        "client_id": client.client_id,
        "redirect_uri": native_uri,
        "response_type": "code",
        "state": "native-state",
        "scope": "authenticate",
    }
    with server.http() as http:
        refused = http.get("/oauth/authorize", params=base)
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/json; charset=utf-8"
        assert refused.json()["error"] == "invalid_request"
        assert refused.json()["state"] == "native-state"

        done = sign_in(
            http,
            client.client_id,
            redirect_uri=native_uri,
            scope="authenticate",
            state="native-state",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        assert done.status_code == 200, done.text
        assert done.headers["content-type"] == "application/json; charset=utf-8"
        assert "location" not in done.headers
        answer = done.json()
        # The documented fields first, then `iss` as in every other authorization response
        # (RFC 9207), errors included.
        assert list(answer) == ["code", "state", "iss"]
        assert re.fullmatch(r"[0-9a-f]{32}", answer["code"])
        assert answer["state"] == "native-state"
        assert answer["iss"] == server.base_url == refused.json()["iss"]

        r = http.post(
            "/oauth/token",
            auth=client.basic,
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": native_uri,
                "code_verifier": verifier,
            },
        )
    assert r.status_code == 200, r.text


# -- refresh tokens (RFC 6749 6, RFC 9700 4.14) --------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_whole_family(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        first = standard_tokens(http, client)
        second = _refresh(http, client, first["refresh_token"])
        assert second.status_code == 200, second.text
        rotated = second.json()
        assert rotated["refresh_token"] != first["refresh_token"]
        assert rotated["access_token"] != first["access_token"]
        assert rotated["scope"] == first["scope"]
        assert "id_token" not in rotated
        assert is_live(http, client, rotated["access_token"])

        replay = _refresh(http, client, first["refresh_token"])
        assert _error(replay) == (400, "invalid_grant")
        # The client learns what happened and what its user must do next.
        assert replay.json()["error_description"] == (
            "The refresh token was already used, so every token of this sign-in was revoked; "
            "the user must sign in again."
        )
        # Reuse means the token leaked: every token of the family is revoked, the newest too.
        assert not is_live(http, client, rotated["access_token"])
        assert not is_live(http, client, first["access_token"])
        assert _error(_refresh(http, client, rotated["refresh_token"])) == (400, "invalid_grant")


def test_refresh_may_narrow_the_scope_but_not_widen_it(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client, scope="authenticate")
        wider = _refresh(http, client, tokens["refresh_token"], scope="authenticate capture")
        assert _error(wider) == (400, "invalid_scope")
        # A refused request does not burn the refresh token.
        narrow = _refresh(http, client, tokens["refresh_token"], scope="authenticate")
        assert narrow.status_code == 200, narrow.text
        assert narrow.json()["scope"] == "authenticate"


def test_refresh_token_of_another_client_is_invalid_grant(server: LiveServer) -> None:
    owner, thief = register(server), register(server)
    with server.http() as http:
        tokens = standard_tokens(http, owner)
        assert _error(_refresh(http, thief, tokens["refresh_token"])) == (400, "invalid_grant")
        assert _refresh(http, owner, tokens["refresh_token"]).status_code == 200


def test_documented_exchange_issues_no_refresh_token(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        code = code_for(http, client.client_id)
        r = http.post(
            "/oauth/token", auth=client.basic, data={"code": code, "redirect_uri": REDIRECT}
        )
    assert r.status_code == 201
    assert list(r.json()) == ["access_token"]


# -- one code, one token ------------------------------------------------------------------------


def test_reused_code_is_refused_and_revokes_its_tokens(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        code = code_for(http, client.client_id)
        first = _exchange(http, client, code)
        assert first.status_code == 200
        tokens = first.json()
        assert is_live(http, client, tokens["access_token"])
        assert _error(_exchange(http, client, code)) == (400, "invalid_grant")
        assert not is_live(http, client, tokens["access_token"])
        assert _error(_refresh(http, client, tokens["refresh_token"])) == (400, "invalid_grant")


def test_a_refused_exchange_leaves_the_code_usable(server: LiveServer) -> None:
    client = register(server)
    other = register(server)
    with server.http() as http:
        code = code_for(http, client.client_id)
        refusals = [
            _exchange(http, client, code, redirect_uri=REDIRECT + "/other"),
            _exchange(http, client, code, scope="capture authenticate openid payment"),
            _exchange(http, other, code),
        ]
        assert [_error(r) for r in refusals] == [
            (400, "invalid_grant"),
            (400, "invalid_scope"),
            (400, "invalid_grant"),
        ]
        documented = http.post(
            "/oauth/token",
            auth=client.basic,
            data={"code": code, "redirect_uri": REDIRECT, "state": "not-the-state"},
        )
        assert _error(documented) == (400, "invalid_grant")
        assert _exchange(http, client, code).status_code == 200


def test_one_code_redeemed_concurrently_yields_exactly_one_token(server: LiveServer) -> None:
    client = register(server)
    racers = 12
    with server.http() as http:
        code = code_for(http, client.client_id)
    barrier = threading.Barrier(racers)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def redeem() -> None:
        with server.http() as own:  # one connection per racer
            own.get("/healthz")  # connect before the start line
            barrier.wait()
            r = _exchange(own, client, code)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=redeem) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == racers
    winners = [r for r in results if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in results]
    assert all(_error(r) == (400, "invalid_grant") for r in results if r.status_code != 200)
    # The losers were replays of a used code, so the winner's tokens are revoked as well
    # (RFC 6749 4.1.2: the server SHOULD revoke tokens issued from a reused code).
    with server.http() as http:
        assert not is_live(http, client, winners[0].json()["access_token"])


def test_a_narrowed_refresh_keeps_the_grant_for_the_next_one(server: LiveServer) -> None:
    # RFC 6749 6: an omitted scope is the scope originally granted, not the last one asked for.
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client, scope="authenticate capture")
        narrow = _refresh(http, client, tokens["refresh_token"], scope="authenticate")
        assert narrow.status_code == 200 and narrow.json()["scope"] == "authenticate"
        full = _refresh(http, client, narrow.json()["refresh_token"])
        assert full.status_code == 200, full.text
        assert set(full.json()["scope"].split()) == {"authenticate", "capture"}
        again = _refresh(http, client, full.json()["refresh_token"], scope="capture authenticate")
        assert again.status_code == 200, again.text


def test_a_scope_taken_from_the_client_is_not_refreshed_or_introspected(
    server: LiveServer,
) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client, scope="authenticate capture")
        server.set_client_scopes(client.client_id, "authenticate,openid")
        only_that = _refresh(http, client, tokens["refresh_token"], scope="capture")
        assert _error(only_that) == (400, "invalid_scope")
        refreshed = _refresh(http, client, tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["scope"] == "authenticate"
        seen = http.post(
            "/oauth/introspect", auth=client.basic, data={"token": tokens["access_token"]}
        ).json()
        assert seen["active"] is True and seen["scope"] == "authenticate"
        server.set_client_scopes(client.client_id, "openid")
        gone = http.post(
            "/oauth/introspect", auth=client.basic, data={"token": tokens["access_token"]}
        ).json()
        assert gone == {"active": False}
        none_left = _refresh(http, client, refreshed.json()["refresh_token"])
        assert _error(none_left) == (400, "invalid_scope")


def test_a_locked_user_gets_no_new_tokens(server: LiveServer) -> None:
    from authature.admin import UserAdmin

    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client, scope="authenticate openid")
        user = http.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).json()["email"]
        admin = UserAdmin(server.services.uow)
        admin.lock(user, datetime.now(UTC) + timedelta(minutes=5))
        refused = _refresh(http, client, tokens["refresh_token"])
        assert _error(refused) == (400, "invalid_grant")
        assert "locked" in refused.json()["error_description"]
        admin.lock(user, None)
