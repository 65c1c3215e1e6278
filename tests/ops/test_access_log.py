"""The access log of a real `authature serve` holds no bearer secret (docs/security.md).

SPEC 3.4 puts the access token in the path, the sign-in page's handle is a path segment, and
clients may send tokens or codes in a query; none of them may reach the log in clear.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from support.data import svc2004_path
from support.oauth_flow import new_identifier
from support.signin import authorize_url, enroll, redirect_params

from authature.web.access_log import redact_target
from ops.servers import cluster_env, create_client, running

REDIRECT = "http://127.0.0.1:9/callback"


def test_redact_target_keeps_what_is_not_secret() -> None:
    assert redact_target("/oauth/signatures/ab12") == "/oauth/signatures/[redacted]"
    assert redact_target("/signin/Xy_-9/identify") == "/signin/[redacted]/identify"
    assert (
        redact_target("/oauth/signature?access_token=ab12&x=1")
        == "/oauth/signature?access_token=[redacted]&x=1"
    )
    assert (
        redact_target("/demo/callback?code=c0de&state=s")
        == "/demo/callback?code=[redacted]&state=s"
    )
    assert (
        redact_target("/oauth/authorize?client_id=c&state=s")
        == "/oauth/authorize?client_id=c&state=s"
    )
    assert redact_target("/healthz") == "/healthz"
    # Personal data the client pre-fills is not the log's business either.
    assert redact_target(
        "/oauth/authorize?client_id=c&user_params%5Bidentifier%5D=nina%40example.com"
        "&user_params%5Bmobile%5D=%2B32+470"
    ) == (
        "/oauth/authorize?client_id=c&user_params[identifier]=[redacted]"
        "&user_params[mobile]=[redacted]"
    )


@pytest.mark.data
def test_the_served_access_log_holds_no_token_code_or_handle(
    tmp_path: Path, database_url: str
) -> None:
    env = cluster_env(tmp_path, database_url)
    client_id, secret = create_client(env)
    with running(env, tmp_path) as (server,), server.http() as http:
        url = authorize_url(client_id, REDIRECT)
        answer = enroll(http, url, new_identifier(), [svc2004_path(6, s) for s in (1, 2, 3)])
        assert answer.status_code == 302, answer.text
        code = redirect_params(answer)["code"]
        exchanged = http.post(
            "/oauth/token",
            auth=(client_id, secret),
            data={"client_id": client_id, "redirect_uri": REDIRECT, "code": code},
        )
        assert exchanged.status_code == 201, exchanged.text
        token = exchanged.json()["access_token"]["token"]
        assert http.get(f"/oauth/signatures/{token}", auth=(client_id, secret)).status_code == 200
        http.get("/oauth/signature", params={"access_token": token}, auth=(client_id, secret))
        http.get("/oauth/token", params={"access_token": token, "client_id": client_id})
        time.sleep(0.5)  # the access log is written after the response
        log = server.log()
    assert "/oauth/signatures/[redacted]" in log, log[-2000:]
    assert "access_token=[redacted]" in log
    assert re.search(r"/signin/\[redacted\]", log)
    assert token not in log and code not in log
    handles = re.findall(r"/signin/([A-Za-z0-9_-]{20,})", log)
    assert handles == [], handles
