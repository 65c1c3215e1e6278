"""The OAuth engine: every protocol operation, assembled from the stores, hasher and clock.

The web layer calls one method per endpoint and renders what comes back; nothing here knows HTTP
frameworks or SQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authature.oauth import errors
from authature.oauth.authorize import AuthorizationRequest, parse_authorization_request
from authature.oauth.clients import authenticate_client, read_client_credentials
from authature.oauth.introspection import introspect_token
from authature.oauth.oidc import OpenIDProvider
from authature.oauth.ports import (
    AccessTokenRecord,
    AuthRequestRecord,
    ClientRecord,
    Clock,
    CodeRecord,
    Repos,
    TokenCheck,
    UnitOfWork,
)
from authature.oauth.revocation import revoke_token
from authature.oauth.scopes import held_scopes, parse_scope
from authature.oauth.token import (
    Hasher,
    IssuedTokens,
    TokenPolicy,
    check_code,
    client_disabled_token,
    format_expires,
    live_access_token,
    narrowed_scopes,
    store_tokens,
    user_object,
)

__all__ = ["OAuthServer", "TokenAnswer", "TokenQuestion"]


@dataclass(frozen=True)
class TokenAnswer:
    status: int
    body: dict[str, Any]
    issued: IssuedTokens


@dataclass(frozen=True)
class TokenQuestion:
    """A token check's parameters, checked, with the token's digest (`token_question`)."""

    digest: str
    client_id: str
    scopes: tuple[str, ...]
    device_uid: str | None
    now: datetime


class OAuthServer:
    def __init__(
        self,
        uow: UnitOfWork,
        hasher: Hasher,
        clock: Clock,
        *,
        code_lifetime: timedelta,
        policy: TokenPolicy,
        oidc: OpenIDProvider | None = None,
        issuer: str = "",
    ) -> None:
        self.uow = uow
        self.hasher = hasher
        self.clock = clock
        self.code_lifetime = code_lifetime
        self.policy = policy
        self.oidc = oidc
        self.issuer = issuer

    # -- helpers -----------------------------------------------------------------------------

    def _matches_client_secret(self, secret: str, digest: str) -> bool:
        return self.hasher.matches(secret, "client_secret", digest)

    def authenticate(
        self, authorization: str | None, form: Mapping[str, str], *, allow_public: bool = True
    ) -> ClientRecord:
        credentials = read_client_credentials(authorization, form)
        with self.uow.read(one_statement=True) as repos:  # the client's row
            return authenticate_client(
                credentials, repos.clients, self._matches_client_secret, allow_public=allow_public
            )

    # -- authorization endpoint (RFC 6749 4.1.1) ------------------------------------------

    def parse_authorization(self, items: Sequence[tuple[str, str]]) -> AuthorizationRequest:
        with self.uow.read() as repos:
            return parse_authorization_request(items, repos.clients)

    def issue_code(
        self,
        repos: Repos,
        request: AuthRequestRecord,
        user_pk: int,
        signature_pk: int | None,
        now: datetime,
    ) -> str:
        """A single-use code bound to client, redirect URI, PKCE challenge and device.

        Written in the caller's unit of work so the sign-in step and the code commit together.
        """
        code = secrets.token_hex(16)
        repos.codes.add(
            CodeRecord(
                code_digest=self.hasher.digest(code, "code"),
                client_pk=request.client_pk,
                user_pk=user_pk,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                state=request.state,
                device_uid=request.device_uid,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                nonce=request.nonce,
                signature_pk=signature_pk,
                auth_time=now,
                expires_at=now + self.code_lifetime,
                used_at=None,
            )
        )
        return code

    # -- token endpoint ----------------------------------------------------------------------

    def token(self, authorization: str | None, form: Mapping[str, str]) -> TokenAnswer:
        grant_type = form.get("grant_type")
        client = self.authenticate(authorization, form)
        if grant_type is None:
            issued = self._exchange_code(client, form, standard=False)
            return TokenAnswer(201, self._documented_body(issued), issued)
        if grant_type == "authorization_code":
            issued = self._exchange_code(client, form, standard=True)
        elif grant_type == "refresh_token":
            issued = self._refresh(client, form)
        else:
            raise errors.unsupported_grant_type()
        body = self._standard_body(issued)
        oidc = self.oidc if grant_type == "authorization_code" else None
        if oidc is not None and oidc.issues_id_token(issued.scopes):
            body["id_token"] = oidc.id_token(issued, self.clock.now())  # OIDC Core 3.1.3.3
        return TokenAnswer(200, body, issued)

    def _exchange_code(
        self, client: ClientRecord, form: Mapping[str, str], *, standard: bool
    ) -> IssuedTokens:
        code = form.get("code")
        if not code:
            raise errors.invalid_request("code is required.")
        if not form.get("redirect_uri"):
            raise errors.invalid_request("redirect_uri is required.")
        now = self.clock.now()
        code_digest = self.hasher.digest(code, "code")
        failure: errors.OAuthError | None = None
        access = secrets.token_hex(32)
        refresh = secrets.token_hex(32) if standard else None
        # One transaction for consume, checks and issue: a concurrent replay that loses the race
        # waits for the winner's commit and then revokes what it issued (RFC 6749 4.1.2).
        # A replay's failure is raised after the block so that its revocation commits.
        with self.uow() as repos:
            record, first_use, user = repos.codes.consume_with_user(code_digest, now)
            if record is None:
                failure = errors.invalid_grant(
                    "The authorization code is not valid; send the user through /oauth/authorize again."
                )
            elif not first_use:
                # RFC 6749 4.1.2 / RFC 9700 4.5: a replayed code revokes what it produced.
                repos.tokens.revoke_by_code(code_digest, now)
                failure = errors.invalid_grant(
                    "The authorization code was already used (its tokens are now revoked); start the sign-in again."
                )
            else:
                # Raised inside the block: the transaction rolls back and the code stays
                # unused, so a request refused for its own mistakes changes nothing stored.
                check_code(record, first_use, client, form, now, standard=standard)
                scopes = narrowed_scopes(form.get("scope"), record.scopes)
            if failure is None and user is None:
                failure = errors.invalid_grant("The user of this code no longer exists.")
            if failure is None:
                assert record is not None and user is not None
                expires_at = store_tokens(
                    repos,
                    self.hasher,
                    self.policy,
                    access_token=access,
                    refresh_token=refresh,
                    family=secrets.token_hex(16),
                    client=client,
                    user_pk=user.pk,
                    scopes=scopes,
                    device_uid=record.device_uid,
                    signature_pk=record.signature_pk,
                    code_digest=code_digest,
                    now=now,
                )
                payment = _checkout(repos, record)
        if failure is not None:
            raise failure
        assert record is not None and user is not None
        return IssuedTokens(
            access,
            refresh,
            scopes,
            expires_at,
            user,
            client,
            record.nonce,
            record.auth_time,
            payment,
        )

    def _refresh(self, client: ClientRecord, form: Mapping[str, str]) -> IssuedTokens:
        """RFC 6749 6 with rotation; a reused refresh token revokes its family (RFC 9700 4.14)."""
        token = form.get("refresh_token")
        if not token:
            raise errors.invalid_request("refresh_token is required.")
        now = self.clock.now()
        digest = self.hasher.digest(token, "refresh_token")
        failure: errors.OAuthError | None = None
        with self.uow() as repos:
            record = repos.tokens.refresh(digest)
            if record is None or record.client_pk != client.pk:
                failure = errors.invalid_grant("The refresh token is not valid.")
            elif record.revoked_at is not None or record.expires_at <= now:
                failure = errors.invalid_grant("The refresh token is revoked or expired.")
            elif record.used_at is not None:
                repos.tokens.revoke_family(record.family, now)
                failure = _refresh_reused()
            else:
                # Check the request before using the token up: a refused request (a wider
                # scope) must not burn it, or the client's next, valid refresh would look like
                # reuse and revoke the family.
                held = held_scopes(record.scopes, client.scopes)
                try:
                    if not held:
                        raise errors.invalid_scope(
                            "The client is no longer registered for any scope of this grant; "
                            "send the user through /oauth/authorize again."
                        )
                    # Only what the client may still ask for (an operator may have narrowed it).
                    scopes = narrowed_scopes(form.get("scope"), held)
                except errors.OAuthError as exc:
                    failure = exc
                if failure is None and not repos.tokens.use_refresh(digest, now):
                    repos.tokens.revoke_family(record.family, now)  # lost a race to a reuse
                    failure = _refresh_reused()
            if failure is None:
                assert record is not None
                user = repos.users.by_pk(record.user_pk)
                if user is None:
                    failure = errors.invalid_grant("The user of this token no longer exists.")
                elif user.is_locked(now):
                    # No new tokens while locked; the used-up refresh token stays used up.
                    failure = errors.invalid_grant(
                        "The user is locked; once unlocked they must sign in again."
                    )
            if failure is None:
                assert record is not None and user is not None
                access, refresh = secrets.token_hex(32), secrets.token_hex(32)
                expires_at = store_tokens(
                    repos,
                    self.hasher,
                    self.policy,
                    access_token=access,
                    refresh_token=refresh,
                    family=record.family,
                    client=client,
                    user_pk=user.pk,
                    scopes=scopes,
                    device_uid=record.device_uid,
                    signature_pk=record.signature_pk,
                    code_digest=None,
                    now=now,
                    refresh_scopes=record.scopes,
                )
        if failure is not None:
            raise failure
        assert user is not None
        return IssuedTokens(access, refresh, scopes, expires_at, user, client, None, None)

    def _documented_body(self, issued: IssuedTokens) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": {
                "token": issued.access_token,
                "type": "bearer",
                "scopes": " ".join(issued.scopes),
                "user": user_object(issued.user),
                "expires": format_expires(issued.expires_at),
            }
        }
        if issued.payment is not None:
            body["payment"] = issued.payment
        return body

    def _standard_body(self, issued: IssuedTokens) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": int(self.policy.access_lifetime.total_seconds()),
            "scope": " ".join(issued.scopes),
            "user": user_object(issued.user),
        }
        if issued.refresh_token:
            body["refresh_token"] = issued.refresh_token
        if issued.payment is not None:
            body["payment"] = issued.payment
        return body

    # -- resource checks ---------------------------------------------------------------------

    def verify_token(self, token: str | None, query: Mapping[str, str]) -> None:
        """SPEC 3.3: live, of that client, carrying that scope, and on that device. A refused
        token is answered with RFC 6750 3's challenge, as userinfo does."""
        question = self.token_question(token, query)
        # A read unit and one statement: no write lock, and no cache either, so a revocation
        # committed by any process is seen by the next check.
        with self.uow.read(one_statement=True) as repos:
            record = repos.tokens.check(question.digest)
        self.judge_token(question, record)

    def token_question(self, token: str | None, query: Mapping[str, str]) -> TokenQuestion:
        """The first half of `verify_token`, before the database: the request's parameters
        checked and the token's digest. `web.tokenbatch` looks the digests of many requests up
        in one statement and answers each with `judge_token`."""
        with errors.bearer_challenge():
            client_id = query.get("client_id")
            if not client_id:
                raise errors.invalid_request("client_id is required.")
            scopes = parse_scope(query.get("scope"))
            now = self.clock.now()
            if not token or len(token) > 256:
                raise errors.invalid_token()
            digest = self.hasher.digest(token, "access_token")
        return TokenQuestion(digest, client_id, tuple(scopes), query.get("device_uid"), now)

    def check_tokens(self, digests: Sequence[str]) -> dict[str, TokenCheck]:
        """The rows of many token checks, read in one statement (the digests not found are
        absent): what `verify_token` reads for one, for `web.tokenbatch`."""
        with self.uow.read(one_statement=True) as repos:
            return repos.tokens.check_many(digests)

    def judge_token(self, question: TokenQuestion, record: TokenCheck | None) -> None:
        """The second half of `verify_token`: the row read after the request arrived."""
        with errors.bearer_challenge():
            if record is not None and record.client_disabled:  # say why, though revoked too
                raise client_disabled_token()
            if record is None or record.revoked_at is not None or record.expires_at <= question.now:
                raise errors.invalid_token()
            if record.client_id is None or record.client_id != question.client_id:
                raise errors.invalid_token("The token was not issued to this client.")
            scopes = question.scopes
            if any(s not in record.scopes for s in scopes):
                raise errors.invalid_token("The token does not carry the requested scope.")
            if any(s not in held_scopes(record.scopes, record.client_scopes) for s in scopes):
                raise errors.invalid_token(
                    "The client is no longer registered for the requested scope, so its tokens "
                    "do not verify for it while that lasts."
                )
            device_uid = question.device_uid
            if device_uid and record.device_uid and device_uid != record.device_uid:
                raise errors.invalid_token("The token was issued to another device.")

    def token_for_client(
        self, token: str | None, client: ClientRecord, scope: str
    ) -> AccessTokenRecord:
        """A live token of this client that carries `scope` (signature fetch, payments)."""
        now = self.clock.now()
        with self.uow.read() as repos:
            record = live_access_token(repos, self.hasher, token, now)
        if record.client_pk != client.pk:
            # The unknown token's sentence: another client's token is not confirmed to exist
            # (revocation and introspection say nothing either, RFC 7009 2.1, RFC 7662 2.2).
            raise errors.invalid_token()
        if scope not in held_scopes(record.scopes, client.scopes):
            raise errors.invalid_scope(f"The token was not granted the {scope} scope.")
        return record

    # -- revocation, introspection, userinfo (RFC 7009, RFC 7662, OpenID Connect Core 5.3) ----

    def revoke(self, authorization: str | None, form: Mapping[str, str]) -> None:
        client = self.authenticate(authorization, form)
        with self.uow() as repos:
            revoke_token(repos, self.hasher, client, form, self.clock.now())

    def introspect(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        client = self.authenticate(authorization, form)
        with self.uow.read() as repos:
            return introspect_token(repos, self.hasher, client, form, self.clock.now(), self.issuer)

    def userinfo(self, token: str | None) -> dict[str, Any]:
        """OpenID Connect Core 5.3: the claims of the user a live `openid` token was issued for."""
        if self.oidc is None:
            raise errors.invalid_request("OpenID Connect is not configured on this server.")
        with self.uow.read() as repos:
            record = live_access_token(repos, self.hasher, token, self.clock.now())
            if "openid" not in record.scopes:
                raise errors.insufficient_scope("openid")  # RFC 6750 3.1
            client = repos.clients.by_pk(record.client_pk)
            user = repos.users.by_pk(record.user_pk)
        if client is None or client.disabled or user is None:
            raise errors.invalid_token()
        return self.oidc.userinfo(user)


def _checkout(repos: Repos, code: CodeRecord) -> dict[str, Any] | None:
    """SPEC 1 `payment`: the payment authorised and captured when the user signed, shown to the
    client with the token (the back channel), so it can trust what the redirect only hints."""
    if "payment" not in code.scopes or code.signature_pk is None:
        return None
    found = repos.payments.checkout_of_signature(code.signature_pk)
    if found is None:
        return None
    authorization, purchase = found
    return {
        "authorization_id": authorization.authorization_id,
        "purchase_id": purchase.purchase_id,
        "ref_id": purchase.ref_id,
        "amount": purchase.amount_cents,
    }


def _refresh_reused() -> errors.OAuthError:
    """RFC 9700 4.14.2: a reused refresh token revoked its whole family; say so."""
    return errors.invalid_grant(
        "The refresh token was already used, so every token of this sign-in was revoked; "
        "the user must sign in again."
    )
