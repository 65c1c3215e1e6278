"""Typed settings, read from the environment once and passed around as an object.

Every setting has a safe default so that `authature serve` works on a fresh machine; secrets that
are not given are generated into the data folder on first start (see `security.keys`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ConfigError", "PaymentSettings", "RateLimits", "Settings"]


class ConfigError(ValueError):
    """A setting has a value we refuse to run with; the message says which and why."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _metrics_token(env: Mapping[str, str]) -> str | None:
    raw = env.get("AUTHATURE_METRICS_TOKEN")
    if raw is None or raw == "":
        return None
    if raw != raw.strip() or len(raw) < 16 or any(not c.isprintable() for c in raw):
        # " " or a value with stray spaces would lock every scraper out without a word.
        raise ConfigError(
            "AUTHATURE_METRICS_TOKEN must be at least 16 printable characters without "
            "surrounding spaces (it is sent as `Authorization: Bearer <token>`)"
        )
    return raw


def _float(env: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    # Also refuses nan and infinities (every comparison with nan is false): a threshold of
    # -inf would accept anyone's signature.
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no"})


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in _TRUE | _FALSE:
        raise ConfigError(f"{name} must be 1/true/on/yes or 0/false/off/no, got {raw!r}")
    return raw in _TRUE


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    url = env.get("AUTHATURE_DATABASE_URL") or f"sqlite:///{data_dir / 'authature.db'}"
    if not url.startswith(("sqlite:", "sqlite+pysqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ConfigError(
            "AUTHATURE_DATABASE_URL must be sqlite:///PATH or "
            f"postgresql+psycopg://USER@HOST/DB, got {url.split(':', 1)[0]!r}"
        )
    return url


def _calls(env: Mapping[str, str]) -> bool | None:
    raw = env.get("AUTHATURE_DATABASE_CALLS", "").lower()
    if raw in {"", "auto"}:
        return None
    if raw not in {"inline", "threads"}:
        raise ConfigError(f"AUTHATURE_DATABASE_CALLS must be inline, threads or auto, got {raw!r}")
    return raw == "inline"


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per fixed window, counted in the database across all processes.

    0 turns one limit off; AUTHATURE_RATE_LIMITS=off turns them all off. See docs/operations.md.
    """

    window_seconds: int = 60
    per_client: int = 6000  # calls an authenticated client makes (token, signature, revoke...)
    token_per_ip: int = 6000  # POST /oauth/token
    signature_per_ip: int = 6000  # GET /oauth/signatures/<token>, /oauth/signature
    verify_per_ip: int = 300  # signature POSTs on the sign-in pages
    verify_per_identifier: int = 30  # verifications of one user's signature
    payment_per_ip: int = 600  # POST /api/v2/payment/authorize and /capture/<id>
    # Hits are counted in each process and written to the database at least this often (and
    # whenever a key's unwritten hits reach 1 % of its limit); 0 writes every hit at once.
    flush_ms: int = 250

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RateLimits:
        if not _flag(env, "AUTHATURE_RATE_LIMITS", True):
            return cls(60, 0, 0, 0, 0, 0, payment_per_ip=0)
        big = 10**9

        def limit(name: str, default: int) -> int:
            return _int(env, f"AUTHATURE_RATE_LIMIT_{name}", default, 0, big)

        return cls(
            window_seconds=_int(env, "AUTHATURE_RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86400),
            per_client=limit("PER_CLIENT", cls.per_client),
            token_per_ip=limit("TOKEN_PER_IP", cls.token_per_ip),
            signature_per_ip=limit("SIGNATURE_PER_IP", cls.signature_per_ip),
            verify_per_ip=limit("VERIFY_PER_IP", cls.verify_per_ip),
            verify_per_identifier=limit("VERIFY_PER_IDENTIFIER", cls.verify_per_identifier),
            payment_per_ip=limit("PAYMENT_PER_IP", cls.payment_per_ip),
            flush_ms=_int(env, "AUTHATURE_RATE_LIMIT_FLUSH_MS", cls.flush_ms, 0, 10_000),
        )


_BANKS = frozenset({"fake", "fake-pending"})


@dataclass(frozen=True)
class PaymentSettings:
    """The limits of the payment rules (SPEC 4: "limits are configuration, not code").

    Amounts are in cents; velocity limits count purchases per `velocity_window_seconds`. See
    docs/payments.md for what each rule looks at.
    """

    enabled: bool = True  # GLOBAL_PAYMENTS_ENABLED
    global_transaction_limit_cents: int = 500_000  # EUR 5,000.00
    consumer_transaction_limit_cents: int = 100_000  # EUR 1,000.00
    consumer_daily_limit_cents: int = 200_000  # EUR 2,000.00 in any 24 hours
    velocity_window_seconds: int = 3600
    global_velocity_limit: int = 10_000  # purchases of everyone in one window
    consumer_velocity_limit: int = 10  # purchases of one user in one window
    fraud_risk_threshold: int = 60  # 0-100; refused at or above
    merchant_risk_threshold: int = 80  # 0-100; refused at or above
    max_users_per_device: int = 5  # a device used by more users than this is flagged
    disabled_clients: frozenset[str] = frozenset()  # client_ids refused MERCHANT_PAYMENTS_ENABLED
    authorization_lifetime_seconds: int = 900  # a pre-authorization must be captured within
    bank: str = "fake"  # the bank gateway: only the fakes exist (payments/bank.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PaymentSettings:
        big = 10**9

        def cents(name: str, default: int) -> int:
            return _int(env, f"AUTHATURE_PAYMENT_{name}", default, 1, big)

        bank = (env.get("AUTHATURE_PAYMENT_BANK") or "fake").strip().lower()
        if bank not in _BANKS:
            raise ConfigError(f"AUTHATURE_PAYMENT_BANK must be fake or fake-pending, got {bank!r}")
        disabled = env.get("AUTHATURE_PAYMENT_DISABLED_CLIENTS", "")
        return cls(
            enabled=_flag(env, "AUTHATURE_PAYMENTS_ENABLED", True),
            global_transaction_limit_cents=cents(
                "GLOBAL_TRANSACTION_LIMIT_CENTS", cls.global_transaction_limit_cents
            ),
            consumer_transaction_limit_cents=cents(
                "CONSUMER_TRANSACTION_LIMIT_CENTS", cls.consumer_transaction_limit_cents
            ),
            consumer_daily_limit_cents=cents(
                "CONSUMER_DAILY_LIMIT_CENTS", cls.consumer_daily_limit_cents
            ),
            velocity_window_seconds=_int(
                env, "AUTHATURE_PAYMENT_VELOCITY_WINDOW_SECONDS", 3600, 60, 7 * 86400
            ),
            global_velocity_limit=cents("GLOBAL_VELOCITY_LIMIT", cls.global_velocity_limit),
            consumer_velocity_limit=cents("CONSUMER_VELOCITY_LIMIT", cls.consumer_velocity_limit),
            fraud_risk_threshold=_int(env, "AUTHATURE_PAYMENT_FRAUD_RISK_THRESHOLD", 60, 1, 101),
            merchant_risk_threshold=_int(
                env, "AUTHATURE_PAYMENT_MERCHANT_RISK_THRESHOLD", 80, 1, 101
            ),
            max_users_per_device=_int(env, "AUTHATURE_PAYMENT_MAX_USERS_PER_DEVICE", 5, 1, 10_000),
            disabled_clients=frozenset(c.strip() for c in disabled.split(",") if c.strip()),
            authorization_lifetime_seconds=_int(
                env, "AUTHATURE_PAYMENT_AUTHORIZATION_LIFETIME_SECONDS", 900, 60, 7 * 86400
            ),
            bank=bank,
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("data").resolve())
    database_url: str = ""
    issuer: str = ""
    enroll_samples: int = 5
    code_lifetime_seconds: int = 600
    access_token_lifetime_seconds: int = 3600
    refresh_token_lifetime_seconds: int = 30 * 24 * 3600
    authorize_request_lifetime_seconds: int = 1800
    lockout_failures: int = 5
    lockout_window_seconds: int = 15 * 60
    lockout_seconds: int = 15 * 60
    verify_threshold: float | None = None
    max_references: int = 10
    secret_key_b64: str | None = None
    encryption_key_b64: str | None = None
    trust_proxy_headers: bool = False
    maintenance: bool = False
    maintenance_retry_after_seconds: int = 300
    signing_key_file: Path | None = None
    rate_limits: RateLimits = field(default_factory=RateLimits)
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    metrics: bool = True
    metrics_token: str | None = None  # None: /metrics answers loopback clients only
    inline_database_calls: bool | None = None  # None: inline with SQLite, threads otherwise

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("AUTHATURE_DATA_DIR") or "data").expanduser().resolve()
        database_url = _database_url(env, data_dir)
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            issuer=(env.get("AUTHATURE_ISSUER") or "").rstrip("/"),
            enroll_samples=_int(env, "AUTHATURE_ENROLL_SAMPLES", 5, 3, 10),
            code_lifetime_seconds=_int(env, "AUTHATURE_CODE_LIFETIME_SECONDS", 600, 10, 600),
            access_token_lifetime_seconds=_int(
                env, "AUTHATURE_ACCESS_TOKEN_LIFETIME_SECONDS", 3600, 60, 86400
            ),
            lockout_failures=_int(env, "AUTHATURE_LOCKOUT_FAILURES", 5, 1, 100),
            lockout_window_seconds=_int(env, "AUTHATURE_LOCKOUT_WINDOW_SECONDS", 900, 10, 86400),
            lockout_seconds=_int(env, "AUTHATURE_LOCKOUT_SECONDS", 900, 10, 86400),
            verify_threshold=_float(env, "AUTHATURE_VERIFY_THRESHOLD", -20.0, 20.0),
            max_references=_int(env, "AUTHATURE_MAX_REFERENCES", 10, 3, 50),
            secret_key_b64=env.get("AUTHATURE_SECRET_KEY") or None,
            encryption_key_b64=env.get("AUTHATURE_ENCRYPTION_KEY") or None,
            trust_proxy_headers=_flag(env, "AUTHATURE_TRUST_PROXY_HEADERS", False),
            maintenance=_flag(env, "AUTHATURE_MAINTENANCE", False),
            maintenance_retry_after_seconds=_int(
                env, "AUTHATURE_MAINTENANCE_RETRY_AFTER_SECONDS", 300, 1, 86400
            ),
            signing_key_file=(
                Path(env["AUTHATURE_SIGNING_KEY_FILE"]).expanduser().resolve()
                if env.get("AUTHATURE_SIGNING_KEY_FILE")
                else None
            ),
            rate_limits=RateLimits.from_env(env),
            payments=PaymentSettings.from_env(env),
            metrics=_flag(env, "AUTHATURE_METRICS", True),
            metrics_token=_metrics_token(env),
            inline_database_calls=_calls(env),
        )
