"""The HTTP API as an OpenAPI 3.1 document, written by hand and served at `/openapi.json`.

It describes what the server promises (SPEC 3 and 5.1): parameters, who authenticates, and the
shape of every answer. The fuzz tests (tests/ops/test_fuzz.py) hold the server to it: no 5xx, and
every answer of a documented status, content type and shape.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authature.web.responses import JSON_TYPE

__all__ = ["DOCUMENT", "openapi_json"]

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_HTML = "text/html"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_HTML: {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    }


_ERROR = _json(_ref("Error"), "An error (SPEC 4): invalid_request, invalid_client, ...")
_LIMITED = {
    **_json(_ref("Error"), "Too many requests: temporarily_unavailable, with Retry-After"),
    "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}}},
}
_JSON_ERRORS = {"4XX": _ERROR, "429": _LIMITED}
_PAGE_ERRORS = {"4XX": _html("An error page for the person in the browser")}


def _query(name: str, required: bool = False, description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


def _form(properties: dict[str, str], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {k: {"type": "string", "description": v} for k, v in properties.items()},
    }
    if required:
        schema["required"] = required
    return {"required": True, "content": {_FORM: {"schema": schema}}}


_TOKEN_FORM = _form(
    {
        "grant_type": "authorization_code or refresh_token; absent for the documented exchange",
        "code": "the authorization code",
        "redirect_uri": "the redirect URI of the authorization request",
        "client_id": "the client (client_secret_post, or a public client)",
        "client_secret": "client_secret_post",
        "code_verifier": "PKCE (RFC 7636)",
        "refresh_token": "for grant_type=refresh_token",
        "state": "the documented exchange's state",
        "scope": "narrower scopes than granted",
    }
)

_HANDLE = {"name": "handle", "in": "path", "required": True, "schema": {"type": "string"}}
_SIGNIN_ANSWERS = {
    "200": _json({"type": "object"}, "A native client's JSON answer (code and state, or error)"),
    "302": _redirect("The client's redirect URI with code or error (SPEC 3.1)"),
    "303": _redirect("The next page of the sign-in"),
    "400": _html("The page again, saying what to fix"),
    **_PAGE_ERRORS,
}

_AUTHORIZE_ANSWERS = {
    "303": _redirect("The sign-in page"),
    "302": _redirect("The client's redirect URI with an error"),
    "200": _json({"type": "object"}, "A native client's JSON error"),
    **_PAGE_ERRORS,
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Authature",
        "version": "1",
        "description": "OAuth 2.0 / OpenID Connect with handwritten signatures (SPEC 3, 5.1).",
    },
    "paths": {
        "/oauth/authorize": {
            "get": {
                "summary": "Start signing in (SPEC 3.1, RFC 6749 4.1.1)",
                "parameters": [
                    _query("client_id", True),
                    _query("redirect_uri", True),
                    _query("response_type", True, "code"),
                    _query("state", True),
                    _query("scope", True, "capture authenticate preapproval payment openid ..."),
                    _query("device_uid"),
                    _query("ref_id", False, "with payment: the order reference"),
                    _query("amount", False, "with payment: the amount in cents"),
                    _query("ux_style"),
                    _query("code_challenge"),
                    _query("code_challenge_method"),
                    _query("nonce"),
                    _query("login_hint", False, "suggests the e-mail address"),
                ],
                "responses": _AUTHORIZE_ANSWERS,
            },
            "post": {
                "summary": "Start signing in with a form body (OpenID Connect Core 3.1.2.1)",
                "requestBody": _form(
                    dict.fromkeys(
                        (
                            "client_id",
                            "redirect_uri",
                            "response_type",
                            "state",
                            "scope",
                            "device_uid",
                            "ref_id",
                            "amount",
                            "ux_style",
                            "code_challenge",
                            "code_challenge_method",
                            "nonce",
                            "login_hint",
                        ),
                        "as for GET",
                    )
                ),
                "responses": _AUTHORIZE_ANSWERS,
            },
        },
        "/oauth/token": {
            "post": {
                "summary": "Exchange a code or refresh token (SPEC 3.2, RFC 6749 4.1.3, 6)",
                "security": [{"client": []}, {}],
                "requestBody": _TOKEN_FORM,
                "responses": {
                    "201": _json(_ref("DocumentedToken"), "The documented exchange"),
                    "200": _json(_ref("StandardToken"), "The RFC 6749 exchange"),
                    **_JSON_ERRORS,
                },
            },
            "get": {
                "summary": "Verify a token (SPEC 3.3)",
                "security": [{"bearer": []}],
                "parameters": [_query("client_id", True), _query("scope"), _query("device_uid")],
                "responses": {
                    "200": _json(_ref("Ok"), "The token is live for this client and scope"),
                    **_JSON_ERRORS,
                },
            },
        },
        "/oauth/signatures/{token}": {
            "get": {
                "summary": "The signature behind a token, as SVG (SPEC 3.4)",
                "security": [{"client": []}],
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": _json(_ref("Image"), "The SVG, base64"), **_JSON_ERRORS},
            }
        },
        "/oauth/signature": {
            "get": {
                "summary": "The signature behind a token (token as a parameter)",
                "security": [{"client": []}],
                "parameters": [_query("access_token", True)],
                "responses": {"200": _json(_ref("Image"), "The SVG, base64"), **_JSON_ERRORS},
            }
        },
        "/oauth/revoke": {
            "post": {
                "summary": "Revoke a token (RFC 7009)",
                "security": [{"client": []}, {}],
                "requestBody": _form(
                    {"token": "the token", "token_type_hint": "access_token or refresh_token"}
                ),
                "responses": {"200": _json({"type": "object"}, "Done"), **_JSON_ERRORS},
            }
        },
        "/oauth/introspect": {
            "post": {
                "summary": "Introspect a token (RFC 7662)",
                "security": [{"client": []}, {}],
                "requestBody": _form(
                    {"token": "the token", "token_type_hint": "access_token or refresh_token"}
                ),
                "responses": {"200": _json(_ref("Introspection"), "Active or not"), **_JSON_ERRORS},
            }
        },
        "/oauth/userinfo": {
            "get": {
                "summary": "OpenID Connect userinfo",
                "security": [{"bearer": []}],
                "responses": {"200": _json({"type": "object"}, "The claims"), **_JSON_ERRORS},
            }
        },
        "/signin/{handle}": {
            "get": {
                "summary": "The sign-in page",
                "parameters": [_HANDLE],
                "responses": {"200": _html("The page"), **_PAGE_ERRORS},
            }
        },
        "/signin/{handle}/identify": {
            "post": {
                "summary": "Say who is signing",
                "parameters": [_HANDLE],
                "requestBody": _form({"nonce": "the page's nonce", "identifier": "e-mail"}),
                "responses": _SIGNIN_ANSWERS,
            }
        },
        "/signin/{handle}/signature": {
            "post": {
                "summary": "Post a drawn signature (format: biometrics/capture.py)",
                "parameters": [_HANDLE],
                "requestBody": _form(
                    {
                        "nonce": "the page's nonce",
                        "capture": "the strokes as JSON",
                        "first_name": "at enrollment",
                        "last_name": "at enrollment",
                        "mobile": "at enrollment, optional",
                    }
                ),
                "responses": {**_SIGNIN_ANSWERS, "429": _html("Too many signatures; wait")},
            }
        },
        "/signin/{handle}/restart": {
            "post": {
                "summary": "Back to the e-mail step (not you? a typo?)",
                "parameters": [_HANDLE],
                "requestBody": _form({"nonce": "the page's nonce"}),
                "responses": _SIGNIN_ANSWERS,
            }
        },
        "/signin/{handle}/bank": {
            "post": {
                "summary": "The bank account step (preapproval, payment; SPEC 2 step 4)",
                "parameters": [_HANDLE],
                "requestBody": _form(
                    {
                        "nonce": "the page's nonce",
                        "account": "on_file (the account on file) or new",
                        "iban": "a new account's IBAN",
                        "holder": "a new account's holder",
                    }
                ),
                "responses": _SIGNIN_ANSWERS,
            }
        },
        "/api/v2/payment/authorize": {
            "post": {
                "summary": "Pre-authorize a payment (SPEC 3.5; preapproval scope)",
                "security": [{"bearer": []}],
                "requestBody": _form(
                    {"client_id": "the client", "device_uid": "the user's device"},
                    ["client_id", "device_uid"],
                ),
                "responses": {
                    "201": _json(_ref("Authorization"), "Pre-authorized"),
                    **_JSON_ERRORS,
                },
            }
        },
        "/api/v2/payment/capture/{authorization_id}": {
            "post": {
                "summary": "Capture a pre-authorized payment (SPEC 3.6)",
                "security": [{"client": []}, {}],
                "parameters": [
                    {
                        "name": "authorization_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": _form(
                    {
                        "token": "the access token (preapproval scope)",
                        "device_uid": "the user's device",
                        "authorization_id": "the same id as in the path",
                        "ref_id": "your order id",
                        "amount": "integer cents",
                        "client_id": "client_secret_post",
                        "client_secret": "client_secret_post",
                    },
                    ["token", "device_uid", "authorization_id", "ref_id", "amount"],
                ),
                "responses": {"201": _json(_ref("Purchase"), "Captured"), **_JSON_ERRORS},
            }
        },
        "/signin/{handle}/deny": {
            "post": {
                "summary": "Refuse the request",
                "parameters": [_HANDLE],
                "requestBody": _form({"nonce": "the page's nonce"}),
                "responses": _SIGNIN_ANSWERS,
            }
        },
        "/.well-known/oauth-authorization-server": {
            "get": {
                "summary": "Server metadata (RFC 8414)",
                "responses": {"200": _json({"type": "object"}, "The metadata")},
            }
        },
        "/.well-known/openid-configuration": {
            "get": {
                "summary": "OpenID Connect discovery",
                "responses": {"200": _json({"type": "object"}, "The metadata"), **_JSON_ERRORS},
            }
        },
        "/.well-known/jwks.json": {
            "get": {
                "summary": "The id_token signing keys",
                "responses": {"200": _json({"type": "object"}, "A JWK set")},
            }
        },
        "/healthz": {
            "get": {
                "summary": "Is the database reachable",
                "responses": {
                    "200": _json(_ref("Health"), "Yes"),
                    "503": _json(_ref("Health"), "No"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "description": "With AUTHATURE_METRICS_TOKEN set: Authorization: Bearer <token>; "
                "without it, loopback clients only.",
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "401": {
                        **_json(
                            _ref("Error"), "invalid_token: the metrics token is missing or wrong"
                        ),
                        "headers": {
                            "WWW-Authenticate": {"required": True, "schema": {"type": "string"}}
                        },
                    },
                    "403": _json(
                        _ref("Error"), "access_denied: not a loopback client, no token set"
                    ),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "client": {"type": "http", "scheme": "basic"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "error_description"],
                "properties": {
                    "error": {
                        "type": "string",
                        "pattern": "^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]+$",
                    },
                    "error_description": {"type": "string"},
                },
            },
            "Ok": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"const": "ok"}},
            },
            "User": {
                "type": "object",
                "required": ["first_name", "last_name", "identifier"],
                "properties": {
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string"},
                    "identifier": {"type": "string"},
                },
            },
            "DocumentedToken": {
                "type": "object",
                "required": ["access_token"],
                "properties": {
                    "access_token": {
                        "type": "object",
                        "required": ["token", "type", "scopes", "user", "expires"],
                        "properties": {
                            "token": {"type": "string"},
                            "type": {"const": "bearer"},
                            "scopes": {"type": "string"},
                            "user": _ref("User"),
                            "expires": {"type": "string"},
                        },
                    },
                    "payment": _ref("Checkout"),
                },
            },
            "StandardToken": {
                "type": "object",
                "required": ["access_token", "token_type", "expires_in"],
                "properties": {
                    "access_token": {"type": "string"},
                    "token_type": {"type": "string"},
                    "expires_in": {"type": "integer"},
                    "refresh_token": {"type": "string"},
                    "scope": {"type": "string"},
                    "id_token": {"type": "string"},
                    "user": _ref("User"),
                    "payment": _ref("Checkout"),
                },
            },
            "Authorization": {
                "type": "object",
                "required": ["authorization_id"],
                "properties": {"authorization_id": {"type": "string", "pattern": "^[0-9a-f]{24}$"}},
            },
            "Purchase": {
                "type": "object",
                "required": ["purchase_id"],
                "properties": {"purchase_id": {"type": "string", "pattern": "^[0-9a-f]{24}$"}},
            },
            "Checkout": {
                "type": "object",
                "description": "The one-off payment taken when the user signed (payment scope)",
                "required": ["authorization_id", "purchase_id", "ref_id", "amount"],
                "properties": {
                    "authorization_id": {"type": "string"},
                    "purchase_id": {"type": "string"},
                    "ref_id": {"type": "string"},
                    "amount": {"type": "integer"},
                },
            },
            "Image": {
                "type": "object",
                "required": ["image_data"],
                "properties": {"image_data": {"type": "string", "contentEncoding": "base64"}},
            },
            "Introspection": {
                "type": "object",
                "required": ["active"],
                "properties": {"active": {"type": "boolean"}},
            },
            "Health": {
                "type": "object",
                "required": ["status", "database"],
                "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
            },
        },
    },
}

_BODY = json.dumps(DOCUMENT, separators=(",", ":")).encode("utf-8")


def openapi_json(request: Request) -> Response:
    return Response(_BODY, media_type=JSON_TYPE, headers={"Cache-Control": "public, max-age=300"})
