"""SQLAlchemy implementations of the stores in `oauth.ports`, one unit of work per transaction."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from authature.oauth import ports
from authature.store import models
from authature.store.db import Database


def _client(row: models.Client) -> ports.ClientRecord:
    return ports.ClientRecord(
        pk=row.pk,
        client_id=row.client_id,
        secret_digest=row.secret_digest,
        name=row.name,
        description=row.description,
        logo_data_uri=row.logo_data_uri,
        redirect_uris=tuple(row.redirect_uris),
        scopes=frozenset(row.scopes),
        disabled=row.disabled,
        created_at=row.created_at,
    )


def _user(row: models.User) -> ports.UserRecord:
    return ports.UserRecord(
        pk=row.pk,
        identifier=row.identifier,
        first_name=row.first_name,
        last_name=row.last_name,
        mobile=row.mobile,
        locked_until=row.locked_until,
        created_at=row.created_at,
    )


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
        return _user(row) if row else None

    def by_pk(self, pk: int) -> ports.UserRecord | None:
        row = self._s.get(models.User, pk)
        return _user(row) if row else None

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
        return _user(row)

    def lock(self, user_pk: int, until: datetime | None) -> None:
        self._s.execute(
            update(models.User).where(models.User.pk == user_pk).values(locked_until=until)
        )


def _request(row: models.AuthRequest) -> ports.AuthRequestRecord:
    return ports.AuthRequestRecord(
        handle_digest=row.handle_digest,
        client_pk=row.client_pk,
        redirect_uri=row.redirect_uri,
        state=row.state,
        scopes=tuple(row.scopes),
        device_uid=row.device_uid,
        user_params=dict(row.user_params),
        ux_style=row.ux_style,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        nonce=row.nonce,
        ref_id=row.ref_id,
        amount_cents=row.amount_cents,
        step=row.step,
        user_pk=row.user_pk,
        pending_identifier=row.pending_identifier,
        pending_first_name=row.pending_first_name,
        pending_last_name=row.pending_last_name,
        pending_mobile=row.pending_mobile,
        enrollment_blobs=tuple(base64.b64decode(b) for b in row.enrollment_blobs),
        page_nonce_digest=row.page_nonce_digest,
        message=row.message,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class SqlAuthRequestStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: ports.AuthRequestRecord) -> None:
        values = {k: getattr(record, k) for k in record.__dataclass_fields__}
        values["scopes"] = list(record.scopes)
        values["enrollment_blobs"] = [base64.b64encode(b).decode() for b in record.enrollment_blobs]
        self._s.add(models.AuthRequest(**values))
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


def _code(row: models.AuthorizationCode) -> ports.CodeRecord:
    return ports.CodeRecord(
        code_digest=row.code_digest,
        client_pk=row.client_pk,
        user_pk=row.user_pk,
        redirect_uri=row.redirect_uri,
        scopes=tuple(row.scopes),
        state=row.state,
        device_uid=row.device_uid,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        nonce=row.nonce,
        signature_pk=row.signature_pk,
        auth_time=row.auth_time,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


class SqlCodeStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: ports.CodeRecord) -> None:
        values = {k: getattr(record, k) for k in record.__dataclass_fields__}
        values["scopes"] = list(record.scopes)
        self._s.add(models.AuthorizationCode(**values))
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
        return _code(row), first.rowcount == 1  # type: ignore[attr-defined]


def _access(row: models.AccessToken) -> ports.AccessTokenRecord:
    return ports.AccessTokenRecord(
        token_digest=row.token_digest,
        client_pk=row.client_pk,
        user_pk=row.user_pk,
        scopes=tuple(row.scopes),
        device_uid=row.device_uid,
        signature_pk=row.signature_pk,
        code_digest=row.code_digest,
        family=row.family,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _refresh(row: models.RefreshToken) -> ports.RefreshTokenRecord:
    return ports.RefreshTokenRecord(
        token_digest=row.token_digest,
        client_pk=row.client_pk,
        user_pk=row.user_pk,
        scopes=tuple(row.scopes),
        device_uid=row.device_uid,
        signature_pk=row.signature_pk,
        family=row.family,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


class SqlTokenStore:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add_access(self, record: ports.AccessTokenRecord) -> None:
        values = {k: getattr(record, k) for k in record.__dataclass_fields__}
        values["scopes"] = list(record.scopes)
        self._s.add(models.AccessToken(**values))

    def access(self, token_digest: str) -> ports.AccessTokenRecord | None:
        row = self._s.get(models.AccessToken, token_digest)
        return _access(row) if row else None

    def add_refresh(self, record: ports.RefreshTokenRecord) -> None:
        values = {k: getattr(record, k) for k in record.__dataclass_fields__}
        values["scopes"] = list(record.scopes)
        self._s.add(models.RefreshToken(**values))

    def refresh(self, token_digest: str) -> ports.RefreshTokenRecord | None:
        row = self._s.get(models.RefreshToken, token_digest)
        return _refresh(row) if row else None

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


def _signature(row: models.Signature) -> ports.SignatureRecord:
    return ports.SignatureRecord(
        pk=row.pk,
        user_pk=row.user_pk,
        role=row.role,
        active=row.active,
        sealed=row.sealed,
        created_at=row.created_at,
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
        return [_signature(r) for r in rows]

    def recent_signed(self, user_pk: int, limit: int) -> list[ports.SignatureRecord]:
        rows = self._s.scalars(
            select(models.Signature)
            .where(models.Signature.user_pk == user_pk, models.Signature.role == "signed")
            .order_by(models.Signature.pk.desc())
            .limit(limit)
        )
        return [_signature(r) for r in rows]

    def by_pk(self, pk: int) -> ports.SignatureRecord | None:
        row = self._s.get(models.Signature, pk)
        return _signature(row) if row else None

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
