"""The sign-in pages: show the current step, take the identifier, a signature, or a refusal."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authature.oauth import errors
from authature.signin.flow import Outcome, SignInFlow
from authature.web.forms import read_form
from authature.web.pages import render_page, render_signin, signin_page
from authature.web.responses import NO_STORE, json_response
from authature.web.services import Services


def _flow(request: Request) -> SignInFlow:
    flow: SignInFlow = request.app.state.services.flow
    return flow


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _render(
    request: Request, handle: str, status: int = 200, typed_iban: str = ""
) -> Response:
    """Inline with SQLite, in a thread with PostgreSQL (`Services.call`), then rendered.

    ``typed_iban``: a refused IBAN goes back into its field in this one answer, so that a typo
    can be corrected; it is never stored (a bank account number is personal data).
    """
    page = await _services(request).call(signin_page, _flow(request), handle)
    return render_signin(request, page, status, typed_iban=typed_iban)


async def show(request: Request) -> Response:
    return await _render(request, request.path_params["handle"])


def _same_origin(request: Request) -> bool:
    """CSRF defence in depth beside the page nonce: a browser POST must come from our origin."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True  # old browsers and sandboxed frames omit it; the nonce still protects
    return origin == f"{request.url.scheme}://{request.url.netloc}"


async def _post(request: Request, step: str) -> Response:
    handle = request.path_params["handle"]
    if not _same_origin(request):
        raise errors.invalid_request("This form may only be sent from the Authature page.")
    form = await read_form(request)
    flow = _flow(request)
    services = _services(request)
    nonce = form.get("nonce", "")
    if step == "identify":
        outcome = await services.call(flow.identify, handle, nonce, form.get("identifier", ""))
    elif step == "restart":
        outcome = await services.call(flow.restart, handle, nonce)
    elif step == "deny":
        outcome = await services.call(flow.deny, handle, nonce)
    elif step == "bank":
        outcome = await services.call(
            flow.submit_bank,
            handle,
            nonce,
            form.get("account") == "on_file",
            form.get("iban", ""),
            form.get("holder", ""),
        )
    else:
        taken = await services.call(
            flow.take_signature,
            handle,
            nonce,
            form.get("capture", ""),
            form.get("first_name"),
            form.get("last_name"),
            form.get("mobile"),
        )
        if isinstance(taken, Outcome):
            outcome = taken
        else:
            # The verifier's CPU time always goes to a thread, whatever the database; the
            # transactions before and after it run as every other step's (`Services.call`).
            verification = await services.threaded(flow.verify_signature, taken)
            outcome = await services.call(flow.record_verification, verification)
    typed_iban = form.get("iban", "")[:_IBAN_FIELD_MAX] if step == "bank" else ""
    return await _answer(request, handle, outcome, typed_iban)


_IBAN_FIELD_MAX = 42  # the field's maxlength: 34 characters and their spaces


async def _answer(
    request: Request, handle: str, outcome: Outcome, typed_iban: str = ""
) -> Response:
    if outcome.native_json is not None:
        return json_response(outcome.native_json, outcome.status)
    if outcome.redirect_to is not None:
        # SPEC 3.1: the result goes to the client as a 302 (browsers follow it with a GET, as
        # after a 303); no-store, as the URL carries the code.
        return RedirectResponse(outcome.redirect_to, status_code=302, headers=NO_STORE)
    if outcome.status == 400:
        return await _render(request, handle, status=400, typed_iban=typed_iban)
    return RedirectResponse(f"/signin/{handle}", status_code=303)


async def identify(request: Request) -> Response:
    return await _post(request, "identify")


async def signature(request: Request) -> Response:
    return await _post(request, "signature")


async def restart(request: Request) -> Response:
    return await _post(request, "restart")


async def deny(request: Request) -> Response:
    return await _post(request, "deny")


async def bank(request: Request) -> Response:
    return await _post(request, "bank")


def back_to_page(request: Request) -> Response:
    """A browser GET on a form's address (reloaded after a POST, or the address bar): the page
    shows the current step, so go there (303) instead of answering 405."""
    return RedirectResponse(f"/signin/{request.path_params['handle']}", status_code=303)


def gone(request: Request) -> Response:
    return render_page(
        request,
        "error.html",
        {
            "title": "This sign-in page has expired",
            "message": "Go back to the application and start signing in again.",
        },
        status=404,
    )


routes = [
    Route("/signin/{handle}", show, methods=["GET"]),
    Route("/signin/{handle}/identify", identify, methods=["POST"]),
    Route("/signin/{handle}/signature", signature, methods=["POST"]),
    Route("/signin/{handle}/restart", restart, methods=["POST"]),
    Route("/signin/{handle}/deny", deny, methods=["POST"]),
    Route("/signin/{handle}/bank", bank, methods=["POST"]),
    *(
        Route(f"/signin/{{handle}}/{step}", back_to_page, methods=["GET"])
        for step in ("identify", "signature", "restart", "deny", "bank")
    ),
]
