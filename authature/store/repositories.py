"""SQLAlchemy implementations of the stores in `oauth.ports`, one unit of work per transaction."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from authature.oauth import ports
from authature.store import models
from authature.store.db import Database

_R = TypeVar("_R")


def _record(cls: type[_R], row: object, **overrides: object) -> _R:
    """A port record from a row: same field names; JSON lists become tuples."""
    values: dict[str, object] = {}
    for name in cls.__dataclass_fields__:  # type: ignore[attr-defined]
        value = overrides[name] if name in overrides else getattr(row, name)
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _values(record: object, **overrides: object) -> dict[str, object]:
    """Column values for a new row from a port record; tuples become JSON lists."""
    values = {k: getattr(record, k) for k in record.__dataclass_fields__}  # type: ignore[attr-defined]
    values.update(overrides)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def _client(row: models.Client) -> ports.ClientRecord:
    return _record(ports.ClientRecord, row, scopes=frozenset(row.scopes))


class SqlClientStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def by_client_id(self, client_id: str) -> ports.ClientRecord | None:
        row = self._s.scalar(select(models.Client).where(models.Client.client_id == client_id))
        return _client(row) if row else None

    def by_pk(self, pk: int) -> ports.ClientRecord | None:
        row = self._s.get(models.Client, pk)
        return _client(row) if row else None

    def all(self) -> list[ports.ClientRecord]:
        return [
            _client(r) for r in self._s.scalars(select(models.Client).order_by(models.Client.pk))
        ]

    def create(
        self,
        client_id: str,
        secret_digest: str | None,
        name: str,
        description: str,
        logo_data_uri: str | None,
        redirect_uris: Sequence[str],
        scopes: Sequence[str],
        now: datetime,
    ) -> ports.ClientRecord:
        row = models.Client(
            client_id=client_id,
            secret_digest=secret_digest,
            name=name,
            description=description,
            logo_data_uri=logo_data_uri,
            redirect_uris=list(redirect_uris),
            scopes=list(scopes),
            disabled=False,
            created_at=now,
        )
        self._s.add(row)
        self._s.flush()
        return _client(row)

    def update(self, pk: int, **changes: object) -> ports.ClientRecord | None:
        row = self._s.get(models.Client, pk)
        if row is None:
            return None
        for key, value in changes.items():
            setattr(row, key, value)
        self._s.flush()
        return _client(row)


class SqlUserStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def by_identifier(self, identifier: str) -> ports.UserRecord | None:
        row = self._s.scalar(select(models.User).where(models.User.identifier == identifier))
        return _record(ports.UserRecord, row) if row else None

    def by_pk(self, pk: int) -> ports.UserRecord | None:
        row = self._s.get(models.User, pk)
        return _record(ports.UserRecord, row) if row else None

    def create(
        self, identifier: str, first_name: str, last_name: str, mobile: str | None, now: datetime
    ) -> ports.UserRecord:
        row = models.User(
            identifier=identifier,
            first_name=first_name,
            last_name=last_name,
            mobile=mobile,
            created_at=now,
        )
        self._s.add(row)
        self._s.flush()
        return _record(ports.UserRecord, row)

    def lock(self, user_pk: int, until: datetime | None) -> None:
        self._s.execute(
            update(models.User).where(models.User.pk == user_pk).values(locked_until=until)
        )


def _request(row: models.AuthRequest) -> ports.AuthRequestRecord:
    blobs = tuple(base64.b64decode(b) for b in row.enrollment_blobs)
    return _record(ports.AuthRequestRecord, row, enrollment_blobs=blobs)


class SqlAuthRequestStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: ports.AuthRequestRecord) -> None:
        blobs = [base64.b64encode(b).decode() for b in record.enrollment_blobs]
        self._s.add(models.AuthRequest(**_values(record, enrollment_blobs=blobs)))
        self._s.flush()

    def get(self, handle_digest: str) -> ports.AuthRequestRecord | None:
        row = self._s.get(models.AuthRequest, handle_digest, with_for_update=True)
        return _request(row) if row else None

    def update(self, handle_digest: str, **changes: object) -> None:
        if "enrollment_blobs" in changes:
            blobs = changes["enrollment_blobs"]
            assert isinstance(blobs, tuple | list)
            changes["enrollment_blobs"] = [base64.b64encode(b).decode() for b in blobs]
        if "scopes" in changes:
            changes["scopes"] = list(changes["scopes"])  # type: ignore[call-overload]
        self._s.execute(
            update(models.AuthRequest)
            .where(models.AuthRequest.handle_digest == handle_digest)
            .values(**changes)
        )

    def delete(self, handle_digest: str) -> None:
        row = self._s.get(models.AuthRequest, handle_digest)
        if row is not None:
            self._s.delete(row)


class SqlCodeStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: ports.CodeRecord) -> None:
        self._s.add(models.AuthorizationCode(**_values(record)))
        self._s.flush()

    def consume(self, code_digest: str, now: datetime) -> tuple[ports.CodeRecord | None, bool]:
        # A conditional UPDATE is atomic in both databases: of concurrent redeemers exactly
        # one changes the row (RFC 6749 4.1.2: a code is used once).
        first = self._s.execute(
            update(models.AuthorizationCode)
            .where(
                models.AuthorizationCode.code_digest == code_digest,
                models.AuthorizationCode.used_at.is_(None),
            )
            .values(used_at=now)
        )
        row = self._s.get(models.AuthorizationCode, code_digest, populate_existing=True)
        if row is None:
            return None, False
        return _record(ports.CodeRecord, row), first.rowcount == 1  # type: ignore[attr-defined]


class SqlTokenStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add_access(self, record: ports.AccessTokenRecord) -> None:
        self._s.add(models.AccessToken(**_values(record)))

    def access(self, token_digest: str) -> ports.AccessTokenRecord | None:
        row = self._s.get(models.AccessToken, token_digest)
        return _record(ports.AccessTokenRecord, row) if row else None

    def add_refresh(self, record: ports.RefreshTokenRecord) -> None:
        self._s.add(models.RefreshToken(**_values(record)))

    def refresh(self, token_digest: str) -> ports.RefreshTokenRecord | None:
        row = self._s.get(models.RefreshToken, token_digest)
        return _record(ports.RefreshTokenRecord, row) if row else None

    def use_refresh(self, token_digest: str, now: datetime) -> bool:
        result = self._s.execute(
            update(models.RefreshToken)
            .where(
                models.RefreshToken.token_digest == token_digest,
                models.RefreshToken.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def revoke_family(self, family: str, now: datetime) -> None:
        for table in (models.AccessToken, models.RefreshToken):
            self._s.execute(
                update(table)
                .where(table.family == family, table.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def revoke_by_code(self, code_digest: str, now: datetime) -> None:
        families = self._s.scalars(
            select(models.AccessToken.family).where(models.AccessToken.code_digest == code_digest)
        ).all()
        for family in set(families):
            self.revoke_family(family, now)

    def revoke_access(self, token_digest: str, now: datetime) -> None:
        self._s.execute(
            update(models.AccessToken)
            .where(models.AccessToken.token_digest == token_digest)
            .values(revoked_at=now)
        )

    def families_of(self, digests: Sequence[str]) -> list[str]:
        return list(
            self._s.scalars(
                select(models.AccessToken.family).where(
                    models.AccessToken.token_digest.in_(list(digests))
                )
            )
        )


class SqlSignatureStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, user_pk: int, role: str, sealed_for: ports.SealFn, now: datetime) -> int:
        row = models.Signature(user_pk=user_pk, role=role, active=True, sealed=b"", created_at=now)
        self._s.add(row)
        self._s.flush()  # the primary key is part of the sealed data's associated data
        row.sealed = sealed_for(row.pk)
        self._s.flush()
        return row.pk

    def references(self, user_pk: int) -> list[ports.SignatureRecord]:
        rows = self._s.scalars(
            select(models.Signature)
            .where(
                models.Signature.user_pk == user_pk,
                models.Signature.role == "reference",
                models.Signature.active.is_(True),
            )
            .order_by(models.Signature.pk)
        )
        return [_record(ports.SignatureRecord, r) for r in rows]

    def recent_signed(self, user_pk: int, limit: int) -> list[ports.SignatureRecord]:
        rows = self._s.scalars(
            select(models.Signature)
            .where(models.Signature.user_pk == user_pk, models.Signature.role == "signed")
            .order_by(models.Signature.pk.desc())
            .limit(limit)
        )
        return [_record(ports.SignatureRecord, r) for r in rows]

    def by_pk(self, pk: int) -> ports.SignatureRecord | None:
        row = self._s.get(models.Signature, pk)
        return _record(ports.SignatureRecord, row) if row else None

    def retire_oldest_references(self, user_pk: int, keep: int) -> None:
        refs = self.references(user_pk)
        for ref in refs[: max(0, len(refs) - keep)]:
            self._s.execute(
                update(models.Signature).where(models.Signature.pk == ref.pk).values(active=False)
            )


class SqlAttemptStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def record(
        self,
        user_pk: int,
        client_pk: int | None,
        now: datetime,
        accepted: bool,
        reason: str,
        score: float | None,
        threshold: float | None,
    ) -> None:
        self._s.add(
            models.VerificationAttempt(
                user_pk=user_pk,
                client_pk=client_pk,
                at=now,
                accepted=accepted,
                reason=reason,
                score=score,
                threshold=threshold,
            )
        )

    def failures_since(self, user_pk: int, since: datetime) -> int:
        """Rejected attempts since `since`, counting only those after the last acceptance."""
        last_ok = self._s.scalar(
            select(func.max(models.VerificationAttempt.at)).where(
                models.VerificationAttempt.user_pk == user_pk,
                models.VerificationAttempt.accepted.is_(True),
            )
        )
        start = max(since, last_ok) if last_ok else since
        return int(
            self._s.scalar(
                select(func.count()).where(
                    models.VerificationAttempt.user_pk == user_pk,
                    models.VerificationAttempt.accepted.is_(False),
                    models.VerificationAttempt.at > start,
                )
            )
            or 0
        )


@dataclass
class SqlRepos:
    session: Session
    clients: SqlClientStore
    users: SqlUserStore
    requests: SqlAuthRequestStore
    codes: SqlCodeStore
    tokens: SqlTokenStore
    signatures: SqlSignatureStore
    attempts: SqlAttemptStore


class SqlUnitOfWork:
    """`with uow() as repos:` gives the stores of one transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def __call__(self) -> Iterator[SqlRepos]:
        with self.database.transaction() as s:
            yield SqlRepos(
                session=s,
                clients=SqlClientStore(s),
                users=SqlUserStore(s),
                requests=SqlAuthRequestStore(s),
                codes=SqlCodeStore(s),
                tokens=SqlTokenStore(s),
                signatures=SqlSignatureStore(s),
                attempts=SqlAttemptStore(s),
            )
