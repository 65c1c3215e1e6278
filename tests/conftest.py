"""Fixtures shared by every test: a real server on a real database, and HTTP clients for it.

The database is SQLite by default; with AUTHATURE_TEST_DATABASE=postgres the same tests run
against a throwaway PostgreSQL server that the tests start themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import PostgresServer, start_postgres
from support.server import LiveServer, run_server, settings_for

from authature.store.db import Database, create_database, upgrade


def _uses_postgres() -> bool:
    return os.environ.get("AUTHATURE_TEST_DATABASE", "sqlite") == "postgres"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session (skips when PostgreSQL is missing)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database per test: SQLite, or PostgreSQL with AUTHATURE_TEST_DATABASE=postgres."""
    if _uses_postgres():
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'data' / 'authature.db'}"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The migrated store on `database_url`, its pool closed afterwards."""
    db = create_database(database_url)
    upgrade(db)
    try:
        yield db
    finally:
        db.engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with run_server(settings_for(tmp_path, database_url)) as server:
        yield server


def _needs_no_database(item: pytest.Item) -> bool:
    """The biometrics tests (numpy only) and the browser tests of the bare signing pad."""
    if "database_url" in getattr(item, "fixturenames", ()):
        return False
    path = Path(str(item.path))
    return "biometrics" in path.parts or item.get_closest_marker("browser") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests that touch no database: they would repeat as is.

    Everything else runs, including tests whose server picks its database at run time
    (`support.oauth_flow.shared_server`)."""
    if not _uses_postgres():
        return
    skip = [item for item in items if _needs_no_database(item)]
    if skip:
        config.hook.pytest_deselected(items=skip)
        items[:] = [item for item in items if not _needs_no_database(item)]


def pytest_report_header() -> str:
    return f"authature test database: {os.environ.get('AUTHATURE_TEST_DATABASE', 'sqlite')}"
