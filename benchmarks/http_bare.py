"""The baseline of the HTTP benchmarks: a bare Starlette JSON endpoint and nothing else.

`benchmarks/http_bench.py` serves it with the same uvicorn settings and worker count as
`authature serve`, so each Authature figure is reported as a ratio to this one, measured in the
same run on the same machine.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _ok(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def app() -> Starlette:
    """The factory uvicorn loads in each worker (like `authature.web.asgi:app`)."""
    return Starlette(routes=[Route("/", _ok)])
