"""`authature demo` keeps one demo client, whatever port it is started on."""

from __future__ import annotations

from pathlib import Path

import pytest

from authature.admin import ClientAdmin
from authature.config import Settings
from authature.security.keys import load_keys
from authature.store.db import create_database
from authature.store.repositories import SqlUnitOfWork
from authature.web.demo import ensure_demo_client


def test_a_restart_on_another_port_moves_the_demo_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHATURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AUTHATURE_DATABASE_URL", raising=False)
    settings = Settings.from_env()
    first = ensure_demo_client(settings, "http://127.0.0.1:8000")
    again = ensure_demo_client(settings, "http://127.0.0.1:8000")
    moved = ensure_demo_client(settings, "http://127.0.0.1:8123")
    assert first == again
    assert moved["client_id"] == first["client_id"]
    assert moved["client_secret"] == first["client_secret"]
    assert moved["redirect_uri"] == "http://127.0.0.1:8123/demo/callback"
    database = create_database(settings.database_url)
    try:
        clients = ClientAdmin(SqlUnitOfWork(database), load_keys(settings)).list()
    finally:
        database.engine.dispose()
    assert [c.client_id for c in clients] == [first["client_id"]]
    assert list(clients[0].redirect_uris) == ["http://127.0.0.1:8123/demo/callback"]
