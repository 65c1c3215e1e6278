"""The ASGI factory uvicorn loads in each worker process (settings read from the environment)."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from authature.config import Settings
from authature.web.access_log import lean_log_records
from authature.web.app import create_app


def app() -> Starlette:
    lean_log_records()  # this process only serves: see the function
    return create_app(Settings.from_env(), demo=os.environ.get("AUTHATURE_DEMO") == "1")
