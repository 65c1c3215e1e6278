"""What the payment rules need from storage (Protocol classes and plain records).

`store/` implements them (`SqlPaymentStore`). An IBAN reaches a store only sealed (AES-GCM,
bound to its row) and as a keyed digest to find an account again; its last four characters are
the only part kept in clear, for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "AuthorizationRecord",
    "BankAccountRecord",
    "MandateRecord",
    "PaymentStore",
    "PurchaseRecord",
]


@dataclass(frozen=True)
class BankAccountRecord:
    pk: int
    user_pk: int
    iban_last4: str
    holder_name: str
    verified: bool
    flagged_for_review: bool
    created_at: datetime


@dataclass(frozen=True)
class MandateRecord:
    pk: int
    reference: str
    client_pk: int
    user_pk: int
    account_pk: int
    signature_pk: int
    kind: str  # "recurrent" (preapproval) | "one-off" (payment)
    text_sha256: str
    signed_at: datetime


@dataclass(frozen=True)
class AuthorizationRecord:
    pk: int
    authorization_id: str  # 24 lowercase hex (SPEC 3.5)
    client_pk: int
    user_pk: int
    mandate_pk: int
    account_pk: int
    device_uid: str | None
    signature_pk: int | None  # set for a one-off checkout: the signature that authorised it
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class PurchaseRecord:
    pk: int
    purchase_id: str  # 24 lowercase hex (SPEC 3.6)
    authorization_pk: int
    client_pk: int
    ref_id: str
    amount_cents: int
    created_at: datetime


class SealFn(Protocol):
    def __call__(self, pk: int) -> bytes: ...


class PaymentStore(Protocol):
    def account(self, pk: int) -> BankAccountRecord | None: ...
    def account_by_digest(self, user_pk: int, iban_digest: str) -> BankAccountRecord | None: ...
    def latest_account(self, user_pk: int) -> BankAccountRecord | None: ...
    def flagged_accounts(self, user_pk: int) -> int: ...
    def add_account(
        self,
        user_pk: int,
        iban_digest: str,
        sealed_for: SealFn,
        iban_last4: str,
        holder_name: str,
        verified: bool,
        flagged_for_review: bool,
        now: datetime,
    ) -> BankAccountRecord:
        """Insert a row, sealing the IBAN with `sealed_for(pk)` so the blob is bound to it."""
        ...

    def add_mandate(
        self,
        reference: str,
        client_pk: int,
        user_pk: int,
        account_pk: int,
        signature_pk: int,
        kind: str,
        text: str,
        text_sha256: str,
        now: datetime,
    ) -> MandateRecord:
        """Also records the mandate's digest on the signature row that signs it."""
        ...

    def latest_mandate(
        self, user_pk: int, client_pk: int, kind: str = "recurrent"
    ) -> MandateRecord | None:
        """The newest mandate of that kind: a one-off checkout never replaces a recurrent one."""
        ...

    def add_authorization(
        self,
        authorization_id: str,
        mandate: MandateRecord,
        device_uid: str | None,
        signature_pk: int | None,
        now: datetime,
        expires_at: datetime,
        used_at: datetime | None,
    ) -> AuthorizationRecord: ...

    def authorization(self, authorization_id: str) -> AuthorizationRecord | None:
        """The row, locked for the rest of the transaction (captures of it wait)."""
        ...

    def use_authorization(self, pk: int, now: datetime) -> bool:
        """Mark it used; True only for the first caller (atomic)."""
        ...

    def add_purchase(
        self,
        purchase_id: str,
        authorization_pk: int,
        client_pk: int,
        ref_id: str,
        amount_cents: int,
        now: datetime,
    ) -> PurchaseRecord | None:
        """None, storing nothing, when the client already has a purchase with `ref_id` (also
        one a concurrent transaction committed meanwhile: the store's unique index)."""
        ...

    def purchase_by_ref(self, client_pk: int, ref_id: str) -> PurchaseRecord | None: ...

    def checkout_of_signature(
        self, signature_pk: int
    ) -> tuple[AuthorizationRecord, PurchaseRecord] | None: ...

    def purchases_since(self, since: datetime, user_pk: int | None = None) -> int: ...
    def spent_since(self, user_pk: int, since: datetime) -> int: ...
    def flagged_devices_of(self, user_pk: int, max_users: int) -> int:
        """How many devices this user made authorizations on are shared by over `max_users`."""
        ...

    def users_on_device(self, device_uid: str) -> set[int]: ...
    def refused_signatures_since(self, user_pk: int, since: datetime) -> int: ...
