"""Clients that go away mid-request: not server errors (no traceback, no 500 counted)."""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import pytest
from support.server import LiveServer


def _send_and_hang_up(server: LiveServer, path: str, content_type: str, part: bytes) -> bytes:
    """Headers promising 1000 bytes, then `part` of them, then the write side shut down."""
    url = urlsplit(server.base_url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: {content_type}\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + part)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _counted_statuses(server: LiveServer, path: str) -> dict[str, float]:
    with server.http() as http:
        text = http.get("/metrics").text
    counted: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("authature_http_requests_total{") and f'route="{path}"' in line:
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counted[status] = counted.get(status, 0) + float(line.rsplit(" ", 1)[1])
    return counted


@pytest.mark.parametrize(
    ("content_type", "part"),
    [
        ("application/x-www-form-urlencoded", b"grant_type=authorization_code&co"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data; na"),
    ],
)
def test_a_client_hanging_up_mid_body_is_no_server_error(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture, content_type: str, part: bytes
) -> None:
    caplog.set_level(logging.INFO)
    _send_and_hang_up(live_server, "/oauth/token", content_type, part)
    deadline = time.monotonic() + 5
    while not (counted := _counted_statuses(live_server, "/oauth/token")):
        assert time.monotonic() < deadline, "the request was never counted"
        time.sleep(0.05)
    assert counted == {"400": 1}
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    quiet = [r.getMessage() for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(quiet) == 1


def test_python_multipart_writes_nothing_of_a_malformed_body(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"--xyz\r\nnot a part at all\r\n--xyz--\r\n"
    with live_server.http() as http:
        r = http.post(
            "/oauth/token",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert not [r for r in caplog.records if r.name.startswith(("python_multipart", "multipart"))]
