"""Revocation (RFC 7009) and introspection (RFC 7662) over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from support.oauth_flow import (
    Registered,
    code_for,
    is_live,
    pkce_pair,
    register,
    shared_server,
    standard_tokens,
)
from support.server import LiveServer

pytestmark = pytest.mark.data

INTROSPECTION_KEYS = {
    "active",
    "scope",
    "client_id",
    "username",
    "token_type",
    "exp",
    "iat",
    "sub",
    "aud",
    "iss",
}


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


def _revoke(http: httpx.Client, client: Registered, token: str, **form: str) -> httpx.Response:
    return http.post("/oauth/revoke", auth=client.basic, data={"token": token, **form})


def _introspect(
    http: httpx.Client, client: Registered, token: str, **form: str
) -> dict[str, object]:
    r = http.post("/oauth/introspect", auth=client.basic, data={"token": token, **form})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, object] = r.json()
    return body


def _refresh(http: httpx.Client, client: Registered, token: str) -> httpx.Response:
    return http.post(
        "/oauth/token",
        auth=client.basic,
        data={"grant_type": "refresh_token", "refresh_token": token},
    )


# -- revocation -----------------------------------------------------------------------------


def test_revoking_an_access_token_leaves_the_refresh_token(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client)
        r = _revoke(http, client, tokens["access_token"], token_type_hint="access_token")
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
        assert not is_live(http, client, tokens["access_token"])
        assert _refresh(http, client, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", None, "something_else"])
def test_revoking_a_refresh_token_revokes_its_family(server: LiveServer, hint: str | None) -> None:
    """RFC 7009 2.1: a wrong or unknown hint only changes where the search starts."""
    client = register(server)
    with server.http() as http:
        first = standard_tokens(http, client)
        rotated = _refresh(http, client, first["refresh_token"]).json()
        form = {"token_type_hint": hint} if hint else {}
        assert _revoke(http, client, rotated["refresh_token"], **form).status_code == 200
        assert not is_live(http, client, rotated["access_token"])
        assert not is_live(http, client, first["access_token"])
        refused = _refresh(http, client, rotated["refresh_token"])
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_revocation_answers_200_for_unknown_and_foreign_tokens(server: LiveServer) -> None:
    owner, other = register(server), register(server)
    with server.http() as http:
        tokens = standard_tokens(http, owner)
        for token in ("0" * 64, "not-a-token", "x" * 1000, tokens["access_token"]):
            assert _revoke(http, other, token).status_code == 200
        assert _revoke(http, other, tokens["refresh_token"]).status_code == 200
        # Another client cannot revoke what it was not issued.
        assert is_live(http, owner, tokens["access_token"])
        assert _refresh(http, owner, tokens["refresh_token"]).status_code == 200
        # Revoking twice is fine too.
        assert _revoke(http, owner, tokens["access_token"]).status_code == 200
        assert _revoke(http, owner, tokens["access_token"]).status_code == 200


def test_revocation_requires_client_authentication_and_a_token(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        anonymous = http.post("/oauth/revoke", data={"token": "0" * 64})
        assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        wrong = http.post("/oauth/revoke", auth=(client.client_id, "0" * 64), data={"token": "x"})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
        missing = http.post("/oauth/revoke", auth=client.basic, data={})
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
        as_get = http.get("/oauth/revoke", params={"token": "x"})
        assert as_get.status_code == 405
        assert as_get.headers["allow"] == "POST"  # RFC 9110 15.5.6


def test_public_client_revokes_its_own_token_with_its_client_id(server: LiveServer) -> None:
    public = register(server, public=True)
    verifier, challenge = pkce_pair()
    with server.http() as http:
        code = code_for(
            http,
            public.client_id,
            scope="authenticate",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        tokens = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": public.client_id,
                "code": code,
                "redirect_uri": "http://127.0.0.1:9/callback",
                "code_verifier": verifier,
            },
        ).json()
        r = http.post(
            "/oauth/revoke", data={"client_id": public.client_id, "token": tokens["refresh_token"]}
        )
        assert r.status_code == 200
        assert not is_live(http, public, tokens["access_token"])


# -- introspection --------------------------------------------------------------------------


def test_introspection_of_a_live_access_token(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client)
        body = _introspect(http, client, tokens["access_token"])
    assert set(body) == INTROSPECTION_KEYS
    assert body["active"] is True
    assert body["scope"] == "authenticate capture"
    assert body["client_id"] == client.client_id
    assert body["aud"] == client.client_id
    assert body["username"] == tokens["user"]["identifier"]
    assert body["token_type"] == "Bearer"
    assert body["iss"] == server.base_url
    assert isinstance(body["exp"], int) and isinstance(body["iat"], int)
    assert body["exp"] - body["iat"] == 3600
    assert re.fullmatch(r"[0-9a-f]{64}", str(body["sub"]))
    assert tokens["user"]["identifier"] not in str(body["sub"])


def test_introspection_of_a_refresh_token_with_client_secret_post(server: LiveServer) -> None:
    client = register(server)
    assert client.secret
    with server.http() as http:
        tokens = standard_tokens(http, client)
        r = http.post(
            "/oauth/introspect",
            data={
                "client_id": client.client_id,
                "client_secret": client.secret,
                "token": tokens["refresh_token"],
                "token_type_hint": "refresh_token",
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["active"] is True
        assert body["token_type"] == "refresh_token"
        access = _introspect(http, client, tokens["access_token"])
        assert body["sub"] == access["sub"]
        # Once rotated, the old refresh token is no longer active.
        assert _refresh(http, client, tokens["refresh_token"]).status_code == 200
        assert _introspect(http, client, tokens["refresh_token"]) == {"active": False}


def test_introspection_says_only_inactive_for_anything_not_live_or_not_yours(
    server: LiveServer,
) -> None:
    owner, other = register(server), register(server)
    with server.http() as http:
        tokens = standard_tokens(http, owner)
        for token in ("0" * 64, "nope", "y" * 5000):
            assert _introspect(http, owner, token) == {"active": False}
        assert _introspect(http, other, tokens["access_token"]) == {"active": False}
        assert _introspect(http, other, tokens["refresh_token"]) == {"active": False}
        assert _revoke(http, owner, tokens["access_token"]).status_code == 200
        assert _introspect(http, owner, tokens["access_token"]) == {"active": False}
        assert _introspect(http, owner, tokens["refresh_token"])["active"] is True


def test_introspection_requires_an_authenticated_confidential_client(server: LiveServer) -> None:
    with server.http() as http:
        anonymous = http.post("/oauth/introspect", data={"token": "0" * 64})
        assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")
        client = register(server)
        missing = http.post("/oauth/introspect", auth=client.basic, data={})
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
