"""A real Authature server for tests: uvicorn in a background thread on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from authature.admin import ClientAdmin, NewClient
from authature.config import Settings
from authature.oauth.ports import Clock
from authature.web.app import create_app
from authature.web.services import Services


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(
    app: Any, host: str = "127.0.0.1", sock: socket.socket | None = None
) -> Iterator[int]:
    """Run an ASGI app with uvicorn in a background thread until the block ends; yields the port.

    Pass a bound `sock` when the app must know its own port before it starts.
    """
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", access_log=False, http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class LiveServer:
    base_url: str
    services: Services
    settings: Settings

    def set_client_scopes(self, client_id: str, scopes: str) -> None:
        """What `authature clients update ID --scopes ...` does."""
        ClientAdmin(self.services.uow, self.services.keys).update(client_id, scopes=[scopes])

    def create_client(
        self,
        redirect_uris: list[str] | None = None,
        scopes: str = "capture,authenticate",
        name: str = "Test Shop",
        public: bool = False,
    ) -> NewClient:
        admin = ClientAdmin(self.services.uow, self.services.keys)
        return admin.create(
            name,
            redirect_uris or ["http://127.0.0.1:9/callback"],
            [scopes],
            "A shop used by the tests.",
            public=public,
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60)


@contextmanager
def run_server(
    settings: Settings, *, demo: bool = False, clock: Clock | None = None
) -> Iterator[LiveServer]:
    """Authature itself on a free port; `clock` is injected for expiry tests (STYLE)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(settings, issuer=base, demo=demo, clock=clock)
    try:
        with serve_app(app, sock=sock):
            yield LiveServer(base, app.state.services, settings)
    finally:
        app.state.services.database.engine.dispose()


TEST_ENROLL_SAMPLES = 3


def settings_for(tmp_path: Path, database_url: str | None = None) -> Settings:
    """The settings of a test server; change others with `dataclasses.replace` (type-checked)."""
    data_dir = tmp_path / "data"
    base = Settings.from_env({"AUTHATURE_DATA_DIR": str(data_dir)})
    from dataclasses import replace

    return replace(
        base,
        database_url=database_url or f"sqlite:///{data_dir / 'authature.db'}",
        # Most tests enroll with three samples to stay quick; the server's default (five, the
        # evaluated protocol) is what the browser and demo tests, and test_signin_pages, run.
        enroll_samples=TEST_ENROLL_SAMPLES,
    )
