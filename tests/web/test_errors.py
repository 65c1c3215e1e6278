"""Every OAuth error code of SPEC 4, over real HTTP, with its status, body and headers.

Errors before the client and redirect URI are trusted are a page (authorize) or JSON (elsewhere);
after that they go back to the client's redirect URI as `error`, `error_description`, `state`
and `iss` (RFC 6749 4.1.2.1, RFC 9207).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import text
from support.oauth_flow import (
    REDIRECT,
    bearer,
    code_for,
    pkce_pair,
    register,
    shared_server,
    sign_in,
    standard_tokens,
)
from support.server import LiveServer, run_server
from support.server import settings_for as server_settings
from support.signin import authorize_url, open_page, post, redirect_params

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


JSON = "application/json; charset=utf-8"
_DESCRIPTION = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 5.2


def assert_json_error(r: httpx.Response, status: int, error: str) -> dict[str, str]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == JSON
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, str] = r.json()
    assert list(body) == ["error", "error_description"]
    assert body["error"] == error
    assert _DESCRIPTION.match(body["error_description"])
    return body


def assert_redirect_error(
    server: LiveServer, r: httpx.Response, error: str, state: str | None = "state-123"
) -> dict[str, list[str]]:
    assert r.status_code in (302, 303), r.text
    if r.status_code == 302:  # straight from the authorize endpoint
        assert r.headers["cache-control"] == "no-store"
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["error"] == [error]
    assert _DESCRIPTION.match(params["error_description"][0])
    assert params["iss"] == [server.base_url]
    if state is None:
        assert "state" not in params
    else:
        assert params["state"] == [state]
    return params


def assert_error_page(r: httpx.Response, status: int, error: str | None = None) -> None:
    """Never a redirect: the user sees a page, the client learns nothing (RFC 6749 4.1.2.1)."""
    assert r.status_code == status, r.text
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    if error is not None:
        assert error in r.text


def _authorize(client_id: str, **overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "state-123",
        "scope": "authenticate",
        **overrides,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


# -- invalid_request ------------------------------------------------------------------------


def test_invalid_request_is_400_json_at_the_token_endpoint(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        no_code = http.post(
            "/oauth/token",
            auth=client.basic,
            data={"grant_type": "authorization_code", "redirect_uri": REDIRECT},
        )
        assert_json_error(no_code, 400, "invalid_request")
        as_json = http.post("/oauth/token", auth=client.basic, json={"code": "x"})
        assert_json_error(as_json, 400, "invalid_request")
        repeated = http.post(
            "/oauth/token",
            auth=client.basic,
            content="code=a&code=b&redirect_uri=x",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert_json_error(repeated, 400, "invalid_request")


def test_a_multipart_token_request_is_read_whole_or_refused(server: LiveServer) -> None:
    """A complete multipart body is read like a urlencoded one; one cut before its closing
    boundary is refused as incomplete instead of being judged on the parts it lost."""
    client = register(server)
    part = (
        '--b1\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\n'
        "authorization_code\r\n"
        '--b1\r\nContent-Disposition: form-data; name="code"\r\n\r\n' + "0" * 32 + "\r\n"
        '--b1\r\nContent-Disposition: form-data; name="redirect_uri"\r\n\r\n' + REDIRECT
    )
    headers = {"content-type": "multipart/form-data; boundary=b1"}
    with server.http() as http:
        whole = http.post(
            "/oauth/token", auth=client.basic, content=part + "\r\n--b1--\r\n", headers=headers
        )
        assert_json_error(whole, 400, "invalid_grant")  # all three parameters were read
        cut = http.post("/oauth/token", auth=client.basic, content=part, headers=headers)
        assert_json_error(cut, 400, "invalid_request")
        assert "incomplete" in cut.json()["error_description"]
        no_boundary = http.post(
            "/oauth/token",
            auth=client.basic,
            content=part,
            headers={"content-type": "multipart/form-data"},
        )
        assert_json_error(no_boundary, 400, "invalid_request")


def test_invalid_request_after_the_redirect_uri_is_trusted_redirects(
    server: LiveServer,
) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, ux_style="sideways"))
        assert_redirect_error(server, r, "invalid_request")


# -- unauthorized_client --------------------------------------------------------------------


def test_disabled_client_gets_unauthorized_client_page(server: LiveServer) -> None:
    from authature.admin import ClientAdmin

    client = register(server)
    ClientAdmin(server.services.uow, server.services.keys).disable(client.client_id)
    with server.http() as http:
        assert_error_page(http.get(_authorize(client.client_id)), 401, "unauthorized_client")


def test_public_client_may_not_introspect(server: LiveServer) -> None:
    public = register(server, public=True)
    with server.http() as http:
        r = http.post("/oauth/introspect", data={"client_id": public.client_id, "token": "0" * 64})
        assert_json_error(r, 401, "unauthorized_client")


# -- access_denied ---------------------------------------------------------------------------


def test_deny_button_redirects_with_access_denied(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        page = open_page(http, authorize_url(client.client_id, REDIRECT))
        r = post(http, page, "deny", {})
        params = assert_redirect_error(server, r, "access_denied")
        assert "declined" in params["error_description"][0]
        # The page is gone: a second decision is impossible.
        assert http.get(page.url).status_code == 404


# -- unsupported_response_type, invalid_scope, missing_state --------------------------------


def test_unsupported_response_type_redirects(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, response_type="token"))
        assert r.status_code == 302
        assert_redirect_error(server, r, "unsupported_response_type")


@pytest.mark.parametrize(
    "scope",
    [
        "bogus",
        "payment",
        "authenticate,Capture",
        "",
        "authenticate%20x",
        ",",
        " , ",
        "capture,,authenticate",
        "capture, ,authenticate",
        "authenticate,",
    ],
    ids=[
        "unknown",
        "not-allowed",
        "case",
        "empty",
        "malformed",
        "comma",
        "separators",
        "empty-item",
        "blank-item",
        "trailing-comma",
    ],
)
def test_invalid_scope_redirects(server: LiveServer, scope: str) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, scope=scope))
        params = assert_redirect_error(server, r, "invalid_scope")
        if scope == "bogus":  # names the scopes there are
            assert "use capture, authenticate" in params["error_description"][0]
        if scope in ("capture,,authenticate", "capture, ,authenticate", "authenticate,"):
            assert "empty item" in params["error_description"][0]


def test_an_unknown_scope_is_quoted_with_its_code_points(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, scope="ca\u00feture"))
    params = assert_redirect_error(server, r, "invalid_scope")
    assert params["error_description"][0].startswith("Unknown scope 'ca<U+00FE>ture'")


@pytest.mark.parametrize(
    "scope", ["capture,authenticate", "capture, authenticate", "capture authenticate"]
)
def test_scope_lists_with_commas_or_spaces_are_read(server: LiveServer, scope: str) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, scope=scope))
    assert r.status_code == 303, r.text  # on to the sign-in page


def test_invalid_scope_at_the_token_endpoint_when_asking_for_more(
    server: LiveServer,
) -> None:
    client = register(server)
    with server.http() as http:
        code = code_for(http, client.client_id, scope="authenticate")
        r = http.post(
            "/oauth/token",
            auth=client.basic,
            data={"code": code, "redirect_uri": REDIRECT, "scope": "authenticate capture"},
        )
        assert_json_error(r, 400, "invalid_scope")


def test_missing_state_redirects_without_state(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, state=None))
        assert_redirect_error(server, r, "missing_state", state=None)


# -- server_error, temporarily_unavailable --------------------------------------------------


def test_server_error_is_500_json_without_sql(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = register(live_server)
    with live_server.services.database.engine.begin() as conn:
        conn.execute(text("DROP TABLE access_tokens"))
    with live_server.http() as http:
        r = http.get(
            "/oauth/token",
            params={"client_id": client.client_id, "scope": "authenticate"},
            headers=bearer("0" * 64),
        )
    body = assert_json_error(r, 500, "server_error")
    leaked = r.text.lower()
    for secret in ("access_tokens", "select", "sqlite", "traceback", "no such table"):
        assert secret not in leaked
    assert body["error_description"] == "The server met an unexpected condition."
    logged = " ".join(str(rec.exc_info) for rec in caplog.records if rec.exc_info)
    assert "no such table" in logged or "does not exist" in logged  # SQLite, PostgreSQL


def test_server_error_on_the_authorize_endpoint_is_a_page(live_server: LiveServer) -> None:
    client = register(live_server)
    with live_server.services.database.engine.begin() as conn:
        conn.execute(text("DROP TABLE auth_requests"))
    with live_server.http() as http:
        r = http.get(_authorize(client.client_id))
    assert_error_page(r, 500)
    assert "auth_requests" not in r.text


def test_maintenance_mode_answers_503_with_retry_after(tmp_path: Path) -> None:
    settings = replace(
        server_settings(tmp_path), maintenance=True, maintenance_retry_after_seconds=120
    )
    with run_server(settings) as server, server.http() as http:
        token = http.post("/oauth/token", data={"grant_type": "authorization_code"})
        assert_json_error(token, 503, "temporarily_unavailable")
        assert token.headers["retry-after"] == "120"
        page = http.get(_authorize("anything"))
        assert_error_page(page, 503, "maintenance")
        assert page.headers["retry-after"] == "120"
        assert http.get("/.well-known/oauth-authorization-server").status_code == 200


def test_unreachable_database_is_temporarily_unavailable(live_server: LiveServer) -> None:
    """The database cannot be opened at all (its folder is gone): 503, not 500."""
    if not live_server.settings.database_url.startswith("sqlite"):
        pytest.skip(
            "simulates an unreachable SQLite file; PostgreSQL outages are in tests/ops/test_outage.py"
        )
    client = register(live_server)
    data_dir = Path(live_server.settings.data_dir)
    moved = data_dir.with_name("moved-away")
    live_server.services.database.engine.dispose()
    os.rename(data_dir, moved)
    data_dir.write_text("not a folder")
    try:
        with live_server.http() as http:
            r = http.get(
                "/oauth/token",
                params={"client_id": client.client_id, "scope": "authenticate"},
                headers=bearer("0" * 64),
            )
        assert_json_error(r, 503, "temporarily_unavailable")
        assert r.headers["retry-after"].isdigit()
    finally:
        data_dir.unlink()
        os.rename(moved, data_dir)


# -- invalid_client ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["wrong-secret", "unknown-client", "no-credentials", "garbled"])
def test_invalid_client_is_401_with_www_authenticate_basic(server: LiveServer, case: str) -> None:
    client = register(server)
    assert client.secret
    headers: dict[str, str] = {}
    auth = httpx.Auth()  # no credentials, whatever the httpx.Client's default
    if case == "wrong-secret":
        wrong = client.secret[:-1] + ("1" if client.secret[-1] == "0" else "0")
        auth = httpx.BasicAuth(client.client_id, wrong)
    elif case == "unknown-client":
        auth = httpx.BasicAuth("f" * 32, client.secret)
    elif case == "garbled":
        headers["Authorization"] = "Basic !!not-base64!!"
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
    with server.http() as http:
        r = http.post("/oauth/token", auth=auth, headers=headers, data=data)
    assert_json_error(r, 401, "invalid_client")
    assert r.headers["www-authenticate"].startswith("Basic")


# -- invalid_grant, unsupported_grant_type, invalid_token ------------------------------------


def test_invalid_grant_for_bad_codes(server: LiveServer) -> None:
    client = register(server)
    other = register(server)
    with server.http() as http:
        data = {"grant_type": "authorization_code", "redirect_uri": REDIRECT}
        unknown = http.post("/oauth/token", auth=client.basic, data={**data, "code": "0" * 32})
        assert_json_error(unknown, 400, "invalid_grant")
        code = code_for(http, client.client_id)
        stolen = http.post("/oauth/token", auth=other.basic, data={**data, "code": code})
        assert_json_error(stolen, 400, "invalid_grant")
        code = code_for(http, client.client_id)
        wrong_uri = {**data, "code": code, "redirect_uri": REDIRECT + "/x"}
        assert_json_error(
            http.post("/oauth/token", auth=client.basic, data=wrong_uri), 400, "invalid_grant"
        )
        bad_refresh = {"grant_type": "refresh_token", "refresh_token": "0" * 64}
        assert_json_error(
            http.post("/oauth/token", auth=client.basic, data=bad_refresh), 400, "invalid_grant"
        )


def test_unsupported_grant_type(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        for grant in ("password", "client_credentials", "implicit", ""):
            r = http.post(
                "/oauth/token",
                auth=client.basic,
                data={"grant_type": grant, "username": "a", "password": "b"},
            )
            assert_json_error(r, 400, "unsupported_grant_type")


def test_invalid_token_is_400(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        tokens = standard_tokens(http, client)
        query = {"client_id": client.client_id, "scope": "authenticate"}
        assert http.get("/oauth/token", params=query, headers=bearer(tokens["access_token"]))
        for header in (f"Bearer {'0' * 64}", "Bearer", f"Bearer {'x' * 300}", "Basic abc"):
            r = http.get("/oauth/token", params=query, headers={"Authorization": header})
            assert_json_error(r, 400, "invalid_token")
            assert r.headers["www-authenticate"].startswith('Bearer realm="authature"')
            assert r.headers["x-content-type-options"] == "nosniff"
        wrong = http.get("/oauth/token", params=query, headers=bearer("0" * 64))
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]  # RFC 6750 3.1
        missing = http.get("/oauth/token", params=query)
        assert_json_error(missing, 400, "invalid_token")
        assert missing.headers["www-authenticate"] == 'Bearer realm="authature"'


# -- where errors go: the authorize endpoint never redirects to an unverified URI ------------


def test_unknown_client_gets_an_error_page(server: LiveServer) -> None:
    with server.http() as http:
        assert_error_page(http.get(_authorize("f" * 32)), 400, "invalid_request")
        assert_error_page(http.get(_authorize("", response_type="token")), 400)


@pytest.mark.parametrize(
    "requested",
    [
        "https://shop.example/callback/",  # trailing slash
        "https://shop.example/Callback",  # case of the path
        "https://SHOP.example/callback",  # case of the host
        "https://shop.example/callback?x=1",  # extra query
        "https://shop.example:443/callback",  # explicit default port
        "https://shop.example/callback#frag",
        "http://shop.example/callback",  # scheme
        "https://shop.example.evil/callback",
        "https://shop.example/callback/../callback",
        "https://user@shop.example/callback",
        "",
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page(server: LiveServer, requested: str) -> None:
    client = register(server, redirect_uris=["https://shop.example/callback"])
    with server.http() as http:
        # Even with other errors present, the unverified URI is never redirected to.
        r = http.get(_authorize(client.client_id, redirect_uri=requested, response_type="token"))
        assert_error_page(r, 400, "invalid_request")


def test_registered_redirect_uri_with_its_own_query_keeps_it(server: LiveServer) -> None:
    registered = "https://shop.example/callback?tenant=7"
    client = register(server, redirect_uris=[registered])
    with server.http() as http:
        r = http.get(_authorize(client.client_id, redirect_uri=registered, state=None))
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith(registered + "&")
    assert parse_qs(urlsplit(location).query)["error"] == ["missing_state"]


@pytest.mark.parametrize(
    ("registered", "requested", "matches"),
    [
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:54321/cb", True),
        ("http://127.0.0.1/cb", "http://127.0.0.1:8080/cb", True),
        ("http://[::1]:9/cb", "http://[::1]:4444/cb", True),
        ("http://[::1]/cb", "http://[::1]:65535/cb", True),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:54321/cb/", False),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:54321/CB", False),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:54321/cb?x=1", False),
        ("http://127.0.0.1:9/cb", "http://127.0.0.2:54321/cb", False),
        ("http://127.0.0.1:9/cb", "http://[::1]:54321/cb", False),
        ("http://127.0.0.1:9/cb", "http://localhost:54321/cb", False),
        ("http://localhost:9/cb", "http://localhost:54321/cb", False),
        ("http://127.0.0.1:9/cb", "https://127.0.0.1:54321/cb", False),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:notaport/cb", False),
        ("http://127.0.0.1:9/cb", "http://evil@127.0.0.1:54321/cb", False),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:0/cb", False),
        ("http://127.0.0.1:9/cb", "http://127.0.0.1:00/cb", False),
        ("http://[::1]:9/cb", "http://[::1]:0/cb", False),
    ],
)
def test_loopback_redirect_uris_of_public_clients_match_on_any_port_only(
    server: LiveServer, registered: str, requested: str, matches: bool
) -> None:
    """RFC 8252 7.3: a native (public) client's loopback IP literals match whatever the port;
    nothing else differs."""
    client = register(server, scopes="authenticate", redirect_uris=[registered], public=True)
    _, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    with server.http() as http:
        r = http.get(_authorize(client.client_id, redirect_uri=requested, **pkce))
    if matches:
        assert r.status_code == 303
        assert r.headers["location"].startswith("/signin/")
    else:
        assert_error_page(r, 400, "invalid_request")


@pytest.mark.parametrize(
    "requested",
    ["http://127.0.0.1:54321/cb", "http://127.0.0.1/cb", "http://127.0.0.1:9/cb"],
)
def test_loopback_redirect_uris_of_confidential_clients_match_exactly(
    server: LiveServer, requested: str
) -> None:
    """SPEC 3.1's exact string match: the any-port rule is for native apps (RFC 8252 7.3), and
    a web client with a secret knows the one address it serves."""
    client = register(server, redirect_uris=["http://127.0.0.1:9/cb"])
    with server.http() as http:
        r = http.get(_authorize(client.client_id, redirect_uri=requested))
    if requested == "http://127.0.0.1:9/cb":
        assert r.status_code == 303
    else:
        assert_error_page(r, 400, "invalid_request")
        assert "redirect_uri is not registered" in r.text


def test_sign_in_on_another_loopback_port_returns_to_that_port(server: LiveServer) -> None:
    client = register(
        server, scopes="authenticate", redirect_uris=["http://127.0.0.1:9/cb"], public=True
    )
    requested = "http://127.0.0.1:61234/cb"
    verifier, challenge = pkce_pair()
    with server.http() as http:
        done = sign_in(
            http,
            client.client_id,
            redirect_uri=requested,
            scope="authenticate",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        assert done.status_code == 302, done.text
        assert done.headers["location"].startswith(requested + "?")
        r = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": client.client_id,
                "code": redirect_params(done)["code"],
                "redirect_uri": requested,
                "code_verifier": verifier,
            },
        )
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


# -- once the client and redirect URI are trusted, errors go back to the client ---------------


@pytest.mark.parametrize(
    ("extra", "state"),
    [
        ("&scope=capture", "state-123"),
        ("&state=again", None),
        ("&response_type=code", "state-123"),
        ("&device_uid=" + "d" * 3000, "state-123"),
        ("&nonce=%C3%28", "state-123"),
    ],
    ids=["repeated-scope", "repeated-state", "repeated-response-type", "long", "bad-utf8"],
)
def test_malformed_parameters_of_a_trusted_client_redirect_invalid_request(
    server: LiveServer, extra: str, state: str | None
) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id) + extra)
        params = assert_redirect_error(
            server, r, "invalid_request", state=state if state else "state-123"
        )
        assert params["error_description"]


def test_a_state_that_is_not_utf8_is_not_echoed(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id, state=None) + "&state=%C3%28")
        assert_redirect_error(server, r, "invalid_request", state=None)


def test_repeated_client_id_is_an_error_page(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id) + "&client_id=" + client.client_id)
        assert_error_page(r, 400, "invalid_request")


@pytest.mark.parametrize("scope", ["preapproval", "payment"])
def test_payment_scopes_need_a_client_registered_for_them(server: LiveServer, scope: str) -> None:
    client = register(server, scopes="authenticate")
    with server.http() as http:
        r = http.get(_authorize(client.client_id, scope=scope, ref_id="o-1", amount="100"))
        params = assert_redirect_error(server, r, "invalid_scope")
        assert "may not request" in params["error_description"][0]
        assert "registered for authenticate" in params["error_description"][0]  # what it may
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        assert scope in metadata["scopes_supported"]


def test_signature_alias_without_a_token_is_invalid_request(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        assert_json_error(http.get("/oauth/signature", auth=client.basic), 400, "invalid_request")


def test_a_trailing_slash_is_not_redirected(server: LiveServer) -> None:
    with server.http() as http:
        r = http.get("/oauth/signatures/" + "0" * 64 + "/")
        assert r.status_code == 404
        assert "location" not in r.headers


@pytest.mark.parametrize(
    "param",
    [
        "user_params[first_name]=A%07B",
        "user_params[mobile]=call-me",
        "user_params[identifier]=a%E2%80%AEb",
    ],
)
def test_bad_user_params_redirect_invalid_request(server: LiveServer, param: str) -> None:
    client = register(server)
    with server.http() as http:
        r = http.get(_authorize(client.client_id) + "&" + param)
        assert_redirect_error(server, r, "invalid_request")


def test_head_on_authorize_opens_no_sign_in(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        r = http.head(_authorize(client.client_id))
        assert r.status_code == 200
        assert "location" not in r.headers
        assert http.get("/favicon.ico").status_code == 204


@pytest.mark.parametrize(
    ("amount", "ref_id", "says"),
    [
        (None, "o-1", "amount is required"),
        ("-5", "o-1", "digits only"),
        ("12.34", "o-1", "digits only"),
        ("1e3", "o-1", "digits only"),
        ("²", "o-1", "digits only"),  # str.isdigit() says yes, int() raises
        ("9" * 60, "o-1", "digits only"),  # not turned into a number at all
        ("9" * 5000, "o-1", "too long"),
        ("99999999999", "o-1", "1 to 1000000000"),
        ("100", None, "ref_id is required"),
        ("100", "oé", "printable ASCII"),
    ],
)
def test_payment_amount_and_reference_are_checked_with_a_sentence(
    server: LiveServer, amount: str | None, ref_id: str | None, says: str
) -> None:
    client = register(server, scopes="payment,authenticate")
    with server.http() as http:
        r = http.get(_authorize(client.client_id, scope="payment", ref_id=ref_id, amount=amount))
        params = assert_redirect_error(server, r, "invalid_request")
        assert says in params["error_description"][0], params
