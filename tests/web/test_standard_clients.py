"""Off-the-shelf OAuth clients we did not write, against the live server (SPEC 5.1).

Authlib's and requests-oauthlib's `OAuth2Session` build the authorization URL (with PKCE), the
sign-in pages are driven over HTTP with real signatures, and the libraries take it from the
redirect: state check, code exchange, bearer calls, refresh and revocation.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from requests.auth import HTTPBasicAuth
from support.data import svc2004_path
from support.oauth_flow import REDIRECT, new_identifier, register, shared_server
from support.server import LiveServer
from support.signin import enroll

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


def _sign_in_at(server: LiveServer, authorization_url: str) -> str:
    """A browser follows the library's URL, a new user signs; the redirect the app receives."""
    with server.http() as browser:
        done = enroll(
            browser,
            authorization_url,
            new_identifier(),
            [svc2004_path(5, s) for s in (1, 2, 3)],
        )
    assert done.status_code == 302, done.text
    location: str = done.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return location


def test_authlib_oauth2_session_code_flow_with_pkce_and_refresh(server: LiveServer) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    client = register(server)
    with server.http() as http:
        meta = http.get("/.well-known/openid-configuration").json()
        keys = KeySet.import_key_set(http.get(meta["jwks_uri"]).json())
    session = OAuth2Session(
        client.client_id,
        client.secret,
        scope="openid authenticate capture",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    assert "code_challenge=" in url and "code_challenge_method=S256" in url

    redirect = _sign_in_at(server, url)
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=redirect, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "openid authenticate capture"
    assert token["refresh_token"]
    claims = jwt.decode(token["id_token"], keys, algorithms=["ES256"]).claims
    assert claims["nonce"] == nonce and claims["aud"] == client.client_id
    assert claims["iss"] == meta["issuer"]

    info = session.get(meta["userinfo_endpoint"])  # Authlib adds the bearer header
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == claims["sub"]
    verified = session.get(
        meta["token_endpoint"], params={"client_id": client.client_id, "scope": "capture"}
    )
    assert verified.json() == {"status": "ok"}

    refreshed = session.refresh_token(meta["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert session.get(meta["userinfo_endpoint"]).status_code == 200

    revoked = session.revoke_token(
        meta["revocation_endpoint"], refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200
    assert session.get(meta["userinfo_endpoint"]).status_code == 400


def test_authlib_with_client_secret_post(server: LiveServer) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    client = register(server)
    session = OAuth2Session(
        client.client_id,
        client.secret,
        scope="authenticate",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(
        server.base_url + "/oauth/authorize", code_verifier=verifier
    )
    token = session.fetch_token(
        server.base_url + "/oauth/token",
        authorization_response=_sign_in_at(server, url),
        code_verifier=verifier,
    )
    assert token["scope"] == "authenticate"
    assert "id_token" not in token


def test_requests_oauthlib_code_flow_with_pkce(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from requests_oauthlib import OAuth2Session

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback only
    client = register(server)
    assert client.secret
    token_url = server.base_url + "/oauth/token"
    session = OAuth2Session(
        client.client_id, redirect_uri=REDIRECT, scope=["authenticate", "capture"], pkce="S256"
    )
    url, state = session.authorization_url(server.base_url + "/oauth/authorize")
    redirect = _sign_in_at(server, url)
    token = session.fetch_token(
        token_url,
        authorization_response=redirect,
        auth=HTTPBasicAuth(client.client_id, client.secret),
    )
    assert token["scope"] == ["authenticate", "capture"]
    check = session.get(token_url, params={"client_id": client.client_id, "scope": "capture"})
    assert check.json() == {"status": "ok"}
    refreshed = session.refresh_token(
        token_url, auth=HTTPBasicAuth(client.client_id, client.secret)
    )
    assert refreshed["access_token"] != token["access_token"]
    # The rotated-out refresh token is refused by the server, whoever sends it.
    with httpx.Client() as raw:
        replay = raw.post(
            token_url,
            auth=(client.client_id, client.secret),
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        )
    assert replay.json()["error"] == "invalid_grant"
