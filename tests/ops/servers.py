"""Real server processes for the operations tests: `authature serve` as a subprocess.

Unlike `support.server.run_server` (uvicorn in a thread of the test process), these are started
exactly as production starts them, so they share nothing with the test or with each other but
the database and the configuration. Each runs in its own process group, so `kill()` also takes
down uvicorn's worker processes.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from support.server import free_port

from authature.config import Settings
from authature.security.signing import load_signing_key


def cluster_env(folder: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The settings every process of one deployment shares: keys, database, signing key."""
    folder.mkdir(parents=True, exist_ok=True)
    load_signing_key(Settings.from_env({"AUTHATURE_DATA_DIR": str(folder / "shared")}))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AUTHATURE_", "PROMETHEUS_MULTIPROC_DIR"))
    }
    env.update(
        AUTHATURE_DATABASE_URL=database_url,
        AUTHATURE_SECRET_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUTHATURE_ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUTHATURE_SIGNING_KEY_FILE=str(folder / "shared" / "keys" / "signing.pem"),
        AUTHATURE_ISSUER="http://authature.test",  # one issuer, as behind a load balancer
        **extra,
    )
    return env


@dataclass
class ServerProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown code runs anywhere."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    env: dict[str, str], folder: Path, *, workers: int = 1, port: int | None = None
) -> ServerProcess:
    """`authature serve` on a free loopback port; returns once `/healthz` answers 200."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"server-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "authature.cli", "serve", "--host", "127.0.0.1"]
            + ["--port", str(port), "--workers", str(workers)],
            # Three enrollment samples, as settings_for gives the in-process servers.
            env={
                "AUTHATURE_DATA_DIR": str(folder / "data"),
                "AUTHATURE_ENROLL_SAMPLES": "3",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the server did not start in time:\n{server.log()}")
        time.sleep(0.1)


@contextmanager
def running(
    env: dict[str, str], folder: Path, count: int = 1, *, workers: int = 1
) -> Iterator[list[ServerProcess]]:
    """`count` server processes on one deployment's settings, stopped when the block ends."""
    with ExitStack() as stack:
        servers = []
        for i in range(count):
            server = start_server(env, folder / f"server{i}", workers=workers)
            stack.callback(server.stop)
            servers.append(server)
        yield servers


def create_client(
    env: dict[str, str], scopes: str = "capture,authenticate", redirect_uri: str | None = None
) -> tuple[str, str]:
    """Register a client in the deployment's database, as the operator CLI does."""
    from authature.admin import ClientAdmin
    from authature.security.keys import load_keys
    from authature.store.db import create_database, upgrade
    from authature.store.repositories import SqlUnitOfWork

    settings = Settings.from_env(env)
    database = create_database(settings.database_url)
    try:
        upgrade(database)
        admin = ClientAdmin(SqlUnitOfWork(database), load_keys(settings))
        new = admin.create(
            "Ops Shop", [redirect_uri or "http://127.0.0.1:9/callback"], [scopes], "", public=False
        )
    finally:
        database.engine.dispose()
    assert new.client_secret is not None
    return new.client.client_id, new.client_secret
