"""authature.js in a real browser (SPEC 5.2): a client page on one origin runs the flow against
a fake Authature on another origin, inline (iframe overlay) and in a pop-up.

The fake authorize endpoint answers at once by client_id: ``shop`` redirects with a code,
``tampering`` with another state, ``denying`` with an error, ``waiting`` shows a page and waits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from browser_server import wait_until
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from support.server import serve_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "authature" / "web" / "static"

CLIENT_JS = """
window.results = [];
document.getElementById("start").addEventListener("click", function () {
  var d = document.body.dataset;
  window.client = new authature.Client({
    authature_site: d.site,
    client_id: d.clientId,
    response_type: "code",
    redirect_uri: location.origin + "/callback",
    state: d.state,
    device_uid: "device-42",
    scope: "authenticate",
    ux_style: d.uxStyle,
    user_params: { identifier: "ada@example.com", first_name: "Ada" },
    complete: function (result) { window.results.push(result); },
  });
  window.client.open();
});
"""


@dataclass
class Sites:
    client: str = ""
    authature: str = ""
    authorize_requests: list[dict[str, str]] = field(default_factory=list)


def _client_app(sites: Sites) -> Starlette:
    def csp(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'self' {sites.authature}; "
            f"frame-src 'self' {sites.authature}; style-src 'self'; base-uri 'none'"
        )
        return response

    async def home(request: Request) -> Response:
        q = request.query_params
        return csp(
            HTMLResponse(
                f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script src="{sites.authature}/authature.js" defer></script>
<script src="/client.js" defer></script></head>
<body data-site="{sites.authature}" data-client-id="{q.get("client_id", "shop")}"
      data-state="{q.get("state", "state-123")}" data-ux-style="{q.get("ux_style", "inline")}">
<h1>Shop</h1><button id="start" type="button">Sign in with Authature</button></body></html>"""
            )
        )

    async def client_js(request: Request) -> Response:
        return Response(CLIENT_JS, media_type="text/javascript")

    async def callback(request: Request) -> Response:
        return csp(
            HTMLResponse(
                f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Back</title>
<script src="{sites.authature}/authature.js" defer></script>
<script src="/callback.js" defer></script></head><body><p>Returning...</p></body></html>"""
            )
        )

    async def callback_js(request: Request) -> Response:
        return Response("authature.completeRedirect();\n", media_type="text/javascript")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/client.js", client_js),
            Route("/callback", callback),
            Route("/callback.js", callback_js),
        ]
    )


def _authature_app(sites: Sites) -> Starlette:
    async def authature_js(request: Request) -> Response:
        return FileResponse(STATIC / "authature.js", media_type="text/javascript")

    async def authorize(request: Request) -> Response:
        q = dict(request.query_params)
        sites.authorize_requests.append(q)
        client_id, state, redirect_uri = q["client_id"], q["state"], q["redirect_uri"]
        if client_id == "waiting":
            return HTMLResponse(
                """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign</title>
<script src="/static/signature-pad.js" defer></script></head>
<body><h1>Sign in</h1><button type="button" id="inside">A button inside</button></body></html>"""
            )
        answers = {
            "shop": {"code": "code-123", "state": state},
            "tampering": {"code": "code-123", "state": state + "-tampered"},
            "denying": {
                "error": "access_denied",
                "error_description": "The user refused the request",
                "state": state,
            },
        }
        return RedirectResponse(f"{redirect_uri}?{urlencode(answers[client_id])}", 302)

    return Starlette(
        routes=[
            Route("/authature.js", authature_js),
            Route("/oauth/authorize", authorize),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )


@pytest.fixture(scope="module")
def two_sites() -> Iterator[Sites]:
    sites = Sites()
    with serve_app(_client_app(sites)) as client_port, serve_app(_authature_app(sites)) as port:
        sites.client = f"http://127.0.0.1:{client_port}"
        sites.authature = f"http://127.0.0.1:{port}"  # another port: another origin
        yield sites


@pytest.fixture
def sites(two_sites: Sites) -> Sites:
    two_sites.authorize_requests.clear()
    return two_sites


def _open_shop(page: Page, sites: Sites, **query: str) -> None:
    page.goto(f"{sites.client}/?{urlencode(query)}")
    wait_until(page, "Boolean(window.authature && window.results)")


def _result(page: Page) -> dict[str, Any]:
    wait_until(page, "window.results.length > 0")
    page.wait_for_timeout(100)  # complete must be called once only
    results: list[dict[str, Any]] = page.evaluate("window.results")
    assert len(results) == 1
    return results[0]


def _overlays(page: Page) -> int:
    return page.locator("[data-authature-overlay]").count()


def test_inline_flow_completes_with_code_and_state(page: Page, sites: Sites) -> None:
    _open_shop(page, sites, ux_style="inline")
    page.get_by_role("button", name="Sign in with Authature").click()

    assert _result(page) == {"code": "code-123", "state": "state-123"}
    assert _overlays(page) == 0
    assert sites.authorize_requests == [
        {
            "client_id": "shop",
            "redirect_uri": f"{sites.client}/callback",
            "response_type": "code",
            "state": "state-123",
            "scope": "authenticate",
            "device_uid": "device-42",
            "ux_style": "inline",
            "user_params[identifier]": "ada@example.com",
            "user_params[first_name]": "Ada",
        }
    ]
    assert page.evaluate("document.documentElement.style.overflow") == ""


def test_popup_flow_completes_with_code_and_state(page: Page, sites: Sites) -> None:
    _open_shop(page, sites, ux_style="popup")
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Sign in with Authature").click()
    popup = popup_info.value

    assert _result(page) == {"code": "code-123", "state": "state-123"}
    deadline = time.monotonic() + 5
    while not popup.is_closed():
        assert time.monotonic() < deadline, "the pop-up was not closed"
        page.wait_for_timeout(20)
    assert _overlays(page) == 0
    assert sites.authorize_requests[0]["ux_style"] == "popup"


@pytest.mark.parametrize("ux_style", ["inline", "popup"])
def test_a_mismatched_state_is_reported_as_an_error(
    page: Page, sites: Sites, ux_style: str
) -> None:
    _open_shop(page, sites, client_id="tampering", ux_style=ux_style)
    page.get_by_role("button", name="Sign in with Authature").click()

    result = _result(page)
    assert result["error"] == "state_mismatch"
    assert "code" not in result
    assert result["state"] == "state-123-tampered"
    assert _overlays(page) == 0


def test_a_refusal_comes_back_as_the_error(page: Page, sites: Sites) -> None:
    _open_shop(page, sites, client_id="denying")
    page.get_by_role("button", name="Sign in with Authature").click()

    assert _result(page) == {
        "error": "access_denied",
        "error_description": "The user refused the request",
        "state": "state-123",
    }


@pytest.mark.parametrize("how", ["close-button", "escape", "escape-inside-the-frame"])
def test_closing_the_overlay_reports_access_denied(page: Page, sites: Sites, how: str) -> None:
    _open_shop(page, sites, client_id="waiting")
    page.get_by_role("button", name="Sign in with Authature").click()
    frame = page.frame_locator("[data-authature-frame]")
    frame.get_by_role("button", name="A button inside").wait_for()
    page.wait_for_load_state("load")  # the frame's scripts have run

    if how == "close-button":
        page.get_by_role("dialog", name="Sign in with Authature").get_by_role(
            "button", name="Close sign-in"
        ).click()
    elif how == "escape":
        page.get_by_role("button", name="Close sign-in").focus()
        page.keyboard.press("Escape")
    else:
        frame.get_by_role("button", name="A button inside").focus()
        page.keyboard.press("Escape")

    result = _result(page)
    assert result["error"] == "access_denied"
    assert result["state"] == "state-123"
    assert result["error_description"]
    assert _overlays(page) == 0
    # Focus goes back to the button that opened the overlay.
    assert page.evaluate("document.activeElement.id") == "start"


def test_tab_stays_inside_the_overlay_and_the_shop_behind_it_is_inert(
    page: Page, sites: Sites
) -> None:
    _open_shop(page, sites, client_id="waiting")
    page.get_by_role("button", name="Sign in with Authature").click()
    frame = page.frame_locator("[data-authature-frame]")
    frame.get_by_role("button", name="A button inside").wait_for()
    assert page.evaluate("document.getElementById('start').closest('[inert]') !== null")
    frame.get_by_role("button", name="A button inside").focus()
    seen = set()
    for _ in range(6):  # forwards and backwards: focus never reaches the shop's button
        page.keyboard.press("Tab")
        seen.add(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        seen.add(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert "start" not in seen and "BODY" not in seen, seen
    page.get_by_role("button", name="Close sign-in").click()
    assert _overlays(page) == 0
    assert page.evaluate("document.querySelector('[inert]') === null")


def test_a_message_from_another_origin_is_ignored(page: Page, sites: Sites) -> None:
    _open_shop(page, sites, client_id="waiting")
    page.get_by_role("button", name="Sign in with Authature").click()
    page.frame_locator("[data-authature-frame]").get_by_role("button").wait_for()
    authature_frame = next(f for f in page.frames if f.url.startswith(sites.authature))

    # The Authature origin (not the redirect URI's) and the page itself try to answer.
    authature_frame.evaluate(
        "parent.postMessage({authature: {code: 'forged', state: 'state-123'}}, '*')"
    )
    page.evaluate("postMessage({authature: {code: 'forged', state: 'state-123'}}, '*')")
    page.wait_for_timeout(200)
    assert page.evaluate("window.results") == []
    assert _overlays(page) == 1

    page.get_by_role("button", name="Close sign-in").click()
    assert _result(page)["error"] == "access_denied"


def test_closing_the_popup_reports_access_denied(page: Page, sites: Sites) -> None:
    _open_shop(page, sites, client_id="waiting", ux_style="popup")
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Sign in with Authature").click()
    popup_info.value.close()

    result = _result(page)
    assert result["error"] == "access_denied"
    assert result["state"] == "state-123"
