"""Crash safety: SIGKILL the server in the middle of sign-ins and code exchanges, restart it.

Every answer the server gave before it died must hold after the restart (the tokens verify and
their signatures can be fetched), and no unit of work may be left half-written: each one is a
single database transaction, committed before the answer leaves.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from support.data import svc2004_path
from support.oauth_flow import new_identifier
from support.signin import authorize_url, enroll, redirect_params

from authature.store.db import create_database
from ops.servers import ServerProcess, cluster_env, create_client, start_server

REDIRECT = "http://127.0.0.1:9/callback"
THREADS = 6
pytestmark = pytest.mark.data

# Each query counts rows that a half-finished unit of work would leave behind.
HALF_WRITTEN = {
    "access token whose code is not marked used": """
        SELECT count(*) FROM access_tokens t
        LEFT JOIN authorization_codes c ON c.code_digest = t.code_digest
        WHERE t.code_digest IS NOT NULL AND (c.code_digest IS NULL OR c.used_at IS NULL)""",
    "user without the reference signatures of enrollment": """
        SELECT count(*) FROM users u WHERE (SELECT count(*) FROM signatures s
            WHERE s.user_pk = u.pk AND s.role = 'reference') < 3""",
    "signature row without its sealed data": """
        SELECT count(*) FROM signatures WHERE length(sealed) = 0""",
    "code pointing to a missing signature": """
        SELECT count(*) FROM authorization_codes c LEFT JOIN signatures s
        ON s.pk = c.signature_pk WHERE c.signature_pk IS NOT NULL AND s.pk IS NULL""",
    "auth request whose step lacks its data": """
        SELECT count(*) FROM auth_requests
        WHERE step NOT IN ('identify', 'enroll', 'verify')
           OR (step = 'verify' AND user_pk IS NULL)
           OR (step = 'enroll' AND pending_identifier IS NULL)""",
    "auth request still open after its code was issued": """
        SELECT count(*) FROM auth_requests r
        JOIN authorization_codes c ON c.state = r.state""",
    "accepted verification without a signed signature": """
        SELECT count(*) FROM verification_attempts a WHERE a.accepted AND NOT EXISTS (
            SELECT 1 FROM signatures s WHERE s.user_pk = a.user_pk AND s.role = 'signed')""",
}


class Load:
    """Threads that sign new users in and exchange their codes until the server dies."""

    def __init__(self, server: ServerProcess, client_id: str, secret: str) -> None:
        self.server = server
        self.client_id = client_id
        self.secret = secret
        self.tokens: list[str] = []
        self.lock = threading.Lock()
        self.states = itertools.count()
        self.killing = threading.Event()  # set just before the SIGKILL
        self.threads = [threading.Thread(target=self._run) for _ in range(THREADS)]

    def _one(self, http: httpx.Client) -> None:
        state = f"crash-{next(self.states)}"
        url = authorize_url(self.client_id, REDIRECT, state=state)
        writer = random.randint(1, 10)
        done = enroll(http, url, new_identifier(), [svc2004_path(writer, s) for s in (1, 2, 3)])
        code = redirect_params(done)["code"]
        r = http.post(
            "/oauth/token",
            auth=(self.client_id, self.secret),
            data={"client_id": self.client_id, "redirect_uri": REDIRECT, "code": code},
        )
        if r.status_code == 201:
            with self.lock:
                self.tokens.append(r.json()["access_token"]["token"])

    def _run(self) -> None:
        with httpx.Client(base_url=self.server.base_url, timeout=30) as http:
            while not self.killing.is_set():
                try:
                    self._one(http)
                except (httpx.HTTPError, AssertionError, KeyError):
                    if self.killing.is_set():
                        return  # the server died under us: expected
                    raise

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=60)


def test_sigkill_under_load_keeps_every_answer_and_leaves_no_half_written_row(
    tmp_path: Path, database_url: str
) -> None:
    env = cluster_env(tmp_path, database_url)
    client_id, secret = create_client(env, scopes="capture,authenticate")
    server = start_server(env, tmp_path / "first")
    load = Load(server, client_id, secret)
    try:
        load.start()
        deadline = time.monotonic() + 120
        while len(load.tokens) < 8:
            assert time.monotonic() < deadline, "the load did not get going"
            assert all(t.is_alive() for t in load.threads), server.log()
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 0.3))  # land the kill anywhere in a unit of work
    finally:
        load.killing.set()
        server.kill()
        load.join()
    answered = list(load.tokens)

    restarted = start_server(env, tmp_path / "second")
    try:
        with restarted.http() as http:
            for token in answered:
                checked = http.get(
                    "/oauth/token",
                    params={"client_id": client_id, "scope": "capture"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert checked.status_code == 200, checked.text
                image = http.get(f"/oauth/signatures/{token}", auth=(client_id, secret))
                assert image.status_code == 200, image.text
    finally:
        restarted.stop()

    database = create_database(database_url)
    try:
        with database.engine.connect() as conn:
            found = {
                what: conn.execute(text(sql)).scalar_one() for what, sql in HALF_WRITTEN.items()
            }
            issued = conn.execute(text("SELECT count(*) FROM access_tokens")).scalar_one()
    finally:
        database.engine.dispose()
    assert found == dict.fromkeys(HALF_WRITTEN, 0)
    assert issued >= len(answered)
