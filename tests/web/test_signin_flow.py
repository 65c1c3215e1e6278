"""The main job over real HTTP: enroll with real signatures, exchange the code, use the token."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import pytest
from support.data import svc2004_path
from support.server import LiveServer
from support.signin import (
    Page,
    authorize_url,
    capture_json,
    enroll,
    follow,
    open_page,
    post,
    redirect_params,
    sign_in,
    verify,
)
from support.svg_shape import check_svg_shape

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.data


def _genuine(user: int, *samples: int) -> list[Path]:
    return [svc2004_path(user, s) for s in samples]


def _enrolled(live_server: LiveServer, user: int = 1) -> tuple[str, str, dict[str, str]]:
    new = live_server.create_client([REDIRECT])
    with live_server.http() as http:
        done = enroll(
            http,
            authorize_url(new.client.client_id, REDIRECT, device_uid="device-1"),
            f"user{user}@example.com",
            _genuine(user, 1, 2, 3),
        )
    assert done.status_code == 302
    assert done.headers["location"].startswith(REDIRECT + "?")
    assert new.client_secret
    return new.client.client_id, new.client_secret, redirect_params(done)


def test_enrollment_redirects_with_code_state_and_issuer(live_server: LiveServer) -> None:
    _, _, params = _enrolled(live_server)
    assert re.fullmatch(r"[0-9a-f]{32}", params["code"])
    assert params["state"] == "state-123"
    assert params["iss"] == live_server.base_url


def test_documented_code_exchange_returns_the_documented_shape(live_server: LiveServer) -> None:
    client_id, secret, params = _enrolled(live_server)
    with live_server.http() as http:
        r = http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={
                "client_id": client_id,
                "redirect_uri": REDIRECT,
                "code": params["code"],
                "state": "state-123",
                "scope": "authenticate",
            },
        )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert list(body) == ["access_token"]
    token = body["access_token"]
    assert set(token) == {"token", "type", "scopes", "user", "expires"}
    assert re.fullmatch(r"[0-9a-f]{64}", token["token"])
    assert token["type"] == "bearer"
    assert token["scopes"] == "authenticate"
    assert token["user"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "identifier": "user1@example.com",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", token["expires"])


def _documented_token(live_server: LiveServer) -> tuple[str, str, str]:
    client_id, secret, params = _enrolled(live_server)
    with live_server.http() as http:
        r = http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"client_id": client_id, "redirect_uri": REDIRECT, "code": params["code"]},
        )
    assert r.status_code == 201, r.text
    return client_id, secret, r.json()["access_token"]["token"]


def test_token_verification_checks_client_scope_and_device(live_server: LiveServer) -> None:
    client_id, _, token = _documented_token(live_server)
    bearer = {"Authorization": f"Bearer {token}"}
    with live_server.http() as http:
        ok = http.get(
            "/oauth/token", params={"client_id": client_id, "scope": "capture"}, headers=bearer
        )
        assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
        same_device = http.get(
            "/oauth/token",
            params={"client_id": client_id, "scope": "authenticate", "device_uid": "device-1"},
            headers=bearer,
        )
        assert same_device.status_code == 200
        for params in (
            {"client_id": client_id, "scope": "capture", "device_uid": "another-device"},
            {"client_id": "someone-else", "scope": "capture"},
            {"client_id": client_id, "scope": "payment"},
        ):
            r = http.get("/oauth/token", params=params, headers=bearer)
            assert r.status_code == 400
            assert r.json()["error"] == "invalid_token"
        wrong = http.get(
            "/oauth/token",
            params={"client_id": client_id, "scope": "capture"},
            headers={"Authorization": "Bearer " + "0" * 64},
        )
        assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_token")


def test_signature_image_is_the_documented_svg(live_server: LiveServer) -> None:
    client_id, secret, token = _documented_token(live_server)
    with live_server.http() as http:
        r = http.get(f"/oauth/signatures/{token}", auth=(client_id, secret))
        assert r.status_code == 200, r.text
        assert list(r.json()) == ["image_data"]
        svg = base64.b64decode(r.json()["image_data"]).decode("utf-8")
        check_svg_shape(svg)
        alias = http.get(
            "/oauth/signature", params={"access_token": token}, auth=(client_id, secret)
        )
        assert alias.status_code == 200
        assert alias.json() == r.json()


def test_signature_image_only_for_the_calling_client(live_server: LiveServer) -> None:
    _, _, token = _documented_token(live_server)
    other = live_server.create_client(["http://127.0.0.1:9/other"])
    assert other.client_secret
    with live_server.http() as http:
        r = http.get(
            f"/oauth/signatures/{token}", auth=(other.client.client_id, other.client_secret)
        )
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_token"
        # Said as for a token that does not exist: another client's token is not confirmed.
        unknown = http.get(
            f"/oauth/signatures/{'0' * 64}", auth=(other.client.client_id, other.client_secret)
        )
        assert r.json() == unknown.json()
        anonymous = http.get(f"/oauth/signatures/{token}")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"] == "invalid_client"
        assert anonymous.headers["www-authenticate"].startswith("Basic")


def test_signature_image_needs_the_capture_scope(live_server: LiveServer) -> None:
    new = live_server.create_client([REDIRECT], scopes="authenticate")
    assert new.client_secret
    with live_server.http() as http:
        done = enroll(
            http,
            authorize_url(new.client.client_id, REDIRECT, scope="authenticate"),
            "nocapture@example.com",
            _genuine(2, 1, 2, 3),
        )
        code = redirect_params(done)["code"]
        auth = (new.client.client_id, new.client_secret)
        token = http.post(
            "/oauth/token", auth=auth, data={"redirect_uri": REDIRECT, "code": code}
        ).json()["access_token"]["token"]
        r = http.get(f"/oauth/signatures/{token}", auth=auth)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


def test_known_user_genuine_accepted_forgeries_refused_until_locked(
    live_server: LiveServer,
) -> None:
    client_id, _, _ = _enrolled(live_server, user=1)
    url = authorize_url(client_id, REDIRECT)
    with live_server.http() as http:
        accepted = verify(http, url, "user1@example.com", svc2004_path(1, 11))
        assert not isinstance(accepted, Page), accepted.status
        assert "code" in redirect_params(accepted)

        refused_pages = []
        result = verify(http, url, "user1@example.com", svc2004_path(1, 21))
        for forgery in range(22, 30):
            if not isinstance(result, Page):
                break
            refused_pages.append(result)
            assert result.status_code == 303 or "did not match" in result.status
            result = follow(
                http,
                result,
                post(
                    http, result, "signature", {"capture": capture_json(svc2004_path(1, forgery))}
                ),
            )
        assert not isinstance(result, Page), "the user was never locked"
        params = redirect_params(result)
        assert params["error"] == "access_denied"
        assert params["state"] == "state-123"
        assert len(refused_pages) == 4  # five refusals lock the user (the fifth redirects)
        assert "Too many signatures were refused" in params["error_description"]
        assert " UTC" in params["error_description"]  # says until when

        # Locked: even the genuine writer is refused for a while, at the identifier step.
        page_or_redirect = verify(http, url, "user1@example.com", svc2004_path(1, 12))
        assert not isinstance(page_or_redirect, Page)
        assert redirect_params(page_or_redirect)["error"] == "access_denied"
        assert "Too many signatures" in redirect_params(page_or_redirect)["error_description"]


def test_the_mobile_number_is_a_field_the_user_sees_and_can_change(
    live_server: LiveServer,
) -> None:
    """user_params[mobile] pre-fills a visible field (SPEC 2.1): nothing is stored unseen."""
    new = live_server.create_client([REDIRECT])
    assert new.client_secret
    url = authorize_url(
        new.client.client_id, REDIRECT, **{"user_params[mobile]": "+32 470 12 34 56"}
    )
    with live_server.http() as http:
        page = open_page(http, url)
        first = follow(http, page, post(http, page, "identify", {"identifier": "mob@example.com"}))
        assert isinstance(first, Page)
        assert re.search(
            r'<input id="mobile" name="mobile" type="tel"[^>]*value="\+32 470 12', first.html
        )

        names = {"first_name": "Ada", "last_name": "Lovelace"}
        bad = follow(
            http,
            first,
            post(
                http,
                first,
                "signature",
                {"capture": capture_json(svc2004_path(3, 1)), "mobile": "call me", **names},
            ),
        )
        assert isinstance(bad, Page) and bad.status_code == 400
        assert "mobile number" in bad.status and "Signature 1 of 3" in bad.status
        # The refused form comes back as typed, to be corrected rather than retyped.
        assert 'id="first_name" name="first_name"' in bad.html and 'value="Ada"' in bad.html
        assert 'value="Lovelace"' in bad.html and 'value="call me"' in bad.html

        result: Page | httpx.Response = follow(
            http,
            bad,
            post(
                http,
                bad,
                "signature",
                {
                    "capture": capture_json(svc2004_path(3, 1)),
                    "mobile": "+33 6 12 34 56 78",
                    **names,
                },
            ),
        )
        for sample in (2, 3):
            assert isinstance(result, Page), "enrollment ended early"
            result = follow(
                http,
                result,
                post(http, result, "signature", {"capture": capture_json(svc2004_path(3, sample))}),
            )
        assert not isinstance(result, Page)
        code = redirect_params(result)["code"]
        token = http.post(
            "/oauth/token",
            auth=(new.client.client_id, new.client_secret),
            data={"redirect_uri": REDIRECT, "code": code},
        ).json()["access_token"]
    assert token["user"]["mobile"] == "+33 6 12 34 56 78"


def test_a_mistyped_address_can_be_corrected_after_continue(live_server: LiveServer) -> None:
    client_id, _, _ = _enrolled(live_server, user=2)
    url = authorize_url(client_id, REDIRECT)
    with live_server.http() as http:
        page = open_page(http, url)
        typo = follow(http, page, post(http, page, "identify", {"identifier": "usr2@example.com"}))
        assert isinstance(typo, Page) and "first visit" in typo.html
        assert "Not usr2@example.com? Use another e-mail address" in typo.html
        names = {"first_name": "Ada", "last_name": "Lovelace"}
        one = follow(
            http,
            typo,
            post(http, typo, "signature", {"capture": capture_json(svc2004_path(2, 1)), **names}),
        )
        assert isinstance(one, Page) and "Signature 2 of 3" in one.status

        back = follow(http, one, post(http, one, "restart", {}))
        assert isinstance(back, Page)
        assert 'name="identifier"' in back.html and 'value="usr2@example.com"' in back.html
        stale = http.post(f"{one.url}/restart", data={"nonce": one.nonce})  # used-up nonce
        refused = follow(http, one, stale)
        assert isinstance(refused, Page) and "out of date" in refused.status

        # The corrected address is the known user's: they are asked to sign, not to enroll.
        again = open_page(http, url)
        known = follow(
            http, again, post(http, again, "identify", {"identifier": "user2@example.com"})
        )
        assert isinstance(known, Page) and "Welcome back" in known.html
        done, _ = sign_in(http, url, "user2@example.com", _genuine(2, 11, 12, 13, 14))
        assert "code" in redirect_params(done)
    # The half-done enrollment of the mistyped address created no user.
    with live_server.http() as http:
        fresh = open_page(http, url)
        retry = follow(
            http, fresh, post(http, fresh, "identify", {"identifier": "usr2@example.com"})
        )
        assert (
            isinstance(retry, Page)
            and "first visit" in retry.html
            and "Signature 1 of 3" in retry.status
        )


def test_not_you_forgets_the_first_persons_details(live_server: LiveServer) -> None:
    new = live_server.create_client([REDIRECT])
    url = authorize_url(
        new.client.client_id,
        REDIRECT,
        **{
            "user_params[identifier]": "nina@example.com",
            "user_params[first_name]": "Nina",
            "user_params[mobile]": "+32 470 99 88 77",
        },
    )
    with live_server.http() as http:
        page = open_page(http, url)
        typo = follow(http, page, post(http, page, "identify", {"identifier": "not-an-email"}))
        assert isinstance(typo, Page) and "valid e-mail address" in typo.status
        assert 'value="not-an-email"' in typo.html  # to be corrected, not retyped
        # No dotted domain: refused here, as the payment rule CONSUMER_EMAIL_VALID would later.
        local = follow(http, typo, post(http, typo, "identify", {"identifier": "pay@localhost"}))
        assert isinstance(local, Page) and "valid e-mail address" in local.status
        typo = local
        nina = follow(http, typo, post(http, typo, "identify", {"identifier": "nina@example.com"}))
        assert isinstance(nina, Page) and 'value="Nina"' in nina.html
        back = follow(http, nina, post(http, nina, "restart", {}))
        assert isinstance(back, Page)
        other = follow(http, back, post(http, back, "identify", {"identifier": "max@example.com"}))
        assert isinstance(other, Page) and "first visit" in other.html
        assert "Nina" not in other.html and "99 88 77" not in other.html
