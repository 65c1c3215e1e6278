"""Who may read /metrics: the bearer token when one is set, else only loopback clients."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from support.server import run_server, serve_app, settings_for

from authature.config import Settings
from authature.web.app import create_app

TOKEN = "metrics-reader-7f3a9c"


def _outside_address() -> str:
    """An address of this machine that is not loopback (the route to a documentation net)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address to reach the server on")
    return address


@contextmanager
def _served_on(address: str, settings: Settings) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, 0))
    base = f"http://{address}:{sock.getsockname()[1]}"
    app = create_app(settings, issuer=base)
    try:
        with serve_app(app, sock=sock):
            yield base
    finally:
        app.state.services.database.engine.dispose()


def test_without_a_token_metrics_answer_loopback_clients_only(
    tmp_path: Path, database_url: str
) -> None:
    address = _outside_address()
    settings = settings_for(tmp_path, database_url)
    with _served_on(address, settings) as base, httpx.Client(base_url=base, timeout=30) as outside:
        refused = outside.get("/metrics")
        health = outside.get("/healthz")
    assert refused.status_code == 403
    assert refused.json()["error"] == "access_denied"
    assert "AUTHATURE_METRICS_TOKEN" in refused.json()["error_description"]
    assert "authature_http_requests_total" not in refused.text
    assert health.status_code == 200  # /healthz stays public
    with run_server(settings_for(tmp_path, database_url)) as server, server.http() as local:
        assert local.get("/metrics").status_code == 200


def test_with_a_token_metrics_need_it_from_everywhere(tmp_path: Path, database_url: str) -> None:
    settings = replace(settings_for(tmp_path, database_url), metrics_token=TOKEN)
    with run_server(settings) as server, server.http() as http:
        missing = http.get("/metrics")
        wrong = http.get("/metrics", headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        basic = http.get("/metrics", auth=("metrics", TOKEN))
        right = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        health = http.get("/healthz")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    for refused in (wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        assert refused.json()["error"] == "invalid_token"
        assert "authature_http_requests_total" not in refused.text
    assert right.status_code == 200
    assert "authature_http_requests_total" in right.text
    assert health.status_code == 200
    address = _outside_address()
    with _served_on(address, settings) as base, httpx.Client(base_url=base, timeout=30) as far:
        assert far.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert far.get("/metrics").status_code == 401


def test_the_token_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"AUTHATURE_METRICS_TOKEN": TOKEN, "AUTHATURE_DATA_DIR": "/tmp"})
    assert settings.metrics_token == TOKEN
    assert Settings.from_env({"AUTHATURE_DATA_DIR": "/tmp"}).metrics_token is None
