"""Client authentication (RFC 6749 2.3.1) and redirect URI matching (RFC 6749 3.1.2, RFC 8252 7.3
for public clients only)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from authature.oauth import errors
from authature.oauth.ports import ClientRecord, ClientStore

__all__ = [
    "ClientCredentials",
    "authenticate_client",
    "is_native_redirect",
    "matches_redirect_uri",
    "read_client_credentials",
    "validate_redirect_uri",
]

_LOOPBACK_HOSTS = {"127.0.0.1", "[::1]"}


@dataclass(frozen=True, repr=False)
class ClientCredentials:
    client_id: str
    client_secret: str | None
    method: str  # "client_secret_basic" | "client_secret_post" | "none"

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, method={self.method!r})"


def read_client_credentials(
    authorization: str | None, form: Mapping[str, str]
) -> ClientCredentials | None:
    """Credentials from the Basic header or the form; both at once is invalid_request.

    In the Basic header the id and secret are form-urlencoded before base64 (RFC 6749 2.3.1).
    """
    has_basic = bool(authorization) and authorization.split(" ", 1)[0].lower() == "basic"  # type: ignore[union-attr]
    has_post = "client_secret" in form
    if has_basic and has_post:
        raise errors.invalid_request("Use one client authentication method, not two.")
    if has_basic:
        assert authorization is not None
        try:
            decoded = base64.b64decode(authorization.split(" ", 1)[1].strip(), validate=True)
            raw_id, sep, raw_secret = decoded.decode("utf-8").partition(":")
        except (IndexError, binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise errors.invalid_client("The Basic authorization header is malformed.") from exc
        if not sep:
            raise errors.invalid_client("The Basic authorization header is malformed.")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        form_id = form.get("client_id")
        if form_id is not None and form_id != client_id:
            raise errors.invalid_request("client_id does not match the authenticated client.")
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if has_post:
        post_id = form.get("client_id")
        if not post_id:
            raise errors.invalid_request("client_id is required with client_secret.")
        return ClientCredentials(post_id, form["client_secret"], "client_secret_post")
    if form.get("client_id"):
        return ClientCredentials(form["client_id"], None, "none")
    return None


def authenticate_client(
    credentials: ClientCredentials | None,
    clients: ClientStore,
    matches_secret: object,
    *,
    allow_public: bool = True,
) -> ClientRecord:
    """The authenticated client, or invalid_client (401 + WWW-Authenticate for Basic).

    Every failure carries `WWW-Authenticate: Basic` (SPEC 4), whichever method the client used.
    `matches_secret(secret, digest) -> bool` compares in constant time. Unknown client ids take the
    same path as wrong secrets so their existence is not revealed.
    """
    assert callable(matches_secret)
    if credentials is None:
        raise errors.invalid_client("Client authentication is required.", basic=True)
    client = clients.by_client_id(credentials.client_id)
    if client is None:
        if credentials.client_secret is not None:
            matches_secret(credentials.client_secret, "0" * 64)  # same work as a real check
        raise errors.invalid_client(
            "Client authentication failed: check the client_id and client_secret (Basic header or form, not both).",
            basic=True,
        )
    if client.is_public:
        if credentials.client_secret is not None or not allow_public:
            raise errors.invalid_client(
                "Client authentication failed: check the client_id and client_secret (Basic header or form, not both).",
                basic=True,
            )
        if client.disabled:  # its authorize page already says so to anyone
            raise _disabled()
        return client
    if credentials.client_secret is None:
        raise errors.invalid_client("Client authentication is required.", basic=True)
    if not matches_secret(credentials.client_secret, client.secret_digest):
        raise errors.invalid_client(
            "Client authentication failed: check the client_id and client_secret (Basic header or form, not both).",
            basic=True,
        )
    if client.disabled:  # only now: who lacks the secret learns nothing about the client
        raise _disabled()
    return client


def _disabled() -> errors.OAuthError:
    return errors.invalid_client(
        "This client is disabled by the operator of this Authature server, so its credentials "
        "are refused and its tokens were revoked; contact the operator.",
        basic=True,
    )


def _loopback_parts(uri: str) -> tuple[str, str, str, str] | None:
    if not uri.startswith("http://"):  # exact: urlsplit would lowercase the scheme
        return None
    parts = urlsplit(uri)
    if parts.hostname is None:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if host not in _LOOPBACK_HOSTS:
        return None
    return parts.scheme, host, parts.path, parts.query


def matches_redirect_uri(requested: str, registered: str, *, any_loopback_port: bool) -> bool:
    """Exact string match (SPEC 3.1). With `any_loopback_port` (public, native clients only),
    loopback IP redirects match on any port: RFC 8252 7.3 lets a native app listen on whatever
    port the system gives it. A confidential web client knows its address, so it gets none."""
    if requested == registered:
        return True
    if not any_loopback_port:
        return False
    a, b = _loopback_parts(requested), _loopback_parts(registered)
    if a is None or b is None:
        return False
    try:
        port = urlsplit(requested).port  # raises on a malformed port
    except ValueError:
        return False
    if port == 0:  # "any port" to a socket API, never a port an app listens on
        return False
    return a == b and urlsplit(requested).fragment == "" and "@" not in requested


def validate_redirect_uri(client: ClientRecord, requested: str | None) -> str:
    if not requested:
        raise errors.invalid_request("redirect_uri is required.")
    for registered in client.redirect_uris:
        if matches_redirect_uri(requested, registered, any_loopback_port=client.is_public):
            return requested
    raise errors.invalid_request("redirect_uri is not registered for this client.")


def is_native_redirect(uri: str) -> bool:
    """A private-use scheme (RFC 8252 7.1): the result is answered as JSON (SPEC 3.1)."""
    return urlsplit(uri).scheme.lower() not in {"http", "https"}
