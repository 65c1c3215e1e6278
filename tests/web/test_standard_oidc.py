"""Server metadata (RFC 8414) and OpenID Connect: discovery, JWKS, id_token, userinfo."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, KeySet, KeySetSerialization, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from support.data import svc2004_path
from support.oauth_flow import (
    REDIRECT,
    Registered,
    bearer,
    new_identifier,
    register,
    shared_server,
    sign_in,
    standard_tokens,
)
from support.server import LiveServer, run_server
from support.server import settings_for as server_settings
from support.signin import (
    Page,
    authorize_url,
    capture_json,
    follow,
    get_page,
    open_page,
    post,
    redirect_params,
    verify,
)

from authature.security.signing import load_signing_key

pytestmark = pytest.mark.data
JSON = "application/json; charset=utf-8"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


def _get_json(http: httpx.Client, path: str) -> dict[str, Any]:
    r = http.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON
    body: dict[str, Any] = r.json()
    return body


def _get_jwks(http: httpx.Client, path: str) -> KeySetSerialization:
    """A JWK Set (RFC 7517 section 5) as served: its "keys" list."""
    body = _get_json(http, path)
    assert isinstance(body["keys"], list), body
    return {"keys": body["keys"]}


def _verified_claims(
    http: httpx.Client, server: LiveServer, client: Registered, id_token: str
) -> dict[str, Any]:
    """Check the id_token as a relying party would: keys fetched over HTTP from jwks_uri."""
    config = _get_json(http, "/.well-known/openid-configuration")
    jwks = _get_jwks(http, config["jwks_uri"].removeprefix(server.base_url))
    keys = KeySet.import_key_set(jwks)
    token = jwt.decode(id_token, keys, algorithms=config["id_token_signing_alg_values_supported"])
    assert token.header["kid"] in {k["kid"] for k in jwks["keys"]}
    JWTClaimsRegistry(
        iss={"essential": True, "value": server.base_url},
        aud={"essential": True, "value": client.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        auth_time={"essential": True},
    ).validate(token.claims)
    return dict(token.claims)


# -- metadata -------------------------------------------------------------------------------


def test_server_metadata_names_every_endpoint(server: LiveServer) -> None:
    with server.http() as http:
        meta = _get_json(http, "/.well-known/oauth-authorization-server")
        base = server.base_url
        assert meta["issuer"] == base
        assert meta["authorization_endpoint"] == base + "/oauth/authorize"
        assert meta["token_endpoint"] == base + "/oauth/token"
        assert meta["revocation_endpoint"] == base + "/oauth/revoke"
        assert meta["introspection_endpoint"] == base + "/oauth/introspect"
        assert meta["userinfo_endpoint"] == base + "/oauth/userinfo"
        assert meta["jwks_uri"] == base + "/.well-known/jwks.json"
        assert meta["response_types_supported"] == ["code"]
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
        assert set(meta["token_endpoint_auth_methods_supported"]) == {
            "client_secret_basic",
            "client_secret_post",
            "none",
        }
        assert meta["scopes_supported"] == [
            "capture",
            "authenticate",
            "preapproval",
            "payment",
            "openid",
        ]
        assert meta["authorization_response_iss_parameter_supported"] is True
        # Every endpoint named is served (no 404): each answers its own way without input.
        for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
            assert http.post(meta[name], data={}).status_code in (400, 401)
        assert http.get(meta["authorization_endpoint"]).status_code == 400
        assert http.get(meta["userinfo_endpoint"]).status_code == 400
        assert http.get(meta["jwks_uri"]).status_code == 200


def test_metadata_issuer_equals_iss_of_authorization_responses(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        meta = _get_json(http, "/.well-known/oauth-authorization-server")
        done = sign_in(http, client.client_id)
        assert redirect_params(done)["iss"] == meta["issuer"]
        denied = http.get(
            "/oauth/authorize",
            params={"client_id": client.client_id, "redirect_uri": REDIRECT, "state": "s"},
        )
        assert redirect_params(denied)["iss"] == meta["issuer"]


def test_openid_configuration(server: LiveServer) -> None:
    with server.http() as http:
        config = _get_json(http, "/.well-known/openid-configuration")
        meta = _get_json(http, "/.well-known/oauth-authorization-server")
        assert {k: config[k] for k in meta} == meta
        assert config["subject_types_supported"] == ["public"]
        assert config["id_token_signing_alg_values_supported"] == ["ES256"]
        assert "openid" in config["scopes_supported"]
        jwks = _get_json(http, "/.well-known/jwks.json")
        (key,) = jwks["keys"]
        assert key["kty"] == "EC" and key["crv"] == "P-256"
        assert key["use"] == "sig" and key["alg"] == "ES256" and key["kid"]
        assert "d" not in key  # never the private part


# -- id_token ---------------------------------------------------------------------------------


def test_openid_scope_yields_a_signed_id_token(server: LiveServer) -> None:
    client = register(server)
    started = int(time.time())
    with server.http() as http:
        tokens = standard_tokens(
            http, client, scope="openid authenticate", query={"nonce": "n-0S6_WzA2Mj"}
        )
        assert set(tokens) >= {"access_token", "id_token", "refresh_token"}
        claims = _verified_claims(http, server, client, tokens["id_token"])
        assert claims["nonce"] == "n-0S6_WzA2Mj"
        assert claims["amr"] == ["sig"]
        assert started - 5 <= claims["auth_time"] <= claims["iat"] <= int(time.time()) + 5
        assert claims["exp"] - claims["iat"] == 3600
        assert re.fullmatch(r"[0-9a-f]{64}", claims["sub"])
        assert "@" not in claims["sub"]
        # The same subject everywhere: introspection and userinfo agree with the id_token.
        intro = http.post(
            "/oauth/introspect", auth=client.basic, data={"token": tokens["access_token"]}
        ).json()
        assert intro["sub"] == claims["sub"]
        info = http.get("/oauth/userinfo", headers=bearer(tokens["access_token"])).json()
        assert info["sub"] == claims["sub"]
        # A refreshed token answer carries no new id_token (OpenID Connect Core 12.2: MAY).
        refreshed = http.post(
            "/oauth/token",
            auth=client.basic,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        ).json()
        assert "id_token" not in refreshed


def test_id_token_signature_is_checked(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client, scope="openid authenticate")
        keys = KeySet.import_key_set(_get_jwks(http, "/.well-known/jwks.json"))
    head, payload, signature = tokens["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(
        json.dumps({**claims, "sub": "someone-else"}).encode()
    ).rstrip(b"=")
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{head}.{forged.decode()}.{signature}", keys, algorithms=["ES256"])
    stranger = ECKey.generate_key("P-256")
    with pytest.raises(BadSignatureError):
        jwt.decode(tokens["id_token"], stranger, algorithms=["ES256"])
    assert jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims == claims


def test_no_id_token_without_openid_or_in_the_documented_shape(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        assert "id_token" not in standard_tokens(http, client, scope="authenticate")
        done = sign_in(http, client.client_id, scope="openid authenticate")
        documented = http.post(
            "/oauth/token",
            auth=client.basic,
            data={"code": redirect_params(done)["code"], "redirect_uri": REDIRECT},
        )
        assert documented.status_code == 201
        assert list(documented.json()) == ["access_token"]


def test_openid_needs_to_be_allowed_for_the_client(server: LiveServer) -> None:
    client = register(server, scopes="authenticate")
    with server.http() as http:
        r = http.get(
            authorize_url(client.client_id, REDIRECT, scope="openid authenticate"),
        )
    assert r.status_code == 302
    assert redirect_params(r)["error"] == "invalid_scope"


def test_subject_is_stable_across_logins_and_clients(server: LiveServer) -> None:
    first, second = register(server), register(server)
    identifier = new_identifier()
    with server.http() as http:
        tokens = standard_tokens(
            http, first, scope="openid authenticate", identifier=identifier, writer=2
        )
        sub = _verified_claims(http, server, first, tokens["id_token"])["sub"]
        # A second login, to another client: the user verifies one genuine signature.
        url = authorize_url(second.client_id, REDIRECT, scope="openid authenticate")
        for sample in (11, 12, 13):
            result = verify(http, url, identifier, svc2004_path(2, sample))
            if not isinstance(result, Page):
                break
        assert not isinstance(result, Page), "no genuine signature of writer 2 was accepted"
        code = redirect_params(result)["code"]
        again = http.post(
            "/oauth/token",
            auth=second.basic,
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        ).json()
        claims = _verified_claims(http, server, second, again["id_token"])
    assert claims["sub"] == sub
    assert "nonce" not in claims


# -- userinfo -------------------------------------------------------------------------------


def test_userinfo_returns_the_users_claims(server: LiveServer) -> None:
    client = register(server)
    identifier = new_identifier()
    with server.http() as http:
        tokens = standard_tokens(
            http,
            client,
            scope="openid authenticate",
            identifier=identifier,
            query={"user_params[mobile]": "+32470123456"},
        )
        r = http.get("/oauth/userinfo", headers=bearer(tokens["access_token"]))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == JSON
        assert r.headers["cache-control"] == "no-store"
        info = r.json()
        assert info == {
            "sub": info["sub"],
            "given_name": "Ada",
            "family_name": "Lovelace",
            "name": "Ada Lovelace",
            "email": identifier,
            "email_verified": False,
            "phone_number": "+32470123456",
            "phone_number_verified": False,
        }
        posted = http.post("/oauth/userinfo", headers=bearer(tokens["access_token"]))
        assert posted.json() == info


def test_userinfo_refusals(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        plain = standard_tokens(http, client, scope="authenticate")
        no_openid = http.get("/oauth/userinfo", headers=bearer(plain["access_token"]))
        # RFC 6750 3.1: a token without the scope the resource needs is 403 insufficient_scope,
        # with the challenge naming the scope.
        assert (no_openid.status_code, no_openid.json()["error"]) == (403, "insufficient_scope")
        assert no_openid.headers["content-type"] == JSON
        assert no_openid.headers["www-authenticate"] == (
            'Bearer realm="authature", error="insufficient_scope", scope="openid"'
        )
        assert "openid" in no_openid.json()["error_description"]

        tokens = standard_tokens(http, client, scope="openid authenticate")
        in_query = http.get("/oauth/userinfo", params={"access_token": tokens["access_token"]})
        assert (in_query.status_code, in_query.json()["error"]) == (400, "invalid_request")

        missing = http.get("/oauth/userinfo")
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_token")
        assert missing.headers["www-authenticate"].startswith("Bearer")

        http.post("/oauth/revoke", auth=client.basic, data={"token": tokens["access_token"]})
        revoked = http.get("/oauth/userinfo", headers=bearer(tokens["access_token"]))
        assert (revoked.status_code, revoked.json()["error"]) == (400, "invalid_token")
        assert 'error="invalid_token"' in revoked.headers["www-authenticate"]


# -- the authorization request (OpenID Connect Core 3.1.2.1) --------------------------------


def _authorize_form(client: Registered, **extra: str) -> dict[str, str]:
    return {
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "posted-state",
        "scope": "openid authenticate",
        **extra,
    }


def test_authorize_accepts_a_form_post_like_a_get(server: LiveServer) -> None:
    client = register(server)
    identifier = new_identifier()
    with server.http() as http:
        started = http.post("/oauth/authorize", data=_authorize_form(client))
        assert started.status_code == 303, started.text
        assert started.headers["location"].startswith("/signin/")
        page = get_page(http, started.headers["location"])
        result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
        for sample, n in enumerate((1, 2, 3)):
            assert isinstance(result, Page), result.text
            data = {"capture": capture_json(svc2004_path(2, n))}
            if sample == 0:
                data.update(first_name="Ada", last_name="Lovelace")
            result = follow(http, result, post(http, result, "signature", data))
        assert isinstance(result, httpx.Response) and result.status_code == 302
        params = redirect_params(result)
        assert params["state"] == "posted-state" and "code" in params
        tokens = http.post(
            "/oauth/token",
            auth=client.basic,
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": REDIRECT,
            },
        )
        assert tokens.status_code == 200 and "id_token" in tokens.json()

        # Its errors leave as a GET's do: back to the client once it is trusted...
        bad = http.post("/oauth/authorize", data=_authorize_form(client, ux_style="sideways"))
        assert bad.status_code == 302
        assert redirect_params(bad)["error"] == "invalid_request"
        assert redirect_params(bad)["state"] == "posted-state"
        # ...and a page before that, also for a body that is not a form.
        unknown = http.post("/oauth/authorize", data={**_authorize_form(client), "client_id": "x"})
        as_json = http.post("/oauth/authorize", json=_authorize_form(client))
        for r in (unknown, as_json):
            assert r.status_code == 400 and "location" not in r.headers
            assert r.headers["content-type"].startswith("text/html")


def _identifier_input(page: Page) -> str:
    match = re.search(r'<input id="identifier"[^>]*>', page.html, re.S)
    assert match, "no identifier field"
    return match.group(0)


def _identifier_field(page: Page) -> str:
    value = re.search(r'value="([^"]*)"', _identifier_input(page))
    assert value
    return value.group(1)


def test_login_hint_prefills_the_email_field_as_a_suggestion(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        hinted = open_page(
            http, authorize_url(client.client_id, REDIRECT, login_hint="ada@example.com")
        )
        assert _identifier_field(hinted) == "ada@example.com"
        # Only a suggestion: the field is still an ordinary, editable one, and the user may
        # sign in with another address.
        field = _identifier_input(hinted)
        assert "readonly" not in field and "disabled" not in field
        other = new_identifier()
        step = follow(http, hinted, post(http, hinted, "identify", {"identifier": other}))
        assert isinstance(step, Page) and other in step.html
        # user_params[identifier] wins; a hint too long for an address is dropped, not refused.
        both = open_page(
            http,
            authorize_url(
                client.client_id,
                REDIRECT,
                login_hint="hint@example.com",
                **{"user_params[identifier]": "param@example.com"},
            ),
        )
        assert _identifier_field(both) == "param@example.com"
        too_long = open_page(
            http, authorize_url(client.client_id, REDIRECT, login_hint="a" * 330 + "@example.com")
        )
        assert too_long.status_code == 200 and _identifier_field(too_long) == ""


# -- the signing key --------------------------------------------------------------------------


def test_signing_key_survives_a_restart_and_can_be_configured(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    kids = []
    for _ in range(2):
        with run_server(settings) as live, live.http() as http:
            kids.append(_get_json(http, "/.well-known/jwks.json")["keys"][0]["kid"])
    assert kids[0] == kids[1]
    assert ((tmp_path / "data" / "keys" / "signing.pem").stat().st_mode & 0o777) == 0o600

    rsa_file = tmp_path / "rsa.pem"
    rsa_file.write_bytes(RSAKey.generate_key(2048).as_pem(private=True))
    with run_server(replace(server_settings(tmp_path), signing_key_file=rsa_file)) as live:
        client = register(live)
        with live.http() as http:
            config = _get_json(http, "/.well-known/openid-configuration")
            assert config["id_token_signing_alg_values_supported"] == ["RS256"]
            tokens = standard_tokens(http, client, scope="openid authenticate")
            claims = _verified_claims(http, live, client, tokens["id_token"])
            assert claims["aud"] == client.client_id


def test_processes_starting_together_agree_on_one_signing_key(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    barrier = threading.Barrier(8)
    kids: list[str] = []

    def start() -> None:
        barrier.wait()
        kids.append(load_signing_key(settings).thumbprint())

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kids) == 8 and len(set(kids)) == 1
    assert [p.name for p in (tmp_path / "data" / "keys").iterdir()] == ["signing.pem"]
