"""Client authentication (RFC 6749 2.3.1) and where tokens may travel (RFC 6750 2, RFC 9700 2.4.1)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import quote_plus

import httpx
import pytest
from support.oauth_flow import (
    REDIRECT,
    Registered,
    bearer,
    code_for,
    register,
    shared_server,
    standard_tokens,
)
from support.server import LiveServer

from authature.admin import ClientAdmin

pytestmark = pytest.mark.data

# Characters that form-urlencoding changes: %, :, +, space, /, =, &, and non-ASCII.
AWKWARD_SECRET = "s3cr%t:with +plus/slash=eq&amp ünï"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


@pytest.fixture
def awkward(server: LiveServer) -> Registered:
    """A client whose secret needs encoding (set by an operator, as a migrated secret might be)."""
    client = register(server)
    keys = server.services.keys
    ClientAdmin(server.services.uow, keys).update(
        client.client_id, secret_digest=keys.digest(AWKWARD_SECRET, "client_secret")
    )
    return Registered(client.client_id, AWKWARD_SECRET)


def _basic(client_id: str, secret: str, *, encode: bool = True) -> dict[str, str]:
    """RFC 6749 2.3.1: id and secret are form-urlencoded, then joined by ':' and base64'd."""
    if encode:
        client_id, secret = quote_plus(client_id), quote_plus(secret)
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def _introspect(
    http: httpx.Client, *, headers: dict[str, str] | None = None, data: dict[str, str] | None = None
) -> httpx.Response:
    """A cheap authenticated call: 200 {"active": false} once the client is authenticated."""
    return http.post("/oauth/introspect", headers=headers, data={"token": "0" * 64, **(data or {})})


def test_basic_with_a_form_urlencoded_secret(server: LiveServer, awkward: Registered) -> None:
    assert awkward.secret
    with server.http() as http:
        ok = _introspect(http, headers=_basic(awkward.client_id, awkward.secret))
        assert (ok.status_code, ok.json()) == (200, {"active": False})
        # Without the encoding RFC 6749 2.3.1 requires, '+' reads as a space: refused.
        raw = _introspect(http, headers=_basic(awkward.client_id, awkward.secret, encode=False))
        assert (raw.status_code, raw.json()["error"]) == (401, "invalid_client")
        assert raw.headers["www-authenticate"].startswith("Basic")


def test_code_exchange_with_an_encoded_basic_secret(
    server: LiveServer, awkward: Registered
) -> None:
    assert awkward.secret
    with server.http() as http:
        code = code_for(http, awkward.client_id)
        r = http.post(
            "/oauth/token",
            headers=_basic(awkward.client_id, awkward.secret),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        )
    assert r.status_code == 200, r.text


def test_client_secret_post(server: LiveServer, awkward: Registered) -> None:
    assert awkward.secret
    with server.http() as http:
        ok = _introspect(
            http, data={"client_id": awkward.client_id, "client_secret": awkward.secret}
        )
        assert (ok.status_code, ok.json()) == (200, {"active": False})
        wrong = _introspect(
            http, data={"client_id": awkward.client_id, "client_secret": awkward.secret + "x"}
        )
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
        no_id = _introspect(http, data={"client_secret": awkward.secret})
        assert (no_id.status_code, no_id.json()["error"]) == (400, "invalid_request")


def test_both_methods_at_once_is_invalid_request(server: LiveServer) -> None:
    client = register(server)
    assert client.secret
    with server.http() as http:
        r = _introspect(
            http,
            headers=_basic(client.client_id, client.secret),
            data={"client_id": client.client_id, "client_secret": client.secret},
        )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_basic_client_id_must_agree_with_the_form(server: LiveServer) -> None:
    client, other = register(server), register(server)
    assert client.secret
    with server.http() as http:
        r = _introspect(
            http,
            headers=_basic(client.client_id, client.secret),
            data={"client_id": other.client_id},
        )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_secrets_in_the_query_string_are_not_credentials(server: LiveServer) -> None:
    client = register(server)
    assert client.secret
    with server.http() as http:
        r = http.post(
            "/oauth/introspect",
            params={"client_id": client.client_id, "client_secret": client.secret},
            data={"token": "0" * 64},
        )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


def test_access_tokens_in_query_strings_are_refused(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client, scope="openid authenticate capture")
        token = tokens["access_token"]
        verify = http.get(
            "/oauth/token",
            params={"client_id": client.client_id, "scope": "authenticate", "access_token": token},
        )
        assert (verify.status_code, verify.json()["error"]) == (400, "invalid_request")
        userinfo = http.get("/oauth/userinfo", params={"access_token": token})
        assert (userinfo.status_code, userinfo.json()["error"]) == (400, "invalid_request")
        # With the header the same requests work.
        ok = http.get(
            "/oauth/token",
            params={"client_id": client.client_id, "scope": "authenticate"},
            headers=bearer(token),
        )
        assert ok.status_code == 200
        assert http.get("/oauth/userinfo", headers=bearer(token)).status_code == 200


def test_every_token_bearing_answer_is_not_cacheable(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client)
        answers = [
            http.post(
                "/oauth/token",
                auth=client.basic,
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ),
            http.post(
                "/oauth/introspect", auth=client.basic, data={"token": tokens["access_token"]}
            ),
            http.post("/oauth/token", auth=client.basic, data={"grant_type": "password"}),
        ]
    for r in answers:
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["pragma"] == "no-cache"
