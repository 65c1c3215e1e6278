"""Operator commands act on a running server at once: they share its database and keys."""

from __future__ import annotations

import json

import httpx
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


def _invalid_client(r: httpx.Response) -> str:
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client"), r.text
    assert r.headers["www-authenticate"].startswith("Basic")
    description: str = r.json()["error_description"]
    return description


def test_a_disabled_client_is_told_so_and_its_grants_end_for_good(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = live_server.create_client([REDIRECT])
    client_id, secret = new.client.client_id, new.client_secret
    assert secret
    url = authorize_url(client_id, REDIRECT)
    with live_server.http() as http:
        done = enroll(http, url, "gone@example.com", [svc2004_path(11, s) for s in (1, 2, 3)])
        first_code = redirect_params(done)["code"]
        tokens = http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": first_code},
        ).json()
        unused = sign_in(
            http, url, "gone@example.com", [svc2004_path(11, s) for s in (4, 5, 6, 7)]
        )[0]
        unused_code = redirect_params(unused)["code"]
        in_progress = http.get(url).headers["location"]  # a sign-in left half-way

        said = _cli(live_server, monkeypatch, "clients", "disable", client_id)
        # One access and one refresh token, one code, one sign-in (the unused code's token
        # request never came): all ended in the disabling transaction.
        assert "Revoked for good: 2 live token(s), 1 unused code(s), 1 sign-in(s)" in said

        access = tokens["access_token"]
        for r in (
            http.post(
                "/oauth/token",
                auth=(client_id, secret),
                data={"redirect_uri": REDIRECT, "code": unused_code},
            ),
            http.post(
                "/oauth/token",
                auth=(client_id, secret),
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ),
            http.post("/oauth/introspect", auth=(client_id, secret), data={"token": access}),
            http.get(f"/oauth/signatures/{access}", auth=(client_id, secret)),
        ):
            description = _invalid_client(r)
            assert (
                "This client is disabled" in description and "contact the operator" in description
            )
        # Without the secret nothing is revealed: the usual sentence.
        wrong = http.post("/oauth/introspect", auth=(client_id, "0" * 64), data={"token": access})
        assert "check the client_id and client_secret" in _invalid_client(wrong)
        assert "disabled" not in wrong.text
        check = http.get(
            "/oauth/token",
            params={"client_id": client_id, "scope": "authenticate"},
            headers={"Authorization": f"Bearer {access}"},
        )
        assert (check.status_code, check.json()["error"]) == (400, "invalid_token")
        assert "is disabled" in check.json()["error_description"]
        page = http.get(url)  # the authorization page: an error page, no redirect
        assert page.status_code == 401
        assert "location" not in page.headers
        assert "unauthorized_client" in page.text
        assert "This application is disabled" in page.text
        # A bearer-only endpoint says why too, not "sign in again", which cannot help now.
        pay = http.post(
            "/api/v2/payment/authorize",
            headers={"Authorization": f"Bearer {access}"},
            data={"client_id": client_id, "device_uid": "d-1"},
        )
        assert (pay.status_code, pay.json()["error"]) == (400, "invalid_token"), pay.text
        assert "is disabled" in pay.json()["error_description"]

        _cli(live_server, monkeypatch, "clients", "enable", client_id)
        # Enabling does not revive what was revoked.
        check = http.get(
            "/oauth/token",
            params={"client_id": client_id, "scope": "authenticate"},
            headers={"Authorization": f"Bearer {access}"},
        )
        assert (check.status_code, check.json()["error"]) == (400, "invalid_token")
        for form in (
            {"redirect_uri": REDIRECT, "code": unused_code},
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        ):
            r = http.post("/oauth/token", auth=(client_id, secret), data=form)
            assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), r.text
        assert http.get(in_progress).status_code == 404  # the half-done sign-in is gone
        # New sign-ins work again.
        again = sign_in(
            http, url, "gone@example.com", [svc2004_path(11, s) for s in (8, 9, 10, 11)]
        )[0]
        assert "code" in redirect_params(again)


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
        # An empty item is malformed here too, as at /oauth/authorize (one parse_scope).
        assert check("authenticate,,capture") == (400, "invalid_scope")
        assert check("authenticate, capture") == (200, "ok")
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


def test_disabling_a_client_says_how_many_payment_authorizations_it_expired(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.payments import authorize, capture, enroll_payer

    payer = enroll_payer(live_server, identifier="payer-off@example.com")
    with live_server.http() as http:
        captured = authorize(http, payer).json()["authorization_id"]
        assert capture(http, payer, captured).status_code == 201
        left = [authorize(http, payer).json()["authorization_id"] for _ in range(2)]

        said = _cli(live_server, monkeypatch, "clients", "disable", payer.client_id)
        # The captured one is done; the two others are expired in the disabling transaction.
        assert "2 uncaptured payment authorization(s)" in said, said

        _cli(live_server, monkeypatch, "clients", "enable", payer.client_id)
        for authorization_id in left:
            again = capture(http, payer, authorization_id, ref_id=f"after-{authorization_id}")
            assert again.status_code != 201, again.text
