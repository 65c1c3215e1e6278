"""Tables. Secrets appear only as keyed digests; signature samples only as AES-GCM blobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python, whatever the database or server time zone is.

    SQLite has no time zone type, so values are stored as naive UTC and read back as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "clients"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    logo_data_uri: Mapped[str | None] = mapped_column(Text)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "users"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Signature(Base):
    """A signature sample: `role` is "reference" (compared against) or "signed" (a verified login)."""

    __tablename__ = "signatures"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A "signed" signature that signed a SEPA mandate: the SHA-256 of the mandate's text.
    mandate_sha256: Mapped[str | None] = mapped_column(String(64))


class AuthRequest(Base):
    __tablename__ = "auth_requests"
    handle_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    device_uid: Mapped[str | None] = mapped_column(String(200))
    user_params: Mapped[dict[str, str]] = mapped_column(JSON)
    ux_style: Mapped[str] = mapped_column(String(16))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    nonce: Mapped[str | None] = mapped_column(Text)
    ref_id: Mapped[str | None] = mapped_column(String(200))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    step: Mapped[str] = mapped_column(String(16))
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    pending_identifier: Mapped[str | None] = mapped_column(String(320))
    pending_first_name: Mapped[str | None] = mapped_column(String(200))
    pending_last_name: Mapped[str | None] = mapped_column(String(200))
    pending_mobile: Mapped[str | None] = mapped_column(String(40))
    enrollment_blobs: Mapped[list[str]] = mapped_column(JSON)  # base64 of sealed samples
    page_nonce_digest: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    pending_bank_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # IBAN, sealed
    pending_bank_last4: Mapped[str | None] = mapped_column(String(4))
    pending_bank_holder: Mapped[str | None] = mapped_column(String(200))
    pending_account_pk: Mapped[int | None] = mapped_column(Integer)  # a bank_accounts.pk
    mandate_reference: Mapped[str | None] = mapped_column(String(35))


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"
    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(Text)
    device_uid: Mapped[str | None] = mapped_column(String(200))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    nonce: Mapped[str | None] = mapped_column(Text)
    signature_pk: Mapped[int | None] = mapped_column(ForeignKey("signatures.pk"))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessToken(Base):
    __tablename__ = "access_tokens"
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    device_uid: Mapped[str | None] = mapped_column(String(200))
    signature_pk: Mapped[int | None] = mapped_column(ForeignKey("signatures.pk"))
    code_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    device_uid: Mapped[str | None] = mapped_column(String(200))
    signature_pk: Mapped[int | None] = mapped_column(ForeignKey("signatures.pk"))
    family: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerificationAttempt(Base):
    """Audit of every signature decision: score, threshold and outcome, never the samples."""

    __tablename__ = "verification_attempts"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    client_pk: Mapped[int | None] = mapped_column(ForeignKey("clients.pk", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_verification_attempts_user_at", "user_pk", "at"),)


class RateLimitCounter(Base):
    """A fixed-window request counter, shared by every server process (see `store.ratelimits`).

    `key` is the rule name and a keyed digest of the subject (IP address, client, identifier), so
    the table holds no addresses or e-mails. `window_end` is in whole seconds since the epoch.
    """

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    window_end: Mapped[int] = mapped_column(BigInteger, index=True)
    hits: Mapped[int] = mapped_column(Integer)


class BankAccount(Base):
    """A user's bank account. The IBAN is sealed (AES-GCM, bound to the row) and found again by
    a keyed digest; only its last four characters are in clear, for display."""

    __tablename__ = "bank_accounts"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    iban_digest: Mapped[str] = mapped_column(String(64))
    iban_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    iban_last4: Mapped[str] = mapped_column(String(4))
    holder_name: Mapped[str] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_for_review: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_bank_accounts_user_iban", "user_pk", "iban_digest", unique=True),)


class Mandate(Base):
    """A SEPA Core direct-debit mandate, signed by the signature row `signature_pk`."""

    __tablename__ = "mandates"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(35), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    account_pk: Mapped[int] = mapped_column(ForeignKey("bank_accounts.pk", ondelete="CASCADE"))
    signature_pk: Mapped[int] = mapped_column(ForeignKey("signatures.pk"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_mandates_user_client", "user_pk", "client_pk"),)


class PaymentAuthorization(Base):
    """SPEC 3.5: a pre-authorized payment, captured at most once before it expires."""

    __tablename__ = "payment_authorizations"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    authorization_id: Mapped[str] = mapped_column(String(24), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    mandate_pk: Mapped[int] = mapped_column(ForeignKey("mandates.pk", ondelete="CASCADE"))
    account_pk: Mapped[int] = mapped_column(ForeignKey("bank_accounts.pk", ondelete="CASCADE"))
    device_uid: Mapped[str | None] = mapped_column(String(200), index=True)
    signature_pk: Mapped[int | None] = mapped_column(ForeignKey("signatures.pk"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


PURCHASE_REF_INDEX = "ix_purchases_client_ref"


class Purchase(Base):
    """SPEC 3.6: a captured payment."""

    __tablename__ = "purchases"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_id: Mapped[str] = mapped_column(String(24), unique=True)
    authorization_pk: Mapped[int] = mapped_column(
        ForeignKey("payment_authorizations.pk", ondelete="CASCADE"), unique=True
    )
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.pk", ondelete="CASCADE"))
    ref_id: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # A client's order reference is captured once (migration 0005), whatever the path: two
    # authorizations captured at once with one ref_id cannot both become purchases.
    __table_args__ = (Index(PURCHASE_REF_INDEX, "client_pk", "ref_id", unique=True),)
