"""Fixtures shared by every test: a real server on a real database, and HTTP clients for it.

The database is SQLite by default; with AUTHATURE_TEST_DATABASE=postgres the same tests run
against a throwaway PostgreSQL server that the tests start themselves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import LiveServer, run_server, test_settings


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'authature.db'}"


@pytest.fixture
def live_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with run_server(test_settings(tmp_path, database_url)) as server:
        yield server


def pytest_report_header() -> str:
    return f"authature test database: {os.environ.get('AUTHATURE_TEST_DATABASE', 'sqlite')}"
