"""Helpers for the standard-OAuth tests: register a client, sign in over HTTP, get tokens.

Every code comes from a real sign-in: a fresh user enrolls with three genuine SVC2004 signatures
through the pages (see `support.signin.enroll`), which takes about a tenth of a second.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from support.data import svc2004_path
from support.server import LiveServer, run_server
from support.server import settings_for as server_settings
from support.signin import authorize_url, enroll, redirect_params

from authature.oauth.ports import Clock

REDIRECT = "http://127.0.0.1:9/callback"
_users = itertools.count(1)


@dataclass(frozen=True)
class Registered:
    client_id: str
    secret: str | None

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


def register(
    server: LiveServer,
    scopes: str | None = None,
    redirect_uris: list[str] | None = None,
    public: bool = False,
) -> Registered:
    """A client; by default with capture, authenticate and openid (a public one cannot have
    capture, which needs its secret, so it gets the other two)."""
    if scopes is None:
        scopes = "authenticate,openid" if public else "capture,authenticate,openid"
    new = server.create_client(redirect_uris or [REDIRECT], scopes=scopes, public=public)
    return Registered(new.client.client_id, new.client_secret)


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 4.1-4.2: a verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_identifier() -> str:
    return f"user{next(_users)}-{secrets.token_hex(3)}@example.com"


def sign_in(
    http: httpx.Client,
    client_id: str,
    *,
    redirect_uri: str = REDIRECT,
    scope: str = "authenticate capture",
    identifier: str | None = None,
    writer: int = 1,
    **extra: str,
) -> httpx.Response:
    """A new user enrolls; the final answer (redirect to the client, or JSON for native apps)."""
    return enroll(
        http,
        authorize_url(client_id, redirect_uri, scope=scope, **extra),
        identifier or new_identifier(),
        [svc2004_path(writer, s) for s in (1, 2, 3)],
    )


def code_for(http: httpx.Client, client_id: str, **kwargs: Any) -> str:
    done = sign_in(http, client_id, **kwargs)
    assert done.status_code == 302, done.text
    return redirect_params(done)["code"]


def standard_tokens(
    http: httpx.Client,
    client: Registered,
    *,
    scope: str = "authenticate capture",
    redirect_uri: str = REDIRECT,
    identifier: str | None = None,
    writer: int = 1,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The RFC 6749 code flow with PKCE, client_secret_basic; the 200 token response body.

    A new user (`identifier`, or a fresh one) enrolls with SVC2004 `writer`'s samples 1-3;
    `query` adds parameters to the authorization request."""
    verifier, challenge = pkce_pair()
    code = code_for(
        http,
        client.client_id,
        scope=scope,
        redirect_uri=redirect_uri,
        identifier=identifier,
        writer=writer,
        code_challenge=challenge,
        code_challenge_method="S256",
        **(query or {}),
    )
    r = http.post(
        "/oauth/token",
        auth=client.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def is_live(http: httpx.Client, client: Registered, access_token: str) -> bool:
    """Ask the documented verification endpoint (SPEC 3.3)."""
    r = http.get(
        "/oauth/token",
        params={"client_id": client.client_id, "scope": "authenticate"},
        headers=bearer(access_token),
    )
    assert r.status_code in (200, 400), r.text
    return r.status_code == 200


@contextmanager
def shared_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    clock: Clock | None = None,
) -> Iterator[LiveServer]:
    """One server for a whole test module (starting one costs about a second).

    Tests sharing it stay independent by registering their own clients and enrolling their own
    users. The database follows AUTHATURE_TEST_DATABASE like the per-test `live_server`.
    """
    folder = tmp_path_factory.mktemp("server")
    postgres: Any = None
    url: str | None = None
    if os.environ.get("AUTHATURE_TEST_DATABASE", "sqlite") == "postgres":
        postgres = request.getfixturevalue("postgres_server")
        url = postgres.create_database()
    settings = server_settings(folder, url)
    try:
        with run_server(settings, clock=clock) as server:
            yield server
    finally:
        if postgres is not None:
            postgres.drop_database(url)
