"""A throwaway PostgreSQL server for the tests, started and stopped by the test session.

`initdb` refuses to run as root, so when the tests run as root the cluster is created and run as
the `postgres` user (via `runuser`) in a temporary folder that user owns. The server listens on a
free port on 127.0.0.1 only, with its socket in that folder; the packaged cluster on 5432 is never
touched. `fsync` is off unless a test asks for a durable server (the crash tests do).

The binaries are looked up in `AUTHATURE_POSTGRES_BIN`, then `/usr/lib/postgresql/<version>/bin`,
then `PATH`. When they are missing the tests that need PostgreSQL skip and say why, unless
`AUTHATURE_REQUIRE_POSTGRES=1` (CI), which makes that a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from support.server import free_port

_SHARED_DATABASE = "authature_tests"

__all__ = ["PostgresServer", "find_binaries", "missing_postgres", "start_postgres"]


def find_binaries() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`, or None."""
    configured = os.environ.get("AUTHATURE_POSTGRES_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def missing_postgres(reason: str) -> None:
    """Skip the test, or fail it when AUTHATURE_REQUIRE_POSTGRES=1."""
    if os.environ.get("AUTHATURE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; AUTHATURE_REQUIRE_POSTGRES=1 makes this an error")
    pytest.skip(reason)


def _as_postgres_user() -> list[str]:
    """The command prefix that runs the server binaries as a user initdb accepts."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root needs runuser to start PostgreSQL as 'postgres'")
    return [runuser, "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    bin_dir: Path
    base_dir: Path
    port: int
    durable: bool = False
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _shared_database_ready: bool = False

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [*_as_postgres_user(), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:1])} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{log[-4000:]}"
            )

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )

    def start(self) -> None:
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-p {self.port}",
            f"-k {self.base_dir}",
            "-c max_connections=300",
            "-c timezone=Europe/Paris",  # not UTC, so time zone mistakes show up in the tests
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            " ".join(options),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def admin(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def create_database(self, prefix: str = "test") -> str:
        """A fresh, empty place for one test's tables; returns its SQLAlchemy URL.

        It is a schema of its own in one shared database (the URL sets `search_path`), which is
        created in milliseconds where `CREATE DATABASE` takes a second.
        """
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            if not self._shared_database_ready:
                conn.execute(f'CREATE DATABASE "{_SHARED_DATABASE}"')
                self._shared_database_ready = True
        with self.admin(_SHARED_DATABASE) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return self.url(_SHARED_DATABASE) + f"?options=-csearch_path%3D{name}"

    def drop_database(self, url: str) -> None:
        """Drop what `create_database` made; leaves it be if a stray connection still holds it."""
        name = url.rsplit("%3D", 1)[-1]
        with self.admin(_SHARED_DATABASE) as conn:
            conn.execute("SET lock_timeout = '5s'")
            # If a stray connection still holds it, leave it: the cluster goes at the session end.
            with contextlib.suppress(psycopg.errors.LockNotAvailable):
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')

    def destroy(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def start_postgres(*, durable: bool = False) -> PostgresServer:
    """Create and start a cluster; skips (or fails, in CI) when PostgreSQL is not installed.

    The caller owns the server and must call `destroy()` (stop and delete its folder).
    """
    bin_dir = find_binaries()
    if bin_dir is None:
        missing_postgres(
            "PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql "
            "or set AUTHATURE_POSTGRES_BIN"
        )
        raise AssertionError("unreachable")
    base_dir = Path(tempfile.mkdtemp(prefix="authature-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base_dir, "postgres", "postgres")
    server = PostgresServer(bin_dir, base_dir, free_port(), durable=durable)
    try:
        server.init()
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server
