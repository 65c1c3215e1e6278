"""Payments put together: pre-authorize (SPEC 3.5), capture (SPEC 3.6), and the one-off
checkout and mandate signing at the end of a sign-in (SPEC 1, SPEC 2 step 4).

Every refusal is raised inside the request's transaction, so a refused request changes nothing
stored. The IBAN is handled as `BankDetails` (whose repr hides it) and reaches storage only
sealed; nothing here logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from authature.config import PaymentSettings
from authature.oauth import errors
from authature.oauth.authorize import parse_amount_cents, parse_ref_id
from authature.oauth.ports import AuthRequestRecord, ClientRecord, Clock, Repos, UserRecord
from authature.oauth.scopes import held_scopes
from authature.oauth.server import OAuthServer
from authature.oauth.token import live_access_token
from authature.payments.bank import BankGateway, BankUnavailable, FakeBank
from authature.payments.iban import BankDetails
from authature.payments.mandate import mandate_sha256, mandate_text
from authature.payments.ports import BankAccountRecord, MandateRecord
from authature.payments.rules import PaymentFacts, first_failed_rule, rule_sentence
from authature.security.keys import Keys
from authature.security.secrets import new_id

__all__ = [
    "PAYMENT_SCOPES",
    "PaymentService",
    "bank_gateway_for",
    "format_amount",
    "reference_used",
    "refusal",
    "wants_bank_account",
]

PAYMENT_SCOPES = frozenset({"preapproval", "payment"})
_AUTHORIZATION_ID = re.compile(r"^[0-9a-f]{24}$")
_DEVICE_UID = re.compile(r"^[\x21-\x7e]{1,200}$")
# The fraud risk score (0-100) until a fraud feed exists: refused signatures of the user in the
# last 24 hours, each worth this much (docs/payments.md).
_RISK_PER_REFUSED_SIGNATURE = 20
# The merchant risk score until a merchant risk feed exists: every merchant scores this.
_MERCHANT_RISK_SCORE = 0


def wants_bank_account(scopes: tuple[str, ...]) -> bool:
    return any(s in PAYMENT_SCOPES for s in scopes)


def format_amount(amount_cents: int) -> str:
    """Cents as the page shows them: 1234 -> "€12.34"."""
    return f"€{amount_cents // 100:,}.{amount_cents % 100:02d}"


def refusal(rule: str) -> errors.OAuthError:
    return errors.payment_refused(rule, rule_sentence(rule))


class ReferenceTaken(Exception):
    """`complete_signin` found its ref_id captured by a concurrent checkout after its check:
    the unit of work must roll back (account, mandate, authorization) and the sign-in end with
    `reference_used`, in a transaction of its own."""

    def __init__(self, ref_id: str) -> None:
        super().__init__("ref_id already captured")
        self.ref_id = ref_id


def reference_used(ref_id: str, purchase_id: str | None) -> errors.OAuthError:
    """SPEC 3.6: a client's order reference (`ref_id`) is captured once. A client mistake, not
    a rule about the payer, so SPEC 4's invalid_request rather than a named 403 refusal."""
    earlier = f" as purchase {purchase_id}" if purchase_id else ""
    return errors.invalid_request(
        f"The order reference ref_id '{errors.quote(ref_id, 60)}' was already captured{earlier}; "
        "each ref_id is captured once, so give a new order a new one."
    )


def bank_gateway_for(settings: PaymentSettings) -> BankGateway:
    """Only fakes exist: see `payments.bank` and docs/payments.md."""
    return FakeBank(verifies=settings.bank != "fake-pending")


def _bank_aad(handle_digest: str) -> bytes:
    return f"pending_bank:{handle_digest}".encode()


def _account_aad(pk: int) -> bytes:
    return f"bank_account:{pk}".encode()


@dataclass(frozen=True)
class _NewAccount:
    details: BankDetails
    digest: str
    verified: bool
    flagged: bool


class PaymentService:
    def __init__(
        self,
        oauth: OAuthServer,
        keys: Keys,
        clock: Clock,
        bank: BankGateway,
        settings: PaymentSettings,
    ) -> None:
        self.oauth = oauth
        self.keys = keys
        self.clock = clock
        self.bank = bank
        self.settings = settings

    # -- the bank step of the sign-in page ------------------------------------------------------

    def seal_pending(self, handle_digest: str, details: BankDetails) -> bytes:
        plain = json.dumps({"iban": details.iban, "holder": details.holder_name}).encode()
        return self.keys.seal(plain, _bank_aad(handle_digest))

    def _unseal_pending(self, record: AuthRequestRecord) -> BankDetails:
        assert record.pending_bank_sealed is not None
        plain = self.keys.unseal(record.pending_bank_sealed, _bank_aad(record.handle_digest))
        data = json.loads(plain)
        return BankDetails(iban=str(data["iban"]), holder_name=str(data["holder"]))

    def mandate_for_page(self, record: AuthRequestRecord, client: ClientRecord) -> str | None:
        """The mandate text the page shows, once the bank step is done."""
        if record.mandate_reference is None or record.pending_bank_last4 is None:
            return None
        return mandate_text(
            creditor_name=client.name,
            reference=record.mandate_reference,
            debtor_name=record.pending_bank_holder or "",
            iban_last4=record.pending_bank_last4,
            one_off="preapproval" not in record.scopes,
            amount=None if record.amount_cents is None else format_amount(record.amount_cents),
            order_reference=record.ref_id,
        )

    # -- the end of a successful sign-in --------------------------------------------------------

    def complete_signin(
        self,
        repos: Repos,
        record: AuthRequestRecord,
        user_pk: int,
        signature_pk: int,
        now: datetime,
    ) -> errors.OAuthError | None:
        """Sign the mandate with the signature just verified; for `payment`, take the payment.

        Returns the refusal instead of raising: the caller finishes the sign-in with it as a
        redirect. Nothing is written when it refuses.
        """
        client = repos.clients.by_pk(record.client_pk)
        user = repos.users.by_pk(user_pk)
        if client is None or user is None or record.mandate_reference is None:
            return refusal("GENERIC_FAIL_MESSAGE")
        account: BankAccountRecord | None = None
        new: _NewAccount | None = None
        if record.pending_account_pk is not None:
            account = repos.payments.account(record.pending_account_pk)
            if account is None or account.user_pk != user.pk:
                return refusal("GENERIC_FAIL_MESSAGE")
        elif record.pending_bank_sealed is not None:
            details = self._unseal_pending(record)
            digest = self.keys.digest(details.iban, "iban")
            account = repos.payments.account_by_digest(user.pk, digest)
            if account is None:
                try:
                    check = self.bank.check_account(details)
                except BankUnavailable:
                    return refusal("GENERIC_FAIL_MESSAGE")
                new = _NewAccount(details, digest, check.verified, check.flagged_for_review)
        else:
            return refusal("GENERIC_FAIL_MESSAGE")
        one_off = "preapproval" not in record.scopes
        if "payment" in record.scopes:
            assert record.amount_cents is not None and record.ref_id is not None
            earlier = repos.payments.purchase_by_ref(client.pk, record.ref_id)
            if earlier is not None:
                return reference_used(record.ref_id, earlier.purchase_id)
            facts = self._facts(
                repos,
                user,
                client,
                verified=account.verified if account else bool(new and new.verified),
                new_account_flagged=bool(new and new.flagged),
                device_uid=record.device_uid,
                amount_cents=record.amount_cents,
                now=now,
            )
            failed = first_failed_rule(facts, self.settings)
            if failed is not None:
                return refusal(failed)
        if new is not None:
            details = new.details
            account = repos.payments.add_account(
                user.pk,
                new.digest,
                lambda pk: self.keys.seal(details.iban.encode(), _account_aad(pk)),
                details.last4,
                details.holder_name,
                new.verified,
                new.flagged,
                now,
            )
        assert account is not None
        # Exactly the text the page showed above the pad: that is what the user signed.
        text = self.mandate_for_page(record, client)
        assert text is not None
        mandate = repos.payments.add_mandate(
            record.mandate_reference,
            client.pk,
            user.pk,
            account.pk,
            signature_pk,
            "one-off" if one_off else "recurrent",
            text,
            mandate_sha256(text),
            now,
        )
        if "payment" in record.scopes:
            assert record.ref_id is not None and record.amount_cents is not None
            authorization = repos.payments.add_authorization(
                new_id(), mandate, record.device_uid, signature_pk, now, now, used_at=now
            )
            purchase = repos.payments.add_purchase(
                new_id(), authorization.pk, client.pk, record.ref_id, record.amount_cents, now
            )
            if purchase is None:  # a concurrent checkout took the ref_id after the check above
                raise ReferenceTaken(record.ref_id)
        return None

    # -- SPEC 3.5: pre-authorize -------------------------------------------------------------------

    def authorize(self, bearer: str | None, form: Mapping[str, str]) -> str:
        """SPEC 3.5; a refused token leaves with RFC 6750 3.1's challenge (as on every
        bearer-authenticated endpoint), its status and body SPEC 4's."""
        with errors.bearer_challenge():
            client_id = form.get("client_id")
            if not client_id:
                raise errors.invalid_request("client_id is required.")
            device_uid = _device_uid(form)
            now = self.clock.now()
            with self.oauth.uow() as repos:
                token = live_access_token(repos, self.oauth.hasher, bearer, now)
                client = repos.clients.by_pk(token.client_pk)
                if client is None or client.client_id != client_id:
                    raise errors.invalid_token("The token was not issued to this client.")
                _require_preapproval(token.scopes, client.scopes)
                if token.device_uid and token.device_uid != device_uid:
                    raise errors.invalid_token("The token was issued to another device.")
                user = repos.users.by_pk(token.user_pk)
                mandate = repos.payments.latest_mandate(token.user_pk, client.pk, "recurrent")
                if user is None or mandate is None:
                    raise errors.invalid_token(
                        "This user has signed no recurrent mandate for this client; ask for the "
                        "preapproval scope so they sign one."
                    )
                self._check_rules(repos, user, client, mandate, device_uid, None, now)
                authorization = repos.payments.add_authorization(
                    new_id(),
                    mandate,
                    device_uid,
                    None,
                    now,
                    now + timedelta(seconds=self.settings.authorization_lifetime_seconds),
                    used_at=None,
                )
            return authorization.authorization_id

    # -- SPEC 3.6: capture ---------------------------------------------------------------------------

    def capture(
        self, authorization_header: str | None, form: Mapping[str, str], path_id: str
    ) -> str:
        client = self.oauth.authenticate(authorization_header, form, allow_public=False)
        token_value = form.get("token")
        if not token_value:
            raise errors.invalid_request("token is required.")
        device_uid = _device_uid(form)
        authorization_id = form.get("authorization_id")
        if not authorization_id:
            raise errors.invalid_request("authorization_id is required.")
        if authorization_id != path_id:
            raise errors.invalid_request("authorization_id does not match the one in the path.")
        ref_id = parse_ref_id(form.get("ref_id"), "to capture")
        amount_cents = parse_amount_cents(form.get("amount"), "to capture")
        now = self.clock.now()
        with self.oauth.uow() as repos:
            found = (
                repos.payments.authorization(authorization_id)
                if _AUTHORIZATION_ID.match(authorization_id)
                else None
            )
            if found is None or found.client_pk != client.pk:
                raise errors.invalid_grant("The authorization is unknown.")
            if found.used_at is not None:
                raise errors.invalid_grant("The authorization was already captured.")
            if found.expires_at <= now:
                raise errors.invalid_grant("The authorization has expired.")
            if found.device_uid and found.device_uid != device_uid:
                raise errors.invalid_grant("The authorization was made on another device.")
            token = live_access_token(repos, self.oauth.hasher, token_value, now)
            if token.client_pk != client.pk:  # as for an unknown token (see token_for_client)
                raise errors.invalid_token()
            if token.user_pk != found.user_pk:
                raise errors.invalid_token("The token was not issued to this authorization's user.")
            _require_preapproval(token.scopes, client.scopes)
            user = repos.users.by_pk(found.user_pk)
            mandate = repos.payments.latest_mandate(found.user_pk, client.pk, "recurrent")
            if user is None or mandate is None or mandate.pk != found.mandate_pk:
                # A newer mandate replaced the one this authorization was made under.
                raise errors.invalid_grant("The authorization is no longer valid.")
            earlier = repos.payments.purchase_by_ref(client.pk, ref_id)
            if earlier is not None:
                raise reference_used(ref_id, earlier.purchase_id)
            self._check_rules(repos, user, client, mandate, device_uid, amount_cents, now)
            if not repos.payments.use_authorization(found.pk, now):
                raise errors.invalid_grant("The authorization was already captured.")
            purchase = repos.payments.add_purchase(
                new_id(), found.pk, client.pk, ref_id, amount_cents, now
            )
            if purchase is None:  # a concurrent capture took it: raising rolls all back
                raise reference_used(ref_id, None)
        return purchase.purchase_id

    # -- the rules' facts ------------------------------------------------------------------------

    def _check_rules(
        self,
        repos: Repos,
        user: UserRecord,
        client: ClientRecord,
        mandate: MandateRecord,
        device_uid: str,
        amount_cents: int | None,
        now: datetime,
    ) -> None:
        account = repos.payments.account(mandate.account_pk)
        facts = self._facts(
            repos,
            user,
            client,
            verified=bool(account and account.verified),
            new_account_flagged=False,
            device_uid=device_uid,
            amount_cents=amount_cents,
            now=now,
        )
        failed = first_failed_rule(facts, self.settings)
        if failed is not None:
            raise refusal(failed)

    def _facts(
        self,
        repos: Repos,
        user: UserRecord,
        client: ClientRecord,
        *,
        verified: bool,
        new_account_flagged: bool,
        device_uid: str | None,
        amount_cents: int | None,
        now: datetime,
    ) -> PaymentFacts:
        payments = repos.payments
        limits = self.settings
        window_start = now - timedelta(seconds=limits.velocity_window_seconds)
        day_start = now - timedelta(days=1)
        device_flagged = False
        if device_uid:
            users = payments.users_on_device(device_uid) | {user.pk}
            device_flagged = len(users) > limits.max_users_per_device
        refused = payments.refused_signatures_since(user.pk, day_start)
        return PaymentFacts(
            amount_cents=amount_cents,
            account_verified=verified,
            accounts_flagged_for_review=payments.flagged_accounts(user.pk)
            + int(new_account_flagged),
            device_flagged=device_flagged,
            consumer_email=user.identifier,
            consumer_flagged_devices=payments.flagged_devices_of(
                user.pk, limits.max_users_per_device
            ),
            fraud_risk_score=min(100, refused * _RISK_PER_REFUSED_SIGNATURE),
            global_purchases_in_window=payments.purchases_since(window_start),
            consumer_purchases_in_window=payments.purchases_since(window_start, user.pk),
            merchant_risk_score=_MERCHANT_RISK_SCORE,
            merchant_enabled=not client.disabled,
            merchant_payments_enabled=bool(client.scopes & PAYMENT_SCOPES)
            and client.client_id not in limits.disabled_clients,
            consumer_banned=user.is_locked(now),
            consumer_spent_today_cents=payments.spent_since(user.pk, day_start),
        )


def _require_preapproval(granted: tuple[str, ...], client_scopes: frozenset[str]) -> None:
    if "preapproval" not in granted:
        raise errors.invalid_token("The token does not carry the preapproval scope.")
    if "preapproval" not in held_scopes(granted, client_scopes):
        raise errors.invalid_token("The client is no longer registered for the preapproval scope.")


def _device_uid(form: Mapping[str, str]) -> str:
    device_uid = form.get("device_uid")
    if not device_uid:
        raise errors.invalid_request("device_uid is required.")
    if not _DEVICE_UID.match(device_uid):
        raise errors.invalid_request("device_uid must be 1 to 200 visible ASCII characters.")
    return device_uid
