"""The payment endpoints of SPEC 3.5 and 3.6. Each reads the request, calls one payment service
method and renders; the rules, checks and storage are in `payments.service`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authature.web.forms import read_form
from authature.web.oauth_routes import bearer_token
from authature.web.responses import json_response
from authature.web.services import Services

__all__ = ["routes"]


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def authorize(request: Request) -> Response:
    """SPEC 3.5: bearer token with the preapproval scope; form client_id, device_uid."""
    bearer = bearer_token(request.headers.get("authorization"), request.query_params)
    form = await read_form(request)
    services = _services(request)
    authorization_id = await services.call(services.payments.authorize, bearer, form)
    return json_response({"authorization_id": authorization_id}, 201)


async def capture(request: Request) -> Response:
    """SPEC 3.6: client-authenticated (Basic or client_secret_post), like the token endpoint."""
    form = await read_form(request)
    services = _services(request)
    purchase_id = await services.call(
        services.payments.capture,
        request.headers.get("authorization"),
        form,
        request.path_params["authorization_id"],
    )
    return json_response({"purchase_id": purchase_id}, 201)


routes = [
    Route("/api/v2/payment/authorize", authorize, methods=["POST"]),
    Route("/api/v2/payment/capture/{authorization_id}", capture, methods=["POST"]),
]
