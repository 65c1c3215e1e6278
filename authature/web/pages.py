"""Rendering the HTML pages with the security headers every page gets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from authature.signin.flow import PageModel, SignInFlow, SignInPageGone
from authature.web.responses import origin_of, page_security_headers


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def render_page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    frame_origins: list[str] | None = None,
    form_targets: list[str] | None = None,
) -> Response:
    response = templates(request).TemplateResponse(request, name, context, status_code=status)
    response.headers.update(page_security_headers(frame_origins or [], form_targets or []))
    return response


def signin_page(flow: SignInFlow, handle: str) -> PageModel | None:
    """The page model with a fresh nonce (a database write), or None when the page is gone."""
    try:
        return flow.page(handle)
    except SignInPageGone:
        return None


def render_signin(
    request: Request, page: PageModel | None, status: int = 200, typed_iban: str = ""
) -> Response:
    if page is None:
        return render_page(
            request,
            "error.html",
            {
                "title": "This sign-in page has expired",
                "message": "Go back to the application you came from and start signing in again.",
            },
            status=404,
        )
    origin = origin_of(page.redirect_origin) if page.redirect_origin else None
    frame = [origin] if origin and page.ux_style == "inline" else []
    return render_page(
        request,
        "signin.html",
        {"page": page, "typed_iban": typed_iban if page.step == "bank" else ""},
        status=status,
        frame_origins=frame,
        form_targets=[origin] if origin else [],
    )
