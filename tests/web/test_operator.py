"""Operator commands act on a running server at once: they share its database and keys."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support.data import svc2004_path
from support.server import LiveServer
from support.signin import Page, authorize_url, enroll, redirect_params, sign_in, verify

from authature.cli import main

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.data


def _cli(server: LiveServer, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("AUTHATURE_DATA_DIR", str(server.settings.data_dir))
    monkeypatch.setenv("AUTHATURE_DATABASE_URL", server.settings.database_url)
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_lock_and_unlock_a_user(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    new = live_server.create_client([REDIRECT])
    url = authorize_url(new.client.client_id, REDIRECT)
    with live_server.http() as http:
        enroll(http, url, "op@example.com", [svc2004_path(8, s) for s in (1, 2, 3)])
        shown = json.loads(_cli(live_server, monkeypatch, "users", "show", "OP@example.com"))
        assert shown["identifier"] == "op@example.com" and shown["locked_until"] is None

        _cli(live_server, monkeypatch, "users", "lock", "op@example.com")
        refused = verify(http, url, "op@example.com", svc2004_path(8, 11))
        assert not isinstance(refused, Page)
        assert redirect_params(refused)["error"] == "access_denied"
        # The operator's lock says so; it does not blame signatures the user never gave.
        why = redirect_params(refused)["error_description"]
        assert "locked by the service until" in why and "support" in why
        assert "refused" not in why

        _cli(live_server, monkeypatch, "users", "unlock", "op@example.com")
        accepted, _ = sign_in(
            http, url, "op@example.com", [svc2004_path(8, s) for s in (11, 12, 13)]
        )
        assert "code" in redirect_params(accepted)


def test_disabling_a_client_stops_its_tokens_and_its_authorizations(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = live_server.create_client([REDIRECT])
    client_id, secret = new.client.client_id, new.client_secret
    assert secret
    url = authorize_url(client_id, REDIRECT)
    with live_server.http() as http:
        done = enroll(http, url, "dis@example.com", [svc2004_path(10, s) for s in (1, 2, 3)])
        token = http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"redirect_uri": REDIRECT, "code": redirect_params(done)["code"]},
        ).json()["access_token"]["token"]
        params = {"client_id": client_id, "scope": "authenticate"}
        headers = {"Authorization": f"Bearer {token}"}
        assert http.get("/oauth/token", params=params, headers=headers).status_code == 200

        _cli(live_server, monkeypatch, "clients", "disable", client_id)
        after = http.get("/oauth/token", params=params, headers=headers)
        assert (after.status_code, after.json()["error"]) == (400, "invalid_token")
        assert "is disabled" in after.json()["error_description"]
        page = http.get(url)
        assert page.status_code == 401
        assert "location" not in page.headers
        assert "unauthorized_client" in page.text


def test_an_unlock_restarts_the_refusal_count(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = live_server.create_client([REDIRECT])
    url = authorize_url(new.client.client_id, REDIRECT)
    with live_server.http() as http:
        enroll(http, url, "relock@example.com", [svc2004_path(8, s) for s in (1, 2, 3)])
        result = None
        for forgery in range(21, 27):  # five refusals lock the user
            result = verify(http, url, "relock@example.com", svc2004_path(15, forgery))
            if not isinstance(result, Page):
                break
        assert result is not None and not isinstance(result, Page), "never locked"
        assert "Too many signatures" in redirect_params(result)["error_description"]

        _cli(live_server, monkeypatch, "users", "unlock", "relock@example.com")
        # Another writer's signature is refused, but counts as the first of five again.
        again = verify(http, url, "relock@example.com", svc2004_path(15, 27))
        assert isinstance(again, Page), redirect_params(again)
        assert "4 tries left" in again.status


def test_a_scope_taken_from_a_client_stops_verifying_on_its_tokens(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = live_server.create_client([REDIRECT])
    client_id, secret = new.client.client_id, new.client_secret
    assert secret
    url = authorize_url(client_id, REDIRECT, scope="authenticate capture")
    with live_server.http() as http:
        done = enroll(http, url, "narrow@example.com", [svc2004_path(9, s) for s in (1, 2, 3)])
        token = http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"redirect_uri": REDIRECT, "code": redirect_params(done)["code"]},
        ).json()["access_token"]["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def check(scope: str) -> tuple[int, str]:
            r = http.get(
                "/oauth/token", params={"client_id": client_id, "scope": scope}, headers=headers
            )
            return r.status_code, r.json().get("error", r.json().get("status"))

        assert check("capture") == (200, "ok")
        assert check(",") == (400, "invalid_scope")  # separators only: no scope at all
        assert check("authenticate,,capture") == (200, "ok")
        both = http.get(
            "/oauth/token",
            params={"client_id": client_id, "scope": "capture", "access_token": token},
            headers=headers,
        )
        assert (both.status_code, both.json()["error"]) == (400, "invalid_request")
        _cli(live_server, monkeypatch, "clients", "update", client_id, "--scopes", "authenticate")
        assert check("capture") == (400, "invalid_token")
        assert check("authenticate") == (200, "ok")
        fetched = http.get(f"/oauth/signatures/{token}", auth=(client_id, secret))
        assert fetched.status_code == 400 and fetched.json()["error"] == "invalid_scope"
