"""What the protocol rules need from storage, the clock and randomness (Protocol classes).

`store/` implements these with SQLAlchemy; the rules never import it. Records are plain frozen
dataclasses. Every secret the client holds (client secret, code, token) is passed to a store only as
its keyed digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from authature.payments.ports import PaymentStore

__all__ = [
    "AccessTokenRecord",
    "AttemptStore",
    "AuthRequestWriter",
    "Repos",
    "SealFn",
    "SignatureRecord",
    "SignatureRef",
    "SignatureStore",
    "UnitOfWork",
    "UserWriter",
    "AuthRequestRecord",
    "AuthRequestStore",
    "ClientRecord",
    "ClientStore",
    "Clock",
    "CodeRecord",
    "CodeStore",
    "RefreshTokenRecord",
    "TokenCheck",
    "TokenStore",
    "UserRecord",
    "UserStore",
]


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class ClientRecord:
    pk: int
    client_id: str
    secret_digest: str | None  # None: a public client (PKCE required)
    name: str
    description: str
    logo_data_uri: str | None
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    disabled: bool
    created_at: datetime

    @property
    def is_public(self) -> bool:
        return self.secret_digest is None


@dataclass(frozen=True)
class UserRecord:
    pk: int
    identifier: str
    first_name: str
    last_name: str
    mobile: str | None
    locked_until: datetime | None
    created_at: datetime

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class AuthRequestRecord:
    """A pending authorization: the validated request plus where the user is in the flow."""

    handle_digest: str
    client_pk: int
    redirect_uri: str
    state: str
    scopes: tuple[str, ...]
    device_uid: str | None
    user_params: dict[str, str]
    ux_style: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    ref_id: str | None
    amount_cents: int | None
    step: str  # "identify" | "enroll" | "verify" | "done"
    user_pk: int | None
    pending_identifier: str | None
    pending_first_name: str | None
    pending_last_name: str | None
    pending_mobile: str | None
    enrollment_blobs: tuple[bytes, ...]  # sealed samples given so far (enrollment)
    page_nonce_digest: str | None
    message: str | None
    created_at: datetime
    expires_at: datetime
    # The bank step (preapproval, payment): a new account typed in (its IBAN sealed, bound to
    # this request), or the pk of the user's account on file; the mandate's reference.
    pending_bank_sealed: bytes | None = None
    pending_bank_last4: str | None = None
    pending_bank_holder: str | None = None
    pending_account_pk: int | None = None
    mandate_reference: str | None = None


@dataclass(frozen=True)
class CodeRecord:
    code_digest: str
    client_pk: int
    user_pk: int
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    device_uid: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    signature_pk: int | None
    auth_time: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class AccessTokenRecord:
    token_digest: str
    client_pk: int
    user_pk: int
    scopes: tuple[str, ...]
    device_uid: str | None
    signature_pk: int | None
    code_digest: str | None
    family: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class RefreshTokenRecord:
    token_digest: str
    client_pk: int
    user_pk: int
    scopes: tuple[str, ...]
    device_uid: str | None
    signature_pk: int | None
    family: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenCheck:
    """What a resource check of an access token needs (SPEC 3.3), read in one statement: the
    token's row and its client's id and state."""

    client_pk: int
    client_id: str | None  # None: the client no longer exists
    client_disabled: bool
    scopes: tuple[str, ...]
    device_uid: str | None
    expires_at: datetime
    revoked_at: datetime | None
    #: The scopes the client is registered for now: a scope taken from the client by the
    #: operator no longer verifies on tokens issued before.
    client_scopes: tuple[str, ...] = ()


class ClientStore(Protocol):
    def by_client_id(self, client_id: str) -> ClientRecord | None: ...
    def by_pk(self, pk: int) -> ClientRecord | None: ...


class UserStore(Protocol):
    def by_identifier(self, identifier: str) -> UserRecord | None: ...
    def by_pk(self, pk: int) -> UserRecord | None: ...


class AuthRequestStore(Protocol):
    def add(self, record: AuthRequestRecord) -> None: ...
    def get(self, handle_digest: str) -> AuthRequestRecord | None: ...


class CodeStore(Protocol):
    def add(self, record: CodeRecord) -> None: ...
    def consume(self, code_digest: str, now: datetime) -> tuple[CodeRecord | None, bool]:
        """Mark the code used; return it and whether this call was the first use.

        Must be atomic: of many concurrent calls exactly one sees True (RFC 6749 4.1.2).
        """
        ...

    def consume_with_user(
        self, code_digest: str, now: datetime
    ) -> tuple[CodeRecord | None, bool, UserRecord | None]:
        """`consume`, and on the first use the code's user too (None if it no longer exists):
        the code exchange needs both, and PostgreSQL reads them in one round trip."""
        ...


class TokenStore(Protocol):
    def add_access(self, record: AccessTokenRecord) -> None: ...
    def access(self, token_digest: str) -> AccessTokenRecord | None: ...
    def check(self, token_digest: str) -> TokenCheck | None: ...
    def check_many(self, token_digests: Sequence[str]) -> dict[str, TokenCheck]:
        """`check` of many tokens in one statement, by digest (unknown ones absent)."""
        ...

    def add_refresh(self, record: RefreshTokenRecord) -> None: ...
    def refresh(self, token_digest: str) -> RefreshTokenRecord | None: ...
    def use_refresh(self, token_digest: str, now: datetime) -> bool:
        """Mark a refresh token used; True only for the first caller (rotation)."""
        ...

    def revoke_family(self, family: str, now: datetime) -> None: ...
    def revoke_by_code(self, code_digest: str, now: datetime) -> None: ...
    def revoke_access(self, token_digest: str, now: datetime) -> None: ...
    def families_of(self, digests: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class SignatureRecord:
    pk: int
    user_pk: int
    role: str  # "reference" | "signed"
    active: bool
    sealed: bytes
    created_at: datetime


@dataclass(frozen=True)
class SignatureRef:
    """A stored signature named without its data: the row id, and a tag that differs whenever
    the sealed data does (the seal's random nonce), so derived data can be cached by both."""

    pk: int
    tag: bytes
    #: A reference a template update added (stored after the user's enrollment), not one of
    #: the enrollment's; always False for other rows.
    from_update: bool = False


class SignatureStore(Protocol):
    def add(self, user_pk: int, role: str, sealed_for: SealFn, now: datetime) -> int:
        """Insert a row, sealing its data with `sealed_for(pk)` so the blob is bound to the row."""
        ...

    def references(self, user_pk: int) -> list[SignatureRecord]: ...
    def recent_signed(self, user_pk: int, limit: int) -> list[SignatureRecord]: ...
    def reference_refs(self, user_pk: int) -> list[SignatureRef]: ...
    def earlier_sample_refs(self, user_pk: int, limit: int) -> list[SignatureRef]:
        """Every sample of the user but the active references (signed, retired), newest first."""
        ...

    def by_pk(self, pk: int) -> SignatureRecord | None: ...
    def retire_oldest_references(self, user_pk: int, keep: int) -> None: ...


class SealFn(Protocol):
    def __call__(self, pk: int) -> bytes: ...


class AttemptStore(Protocol):
    def record(
        self,
        user_pk: int,
        client_pk: int | None,
        now: datetime,
        accepted: bool,
        reason: str,
        score: float | None,
        threshold: float | None,
    ) -> None: ...
    def failures_since(self, user_pk: int, since: datetime) -> int: ...


class UserWriter(UserStore, Protocol):
    def create(
        self, identifier: str, first_name: str, last_name: str, mobile: str | None, now: datetime
    ) -> UserRecord: ...
    def lock(self, user_pk: int, until: datetime | None) -> None: ...


class AuthRequestWriter(AuthRequestStore, Protocol):
    def update(self, handle_digest: str, **changes: object) -> None: ...
    def delete(self, handle_digest: str) -> None: ...


class Repos(Protocol):
    """The stores of one unit of work (one database transaction)."""

    @property
    def clients(self) -> ClientStore: ...
    @property
    def users(self) -> UserWriter: ...
    @property
    def requests(self) -> AuthRequestWriter: ...
    @property
    def codes(self) -> CodeStore: ...
    @property
    def tokens(self) -> TokenStore: ...
    @property
    def signatures(self) -> SignatureStore: ...
    @property
    def attempts(self) -> AttemptStore: ...
    @property
    def payments(self) -> PaymentStore: ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractContextManager[Repos]: ...

    def read(self, *, one_statement: bool = False) -> AbstractContextManager[Repos]:
        """A unit that only reads: one consistent snapshot that takes no write lock.

        `one_statement`: the unit runs a single statement, which is a snapshot by itself, so
        the store may skip beginning and ending a transaction around it."""
        ...
