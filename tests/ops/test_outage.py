"""A PostgreSQL outage: 503 temporarily_unavailable with Retry-After, then recovery by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import PostgresServer, start_postgres
from support.server import run_server, settings_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own: it is stopped in the middle of the test."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.destroy()


def test_postgres_going_away_is_503_and_coming_back_needs_no_restart(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    url = own_postgres.create_database()
    with run_server(settings_for(tmp_path, url)) as server, server.http() as http:
        bearer = {"Authorization": "Bearer " + "0" * 64}
        params = {"client_id": "x", "scope": "authenticate"}
        assert http.get("/oauth/token", params=params, headers=bearer).status_code == 400
        assert http.get("/healthz").status_code == 200

        own_postgres.stop()
        down = http.get("/oauth/token", params=params, headers=bearer)
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "temporarily_unavailable"
        assert down.headers["retry-after"].isdigit()
        assert "psycopg" not in down.text and "connection" not in down.text.lower()
        assert http.get("/healthz").status_code == 503
        posted = http.post("/oauth/token", auth=("x", "y"), data={"code": "c"})
        assert posted.status_code == 503, posted.text

        own_postgres.start()
        assert http.get("/healthz").status_code == 200
        back = http.get("/oauth/token", params=params, headers=bearer)
        assert (back.status_code, back.json()["error"]) == (400, "invalid_token")
        # The metrics count the outage's answers as what they were: 503, not 500.
        counted = http.get("/metrics").text
        for method in ("GET", "POST"):
            line = f'method="{method}",route="/oauth/token",status="503"'
            assert line in counted, counted[-3000:]
        assert 'status="500"' not in counted
