"""Two `authature serve` processes on one database, as behind a load balancer (SPEC 8).

Nothing may live only in one process: a user signs in on one process, and the client exchanges
the code and fetches the signature on the other; a sign-in page shown by one process takes the
signature POST on the other. In the PostgreSQL run both processes share the throwaway server.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from support.data import svc2004_path
from support.oauth_flow import new_identifier
from support.signin import (
    Page,
    authorize_url,
    capture_json,
    enroll,
    follow,
    open_page,
    post,
    redirect_params,
)

from ops.servers import cluster_env, create_client, running

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.data


def _code(answer: httpx.Response) -> str:
    assert answer.status_code == 302, answer.text
    return redirect_params(answer)["code"]


def test_sign_in_on_one_process_exchange_and_fetch_on_the_other(
    tmp_path: Path, database_url: str
) -> None:
    env = cluster_env(tmp_path, database_url)
    client_id, secret = create_client(env)
    identifier = new_identifier()
    with running(env, tmp_path, count=2) as (a, b), a.http() as on_a, b.http() as on_b:
        url = authorize_url(client_id, REDIRECT, device_uid="phone-1")
        samples = [svc2004_path(4, s) for s in (1, 2, 3)]
        code = _code(enroll(on_a, url, identifier, samples))

        exchanged = on_b.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"client_id": client_id, "redirect_uri": REDIRECT, "code": code},
        )
        assert exchanged.status_code == 201, exchanged.text
        token = exchanged.json()["access_token"]["token"]
        assert exchanged.json()["access_token"]["user"]["identifier"] == identifier

        image = on_b.get(f"/oauth/signatures/{token}", auth=(client_id, secret))
        assert image.status_code == 200, image.text
        assert base64.b64decode(image.json()["image_data"]).startswith(b"<?xml")

        for http in (on_a, on_b):  # the token verifies on both
            checked = http.get(
                "/oauth/token",
                params={"client_id": client_id, "scope": "capture", "device_uid": "phone-1"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert (checked.status_code, checked.json()) == (200, {"status": "ok"})

        replayed = on_a.post(  # the code was used on B: A knows
            "/oauth/token",
            auth=(client_id, secret),
            data={"client_id": client_id, "redirect_uri": REDIRECT, "code": code},
        )
        assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")


def test_each_sign_in_step_may_go_to_a_different_process(tmp_path: Path, database_url: str) -> None:
    env = cluster_env(tmp_path, database_url)
    client_id, secret = create_client(env)
    identifier = new_identifier()
    with running(env, tmp_path, count=2) as (a, b), a.http() as on_a, b.http() as on_b:
        url = authorize_url(client_id, REDIRECT)
        enroll(on_b, url, identifier, [svc2004_path(4, s) for s in (1, 2, 3)])

        page = open_page(on_a, url)  # A shows the page
        step = follow(on_b, page, post(on_b, page, "identify", {"identifier": identifier}))
        assert isinstance(step, Page), "B takes the identifier"
        step = Page(step.url, on_a.get(step.url).text, 200)  # A shows the signing step
        done = post(on_b, step, "signature", {"capture": capture_json(svc2004_path(4, 4))})
        code = _code(done)  # B verifies the signature A's page drew

        exchanged = on_a.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"client_id": client_id, "redirect_uri": REDIRECT, "code": code},
        )
        assert exchanged.status_code == 201, exchanged.text
