"""The authorization pages' security headers, no CORS on the authorization endpoint, two tabs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from support.data import svc2004_path
from support.oauth_flow import REDIRECT, new_identifier, register, shared_server
from support.server import LiveServer
from support.signin import (
    Page,
    authorize_url,
    capture_json,
    follow,
    open_page,
    post,
    redirect_params,
)

pytestmark = pytest.mark.data

CLIENT_ORIGIN = "http://127.0.0.1:9"
_OWN_SOURCES = {"'self'", "'none'", "data:"}


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with shared_server(request, tmp_path_factory) as live:
        yield live


def _csp(response: httpx.Response) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def _assert_no_third_party(response: httpx.Response, allowed_origin: str | None) -> None:
    """Nothing from another site: every source is our own, except the client's origin where the
    browser needs it (framing by, and form posts back to, the client)."""
    policy = _csp(response)
    assert policy["default-src"] == ["'none'"]
    for name in ("script-src", "style-src", "connect-src", "img-src"):
        assert set(policy[name]) <= _OWN_SOURCES, (name, policy[name])
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]
    for name in ("frame-ancestors", "form-action"):
        assert set(policy[name]) <= _OWN_SOURCES | ({allowed_origin} if allowed_origin else set())
    # And the markup loads nothing from elsewhere either.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text)


def _page_response(http: httpx.Client, url: str) -> httpx.Response:
    start = http.get(url)
    assert start.status_code == 303, start.text
    return http.get(start.headers["location"])


def test_inline_page_may_be_framed_only_by_the_clients_origin(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        page = _page_response(http, authorize_url(client.client_id, REDIRECT, ux_style="inline"))
    assert page.status_code == 200
    assert _csp(page)["frame-ancestors"] == [CLIENT_ORIGIN]
    assert "x-frame-options" not in page.headers  # it cannot name an origin; CSP does
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    _assert_no_third_party(page, CLIENT_ORIGIN)


def test_popup_page_may_not_be_framed_at_all(server: LiveServer) -> None:
    client = register(server)
    with server.http() as http:
        page = _page_response(http, authorize_url(client.client_id, REDIRECT, ux_style="popup"))
    assert _csp(page)["frame-ancestors"] == ["'none'"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    _assert_no_third_party(page, CLIENT_ORIGIN)


def test_framing_follows_the_redirect_uri_of_the_request(server: LiveServer) -> None:
    """A client registered on two origins is framed only by the one this request returns to."""
    client = register(server, redirect_uris=["https://shop.example/cb", "https://other.example/cb"])
    with server.http() as http:
        page = _page_response(http, authorize_url(client.client_id, "https://shop.example/cb"))
    assert _csp(page)["frame-ancestors"] == ["https://shop.example"]


def test_error_page_may_not_be_framed(server: LiveServer) -> None:
    with server.http() as http:
        page = http.get(authorize_url("f" * 32, REDIRECT))
    assert page.status_code == 400
    assert page.headers["x-frame-options"] == "DENY"
    assert _csp(page)["frame-ancestors"] == ["'none'"]
    assert page.headers["referrer-policy"] == "no-referrer"
    _assert_no_third_party(page, None)


def test_no_cors_on_the_authorization_endpoint_or_the_pages(server: LiveServer) -> None:
    client = register(server)
    evil = {"Origin": "https://evil.example"}
    with server.http() as http:
        start = http.get(authorize_url(client.client_id, REDIRECT), headers=evil)
        page = http.get(start.headers["location"], headers=evil)
        preflight = http.options(
            "/oauth/authorize",
            headers={**evil, "Access-Control-Request-Method": "GET"},
        )
        token = http.post("/oauth/token", headers=evil, data={})
    assert preflight.status_code == 405
    for r in (start, page, preflight, token):
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers


def test_two_tabs_of_one_browser_sign_in_independently(server: LiveServer) -> None:
    """One cookie jar, two authorization requests interleaved step by step: both succeed."""
    shop = register(server)
    samples = {
        "a": [svc2004_path(3, s) for s in (1, 2, 3)],
        "b": [svc2004_path(4, s) for s in (1, 2, 3)],
    }
    with server.http() as browser:
        pages: dict[str, Page | httpx.Response] = {
            "a": open_page(browser, authorize_url(shop.client_id, REDIRECT, state="tab-a")),
            "b": open_page(browser, authorize_url(shop.client_id, REDIRECT, state="tab-b")),
        }
        for tab in ("a", "b"):
            page = pages[tab]
            assert isinstance(page, Page)
            pages[tab] = follow(
                browser, page, post(browser, page, "identify", {"identifier": new_identifier()})
            )
        for i in range(3):
            for tab in ("a", "b"):
                page = pages[tab]
                assert isinstance(page, Page), page
                data = {"capture": capture_json(samples[tab][i])}
                if i == 0:
                    data.update(first_name=f"Tab {tab}", last_name="User")
                pages[tab] = follow(browser, page, post(browser, page, "signature", data))
        results = {tab: pages[tab] for tab in ("a", "b")}
    codes = set()
    for tab, result in results.items():
        assert isinstance(result, httpx.Response), getattr(result, "status", result)
        params = redirect_params(result)
        assert params["state"] == f"tab-{tab}"
        codes.add(params["code"])
    assert len(codes) == 2
