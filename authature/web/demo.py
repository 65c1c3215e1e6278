"""A demo "shop": a real OAuth client of this server, mounted at /demo/ by `authature demo`.

It does what a shop's back end does: sends the browser to /oauth/authorize, checks `state` on the
way back, exchanges the code over HTTP with its client secret (the documented 201 shape), verifies
the token and fetches the signature image. Its credentials live in the data folder.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authature.admin import ClientAdmin
from authature.config import Settings
from authature.security.keys import load_keys
from authature.store.db import create_database, upgrade
from authature.store.repositories import SqlUnitOfWork
from authature.web.pages import render_page

_STATE_COOKIE = "demo_state"


def _credentials_path(settings: Settings) -> Path:
    return settings.data_dir / "demo-client.json"


def ensure_demo_client(settings: Settings, base_url: str) -> dict[str, str]:
    """Create the demo client once (or again if its redirect URI no longer fits)."""
    redirect_uri = f"{base_url}/demo/callback"
    path = _credentials_path(settings)
    database = create_database(settings.database_url)
    upgrade(database)
    admin = ClientAdmin(SqlUnitOfWork(database), load_keys(settings))
    if path.exists():
        saved = json.loads(path.read_text())
        try:
            client = admin.get(saved["client_id"])
        except Exception:  # noqa: S110 - unknown client: make a new one below
            pass
        else:
            if not client.disabled and saved.get("client_secret"):
                if saved.get("redirect_uri") != redirect_uri:
                    # Started on another port: move the one demo client, don't add another.
                    admin.update(client.client_id, redirect_uris=[redirect_uri])
                    saved["redirect_uri"] = redirect_uri
                    path.write_text(json.dumps(saved))
                return dict(saved)
    new = admin.create(
        "Demo Shop",
        [redirect_uri],
        ["authenticate,capture"],
        "A demo shop that lets you sign in with your signature.",
    )
    saved = {
        "client_id": new.client.client_id,
        "client_secret": new.client_secret or "",
        "redirect_uri": redirect_uri,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved))
    path.chmod(0o600)
    return saved


def _saved(request: Request) -> dict[str, str]:
    settings: Settings = request.app.state.services.settings
    data: dict[str, str] = json.loads(_credentials_path(settings).read_text())
    return data


def home(request: Request) -> Response:
    saved = _saved(request)
    home_url = saved["redirect_uri"].removesuffix("callback")
    if not str(request.url).startswith(home_url):
        # The state cookie must be set on the origin the callback comes back to (for example
        # 127.0.0.1, when the browser opened localhost), or the sign-in ends in a mismatch.
        return RedirectResponse(home_url, status_code=307)
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "client_id": saved["client_id"],
            "redirect_uri": saved["redirect_uri"],
            "response_type": "code",
            "scope": "authenticate capture",
            "state": state,
            "device_uid": "demo-browser",
        }
    )
    response = render_page(
        request, "demo_home.html", {"authorize_url": f"/oauth/authorize?{query}"}
    )
    response.set_cookie(_STATE_COOKIE, state, httponly=True, samesite="lax", path="/demo")
    return response


def callback(request: Request) -> Response:
    saved = _saved(request)
    params = request.query_params
    context: dict[str, Any] = {"error": None}
    if params.get("state") != request.cookies.get(_STATE_COOKIE) or not params.get("state"):
        context["error"] = (
            "This sign-in is already finished, or was started in another browser (its state "
            "does not match this one's). Start again from the shop."
        )
    elif "error" in params:
        context["error"] = f"{params.get('error')}: {params.get('error_description', '')}"
    else:
        context.update(_finish(str(request.base_url).rstrip("/"), saved, params.get("code", "")))
    response = render_page(request, "demo_result.html", context)
    response.delete_cookie(_STATE_COOKIE, path="/demo")
    return response


def _finish(base: str, saved: dict[str, str], code: str) -> dict[str, Any]:
    auth = (saved["client_id"], saved["client_secret"])
    with httpx.Client(base_url=base, timeout=30) as http:
        exchange = http.post(
            "/oauth/token",
            auth=auth,
            data={
                "client_id": saved["client_id"],
                "redirect_uri": saved["redirect_uri"],
                "code": code,
                "scope": "authenticate capture",
            },
        )
        if exchange.status_code != 201:
            return {"error": f"Code exchange failed: {exchange.text}"}
        token = exchange.json()["access_token"]
        check = http.get(
            "/oauth/token",
            params={
                "client_id": saved["client_id"],
                "scope": "capture",
                "device_uid": "demo-browser",
            },
            headers={"Authorization": f"Bearer {token['token']}"},
        )
        image = http.get(f"/oauth/signatures/{token['token']}", auth=auth)
    svg_b64 = image.json().get("image_data", "") if image.status_code == 200 else ""
    shown = dict(token, token=token["token"][:8] + "…")
    return {
        "token_json": json.dumps({"access_token": shown}, indent=2, ensure_ascii=False),
        "user": token["user"],
        "verify_status": json.dumps(check.json()),
        "svg_data_uri": f"data:image/svg+xml;base64,{svg_b64}" if svg_b64 else None,
        "svg_bytes": len(base64.b64decode(svg_b64)) if svg_b64 else 0,
    }


routes = [
    Route("/", home),
    Route("/callback", callback),
]
