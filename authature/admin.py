"""Operator services: manage clients and users. The CLI is a thin shell around these."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from authature.oauth.clients import matches_redirect_uri
from authature.oauth.ports import ClientRecord, UserRecord
from authature.oauth.scopes import KNOWN_SCOPES, SUPPORTED_SCOPES
from authature.plaintext import canonical_email, text_problem
from authature.security.keys import Keys
from authature.store.repositories import SqlUnitOfWork

__all__ = ["AdminError", "ClientAdmin", "NewClient", "read_logo"]

_LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_LOGO_MAX_BYTES = 200_000
# Schemes a browser would run or read locally instead of handing to an application.
# Schemes a browser runs or hands to something that is not the client application.
_FORBIDDEN_SCHEMES = {
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "ftp",
    "mailto",
    "tel",
    "sms",
    "ws",
    "wss",
}


class AdminError(ValueError):
    """An operator command was given something it cannot do; the message says what to fix."""


@dataclass(frozen=True, repr=False)
class NewClient:
    client: ClientRecord
    client_secret: str | None

    def __repr__(self) -> str:
        return f"NewClient(client_id={self.client.client_id!r})"


def read_logo(path: Path) -> str:
    mime = _LOGO_TYPES.get(path.suffix.lower())
    if mime is None:
        raise AdminError(f"The logo must be one of {', '.join(sorted(_LOGO_TYPES))}.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdminError(f"Cannot read the logo file: {exc.strerror}.") from exc
    if len(data) > _LOGO_MAX_BYTES:
        raise AdminError(f"The logo is larger than {_LOGO_MAX_BYTES // 1000} kB.")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _check_redirect_uris(uris: Sequence[str]) -> list[str]:
    from urllib.parse import urlsplit

    if not uris:
        raise AdminError("Give at least one --redirect-uri.")
    for uri in uris:
        if uri != uri.strip() or any(c.isspace() or ord(c) < 0x20 for c in uri):
            # A stored " https://..." can never equal what a browser sends (exact match).
            raise AdminError(f"{uri!r} contains white space; give the redirect URI exactly.")
        parts = urlsplit(uri)
        if (
            not parts.scheme
            or parts.fragment
            or (parts.scheme in {"http", "https"} and not parts.netloc)
        ):
            raise AdminError(f"{uri!r} is not an absolute redirect URI without a fragment.")
        if parts.scheme.lower() in _FORBIDDEN_SCHEMES:
            raise AdminError(f"{uri!r}: the {parts.scheme} scheme cannot be a redirect URI.")
        if parts.scheme in {"http", "https"} and "@" in parts.netloc:
            raise AdminError(f"{uri!r}: a redirect URI cannot carry a user name or password.")
        if parts.scheme in {"http", "https"}:
            _check_redirect_host(uri, parts.netloc)
            try:
                port = parts.port
            except ValueError:
                port = -1
            if port is not None and not 0 < port < 65536:
                raise AdminError(f"{uri!r}: the port must be a number from 1 to 65535.")
        if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "::1", "localhost"}:
            raise AdminError(f"{uri!r}: plain http is allowed only for loopback addresses.")
    return list(dict.fromkeys(uris))


def _check_redirect_host(uri: str, netloc: str) -> None:
    """The host of an http(s) redirect URI as it will be compared: exactly (SPEC 3.1), so a
    pattern or a form that clients never send would be stored and never match."""
    import idna

    host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    if "*" in host:
        raise AdminError(
            f"{uri!r}: wildcards are not supported (redirect URIs match exactly); register "
            "each redirect URI."
        )
    if host.isascii():
        name = host.lower()
        if name.startswith("[") or name.replace(".", "").isdigit() or name == "localhost":
            return  # an IP literal or localhost
        try:
            idna.decode(name)  # valid labels: letters, digits, inner hyphens; valid A-labels
        except idna.IDNAError as exc:
            raise AdminError(f"{uri!r}: {host!r} is not a valid host name ({exc}).") from exc
        return
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise AdminError(f"{uri!r}: {host!r} is not a valid host name ({exc}).") from exc
    ascii_uri = uri.replace(host, ascii_host, 1)
    # Not stored as typed: the redirect's Location header must be ASCII (RFC 3986), and the
    # client must then send this same form, so the operator should see and register it.
    raise AdminError(
        f"{uri!r}: register the host in its ASCII (IDNA) form, and have the client send that "
        f"form too: {ascii_uri!r}."
    )


_NAME_MAX = 200  # the column's size
_DESCRIPTION_MAX = 1000  # shown on the sign-in page under the name


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise AdminError("The client needs a --name that is not blank.")
    problem = text_problem(cleaned, "--name", _NAME_MAX)
    if problem is not None:
        raise AdminError(problem)
    return cleaned


def _check_description(description: str) -> str:
    cleaned = description.strip()
    problem = text_problem(cleaned, "--description", _DESCRIPTION_MAX)
    if problem is not None:
        raise AdminError(problem)
    return cleaned


# Scopes whose use needs client authentication (SPEC 3.4, 3.6), which a public client cannot
# do: granting them to one would give tokens nothing could use. `payment` is not here: its
# checkout is taken when the user signs and comes back with the token exchange, which a public
# client makes with PKCE.
_NEEDS_SECRET = {
    "capture": "fetching the signature image (SPEC 3.4)",
    "preapproval": "capturing a pre-approved payment (SPEC 3.6)",
}


def _check_scopes(scopes: Sequence[str], *, public: bool) -> list[str]:
    cleaned = [s.strip() for part in scopes for s in part.replace(" ", ",").split(",") if s.strip()]
    unknown = [s for s in cleaned if s not in KNOWN_SCOPES]
    if unknown or not cleaned:
        raise AdminError(f"Scopes must be among {', '.join(SUPPORTED_SCOPES)}.")
    needs_secret = [s for s in dict.fromkeys(cleaned) if s in _NEEDS_SECRET]
    if public and needs_secret:
        raise AdminError(
            f"A public client cannot have the {' and '.join(needs_secret)} "
            f"scope{'s' if len(needs_secret) > 1 else ''}, because "
            f"{' and '.join(_NEEDS_SECRET[s] for s in needs_secret)} "
            f"need{'' if len(needs_secret) > 1 else 's'} the client secret that a public client "
            "does not have."
        )
    return list(dict.fromkeys(cleaned))


@dataclass(frozen=True)
class Ended:
    """What `clients disable` revoked or deleted."""

    tokens: int
    codes: int
    signins: int
    payment_authorizations: int


class ClientAdmin:
    def __init__(self, uow: SqlUnitOfWork, keys: Keys) -> None:
        self.uow = uow
        self.keys = keys

    def create(
        self,
        name: str,
        redirect_uris: Sequence[str],
        scopes: Sequence[str],
        description: str = "",
        logo_data_uri: str | None = None,
        public: bool = False,
    ) -> NewClient:
        name = _check_name(name)
        description = _check_description(description)
        uris = _check_redirect_uris(redirect_uris)
        scope_list = _check_scopes(scopes, public=public)
        secret = None if public else secrets.token_hex(32)
        with self.uow() as repos:
            client = repos.clients.create(
                client_id=secrets.token_hex(16),
                secret_digest=self.keys.digest(secret, "client_secret") if secret else None,
                name=name.strip(),
                description=description.strip(),
                logo_data_uri=logo_data_uri,
                redirect_uris=uris,
                scopes=scope_list,
                now=datetime.now(UTC),
            )
        return NewClient(client, secret)

    def list(self) -> list[ClientRecord]:
        with self.uow() as repos:
            return repos.clients.all()

    def get(self, client_id: str) -> ClientRecord:
        with self.uow() as repos:
            client = repos.clients.by_client_id(client_id)
        if client is None:
            raise AdminError(f"No client has the id {client_id!r}.")
        return client

    def update(self, client_id: str, **changes: object) -> ClientRecord:
        if "name" in changes:
            changes["name"] = _check_name(str(changes["name"]))
        if "description" in changes:
            changes["description"] = _check_description(str(changes["description"]))
        if "redirect_uris" in changes:
            changes["redirect_uris"] = _check_redirect_uris(changes["redirect_uris"])  # type: ignore[arg-type]
        client = self.get(client_id)
        if "scopes" in changes:
            changes["scopes"] = _check_scopes(changes["scopes"], public=client.is_public)  # type: ignore[arg-type]
        with self.uow() as repos:
            updated = repos.clients.update(client.pk, **changes)
        assert updated is not None
        return updated

    def disable(self, client_id: str, disabled: bool = True) -> tuple[ClientRecord, Ended]:
        """Disable (or enable) a client. Disabling also ends what it holds, in the same
        transaction: a disabled client is usually a compromised one, and `clients enable` must
        not bring its old tokens, codes or sign-ins back."""
        client = self.get(client_id)
        ended = Ended(0, 0, 0, 0)
        with self.uow() as repos:
            updated = repos.clients.update(client.pk, disabled=disabled)
            if disabled:
                ended = Ended(*repos.clients.end_grants(client.pk, datetime.now(UTC)))
        assert updated is not None
        return updated, ended

    def rotate_secret(self, client_id: str) -> NewClient:
        client = self.get(client_id)
        if client.is_public:
            raise AdminError("A public client has no secret to rotate.")
        secret = secrets.token_hex(32)
        with self.uow() as repos:
            updated = repos.clients.update(
                client.pk,
                secret_digest=self.keys.digest(secret, "client_secret"),
                secret_rotated_at=datetime.now(UTC),
            )
        assert updated is not None
        return NewClient(updated, secret)

    def redirect_allowed(self, client: ClientRecord, uri: str) -> bool:
        return any(
            matches_redirect_uri(uri, r, any_loopback_port=client.is_public)
            for r in client.redirect_uris
        )


class UserAdmin:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def get(self, identifier: str) -> UserRecord:
        with self.uow() as repos:
            user = repos.users.by_identifier(canonical_email(identifier) or identifier.strip())
        if user is None:
            raise AdminError(f"No user has the identifier {identifier!r}.")
        return user

    def lock(self, identifier: str, until: datetime | None) -> UserRecord:
        """Lock until `until`, or unlock (None). An unlock also restarts the refusal count,
        recorded in the audit trail as reason "unlocked": otherwise the refusals that locked
        the user still count and the next refused signature locks them again at once."""
        user = self.get(identifier)
        with self.uow() as repos:
            repos.users.lock(user.pk, until)
            if until is None:
                repos.attempts.record(
                    user.pk, None, datetime.now(UTC), True, "unlocked", None, None
                )
            updated = repos.users.by_pk(user.pk)
        assert updated is not None
        return updated
