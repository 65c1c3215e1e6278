"""Driving the payment sign-in (bank step, mandate) and the payment endpoints over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from support.data import svc2004_path
from support.server import LiveServer
from support.signin import (
    Page,
    authorize_url,
    capture_json,
    follow,
    open_page,
    post,
    redirect_params,
)

REDIRECT = "http://127.0.0.1:9/callback"
IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_COMPACT = "DE89370400440532013000"
HOLDER = "Ada Lovelace"


def genuine(user: int, *samples: int) -> list[Path]:
    return [svc2004_path(user, s) for s in samples]


def to_bank_step(http: httpx.Client, url: str, identifier: str) -> Page:
    page = open_page(http, url)
    result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    assert isinstance(result, Page)
    assert 'data-testid="bank-form"' in result.html, result.status
    return result


def submit_bank(
    http: httpx.Client, page: Page, iban: str = IBAN, holder: str = HOLDER
) -> Page | httpx.Response:
    return follow(
        http, page, post(http, page, "bank", {"account": "new", "iban": iban, "holder": holder})
    )


def sign_enrollment(http: httpx.Client, page: Page, samples: list[Path]) -> httpx.Response:
    for i, sample in enumerate(samples):
        data = {"capture": capture_json(sample)}
        if i == 0:
            data.update(first_name="Ada", last_name="Lovelace")
        result = follow(http, page, post(http, page, "signature", data))
        if not isinstance(result, Page):
            return result
        page = result
    raise AssertionError(f"enrollment did not finish; the page says: {page.status}")


@dataclass
class Payer:
    client_id: str
    client_secret: str
    token: str
    device_uid: str
    body: dict[str, object]


def enroll_payer(
    server: LiveServer,
    *,
    scope: str = "preapproval authenticate",
    client_scopes: str = "preapproval,payment,authenticate",
    user: int = 1,
    identifier: str = "ada@example.com",
    device_uid: str = "device-1",
    client_id: str | None = None,
    client_secret: str | None = None,
    **extra: str,
) -> Payer:
    """A new user links an account, signs the mandate while enrolling; the code is exchanged."""
    if client_id is None:
        new = server.create_client([REDIRECT], scopes=client_scopes)
        client_id, client_secret = new.client.client_id, new.client_secret
    assert client_secret is not None
    with server.http() as http:
        url = authorize_url(client_id, REDIRECT, scope=scope, device_uid=device_uid, **extra)
        page = submit_bank(http, to_bank_step(http, url, identifier))
        assert isinstance(page, Page)
        done = sign_enrollment(http, page, genuine(user, 1, 2, 3))
        assert done.status_code == 302, done.text
        params = redirect_params(done)
        assert "code" in params, params
        r = http.post(
            "/oauth/token",
            auth=(client_id, client_secret),
            data={"client_id": client_id, "redirect_uri": REDIRECT, "code": params["code"]},
        )
    assert r.status_code == 201, r.text
    body = r.json()
    return Payer(client_id, client_secret, body["access_token"]["token"], device_uid, body)


def authorize(
    http: httpx.Client, payer: Payer, *, client_id: str | None = None, device_uid: str | None = None
) -> httpx.Response:
    return http.post(
        "/api/v2/payment/authorize",
        headers={"Authorization": f"Bearer {payer.token}"},
        data={
            "client_id": client_id or payer.client_id,
            "device_uid": device_uid or payer.device_uid,
        },
    )


def capture(
    http: httpx.Client,
    payer: Payer,
    authorization_id: str,
    amount: str = "1234",
    *,
    auth: tuple[str, str] | None = None,
    device_uid: str | None = None,
    ref_id: str = "order-1",
) -> httpx.Response:
    return http.post(
        f"/api/v2/payment/capture/{authorization_id}",
        auth=auth or (payer.client_id, payer.client_secret),
        data={
            "token": payer.token,
            "device_uid": device_uid or payer.device_uid,
            "authorization_id": authorization_id,
            "ref_id": ref_id,
            "amount": amount,
        },
    )
