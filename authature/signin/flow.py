"""The sign-in flow of SPEC 2: identify, enroll or verify, then hand the client a code.

State lives in the `auth_requests` row (never in process memory), so any server process can serve
any step. Each rendered page carries a one-time nonce: a capture is accepted only with the nonce of
the page that drew it, which also protects the page's POSTs against cross-site forgery.
"""

from __future__ import annotations

import json
import secrets
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from authature.biometrics.capture import Capture, CaptureError, decode_capture, encode_capture
from authature.biometrics.capture import parse_capture as parse_capture_payload
from authature.biometrics.quality import quality_problem
from authature.biometrics.stored import Sample, SampleCache
from authature.biometrics.stored import sample as derived_sample
from authature.biometrics.verifier import Decision, Verifier
from authature.oauth import errors
from authature.oauth.authorize import (
    AuthorizationRequest,
    authorization_redirect,
    is_mobile_number,
)
from authature.oauth.clients import is_native_redirect
from authature.oauth.ports import (
    AuthRequestRecord,
    ClientRecord,
    Clock,
    Repos,
    SignatureRef,
    UnitOfWork,
    UserRecord,
)
from authature.oauth.scopes import SCOPE_SENTENCES
from authature.oauth.server import OAuthServer
from authature.payments.iban import BankDetails, masked_iban, read_bank_details
from authature.payments.mandate import new_mandate_reference
from authature.payments.rules import request_refusal
from authature.payments.service import (
    PaymentService,
    ReferenceTaken,
    format_amount,
    reference_used,
    refusal,
    wants_bank_account,
)
from authature.plaintext import canonical_email, is_email_address, name_problem, text_problem
from authature.security.keys import SEAL_TAG_BYTES, Keys

__all__ = [
    "FlowObserver",
    "FlowPolicy",
    "Outcome",
    "PageModel",
    "PendingVerification",
    "SignInFlow",
    "SignInPageGone",
    "Verification",
]

_MOBILE_MAX = 40  # the stored column's size
#: A probe is compared for replay with the active references and up to this many of the user's
#: other stored samples (signed ones, retired references), newest first: a copy of a sample
#: that template updates retired, or of a sign-in of months ago, is refused too.  Each row is
#: decrypted once per process (`SampleCache`); a user past this many sign-ins has only the
#: oldest ones left out.
REPLAY_HISTORY = 1000
_NAME_MAX = 200


class FlowObserver(Protocol):
    """Optional operations hooks (rate limits, metrics), given by `web/services.py`."""

    def before_verify(self, repos: Repos, identifier: str) -> None:
        """In the step's transaction, before the verifier runs; may raise an OAuthError."""

    def verified(self, outcome: str, seconds: float, locked: bool) -> None:
        """`outcome` is accepted, rejected or replay; `locked`: this refusal locked the user."""


class SignInPageGone(Exception):
    """The sign-in page is unknown or expired; the user must start again at the client."""


@dataclass(frozen=True)
class FlowPolicy:
    enroll_samples: int
    request_lifetime: timedelta
    lockout_failures: int
    lockout_window: timedelta
    lockout_duration: timedelta
    max_references: int
    issuer: str


@dataclass(frozen=True)
class PageModel:
    handle: str
    nonce: str
    step: str  # "identify" | "bank" | "enroll" | "verify"
    client_name: str
    client_description: str
    client_logo: str | None
    scope_sentences: list[tuple[str, str]]
    status: str
    message: str | None
    identifier: str
    first_name: str
    last_name: str
    mobile: str
    needs_names: bool
    sample_number: int
    samples_needed: int
    ux_style: str
    redirect_origin: str
    # Payments (SPEC 2 step 4): the mandate the signature signs, what is paid, the account.
    mandate_text: str | None = None
    payment_amount: str | None = None  # "€12.34"
    payment_ref_id: str | None = None
    bank_on_file: str | None = None  # the masked IBAN of the account on file
    bank_holder: str = ""


@dataclass(frozen=True)
class Outcome:
    """Where the browser goes next: back to the page, or to the client with a result."""

    redirect_to: str | None = None  # the client redirect URI with code or error
    native_json: dict[str, str] | None = None  # SPEC 3.1: native redirect URIs get JSON
    again: bool = False  # show the page again (next step or a message)
    # 303 back to the page; 400: the posted signature itself was refused and the page says why;
    # with native_json, the status of that JSON answer.
    status: int = 303


class SignInFlow:
    def __init__(
        self,
        uow: UnitOfWork,
        oauth: OAuthServer,
        keys: Keys,
        clock: Clock,
        verifier: Verifier,
        policy: FlowPolicy,
        observer: FlowObserver | None = None,
        payments: PaymentService | None = None,
    ) -> None:
        self.uow = uow
        self.oauth = oauth
        self.keys = keys
        self.clock = clock
        self.verifier = verifier
        self.policy = policy
        self.observer = observer
        self.payments = payments
        self.samples = SampleCache(verifier)  # derived data of stored rows, per process

    # -- starting and showing --------------------------------------------------------------

    def begin(self, request: AuthorizationRequest) -> str:
        """Store a validated request; the returned handle names its page."""
        if self.payments is not None and request.amount_cents is not None:
            rule = request_refusal(
                request.amount_cents, request.client.client_id, self.payments.settings
            )
            if rule is not None:
                raise refusal(rule).redirecting(request.redirect_uri, request.state)
        handle = secrets.token_urlsafe(32)
        now = self.clock.now()
        typed = request.user_params.get("identifier", "")
        prefill = canonical_email(typed) or typed.strip()
        with self.uow() as repos:
            if request.ref_id is not None and request.amount_cents is not None:
                earlier = repos.payments.purchase_by_ref(request.client.pk, request.ref_id)
                if earlier is not None:  # before the page: nobody signs for it in vain
                    error = reference_used(request.ref_id, earlier.purchase_id)
                    raise error.redirecting(request.redirect_uri, request.state)
            repos.requests.add(
                AuthRequestRecord(
                    handle_digest=self.keys.digest(handle, "auth_request"),
                    client_pk=request.client.pk,
                    redirect_uri=request.redirect_uri,
                    state=request.state,
                    scopes=request.scopes,
                    device_uid=request.device_uid,
                    user_params=request.user_params,
                    ux_style=request.ux_style,
                    code_challenge=request.code_challenge,
                    code_challenge_method=request.code_challenge_method,
                    nonce=request.nonce,
                    ref_id=request.ref_id,
                    amount_cents=request.amount_cents,
                    step="identify",
                    user_pk=None,
                    pending_identifier=prefill or None,
                    pending_first_name=request.user_params.get("first_name"),
                    pending_last_name=request.user_params.get("last_name"),
                    pending_mobile=request.user_params.get("mobile"),
                    enrollment_blobs=(),
                    page_nonce_digest=None,
                    message=None,
                    created_at=now,
                    expires_at=now + self.policy.request_lifetime,
                )
            )
        return handle

    def _load(self, repos: Repos, handle: str) -> AuthRequestRecord:
        if not handle or len(handle) > 100:
            raise SignInPageGone
        record = repos.requests.get(self.keys.digest(handle, "auth_request"))
        if record is None or record.expires_at <= self.clock.now():
            raise SignInPageGone
        return record

    def page(self, handle: str) -> PageModel:
        """The page for the current step, with a fresh one-time nonce."""
        nonce = secrets.token_urlsafe(24)
        with self.uow() as repos:
            record = self._load(repos, handle)
            client = repos.clients.by_pk(record.client_pk)
            if client is None or client.disabled:
                raise SignInPageGone
            repos.requests.update(
                record.handle_digest,
                page_nonce_digest=self.keys.digest(nonce, "page_nonce"),
                message=None,
            )
            user = repos.users.by_pk(record.user_pk) if record.user_pk else None
            on_file = (
                repos.payments.latest_account(user.pk)
                if user is not None and record.step == "bank"
                else None
            )
        mandate = self.payments.mandate_for_page(record, client) if self.payments else None
        sample_number = len(record.enrollment_blobs) + 1
        needed = self.policy.enroll_samples
        if record.step == "enroll":
            status = f"Signature {sample_number} of {needed}"
        elif record.step == "verify":
            status = "Sign to confirm it is you"
        elif record.step == "bank":
            status = "Enter the bank account to pay from"
        else:
            status = "Enter your e-mail address to continue"
        return PageModel(
            handle=handle,
            nonce=nonce,
            step=record.step,
            client_name=client.name,
            client_description=client.description,
            client_logo=client.logo_data_uri,
            scope_sentences=[(s, SCOPE_SENTENCES[s]) for s in record.scopes],
            status=status,
            message=record.message,
            identifier=user.identifier if user else (record.pending_identifier or ""),
            first_name=record.pending_first_name or "",
            last_name=record.pending_last_name or "",
            mobile=record.pending_mobile or "",
            needs_names=record.step == "enroll" and not record.enrollment_blobs,
            sample_number=sample_number,
            samples_needed=needed,
            ux_style=record.ux_style,
            redirect_origin=_origin(record.redirect_uri),
            mandate_text=mandate,
            payment_amount=format_amount(record.amount_cents)
            if record.amount_cents is not None
            else None,
            payment_ref_id=record.ref_id,
            bank_on_file=masked_iban(on_file.iban_last4) if on_file else None,
            bank_holder=record.pending_bank_holder
            or (on_file.holder_name if on_file else "")
            or " ".join(n for n in (record.pending_first_name, record.pending_last_name) if n),
        )

    # -- the steps ---------------------------------------------------------------------------

    def _check_nonce(self, repos: Repos, record: AuthRequestRecord, nonce: str) -> bool:
        """One-time: a nonce matches once, then the page must be shown again."""
        if not nonce or record.page_nonce_digest is None:
            return False
        if not self.keys.matches(nonce, "page_nonce", record.page_nonce_digest):
            return False
        repos.requests.update(record.handle_digest, page_nonce_digest=None)
        return True

    def _stale(self, repos: Repos, record: AuthRequestRecord) -> Outcome:
        repos.requests.update(
            record.handle_digest,
            message="This page was out of date, so nothing was sent. Please try again.",
        )
        return Outcome(again=True)

    def identify(self, handle: str, nonce: str, typed: str) -> Outcome:
        canonical = canonical_email(typed)
        identifier = canonical if canonical is not None else typed.strip()
        with self.uow() as repos:
            record = self._load(repos, handle)
            if not self._check_nonce(repos, record, nonce):
                return self._stale(repos, record)
            if record.step != "identify":
                return Outcome(again=True)
            plain = text_problem(identifier, "e-mail address", 320, joiners=False) is None
            if canonical is None or not is_email_address(identifier) or not plain:
                # What was typed comes back to be corrected, if it is plain text that fits.
                shown = identifier if plain else None
                repos.requests.update(
                    record.handle_digest,
                    pending_identifier=shown or None,
                    message="Please enter a valid e-mail address, like name@example.com.",
                )
                return Outcome(again=True)
            user = repos.users.by_identifier(identifier)
            if user is not None and user.is_locked(self.clock.now()):
                return self._finish_error(repos, record, self._locked_error(repos, user))
            # SPEC 2 step 4: the bank account first, so that the mandate can name it.
            step = "verify" if user else "enroll"
            if wants_bank_account(record.scopes):
                step = "bank"
            repos.requests.update(
                record.handle_digest,
                pending_identifier=identifier,
                user_pk=user.pk if user else None,
                step=step,
            )
        return Outcome(again=True)

    def submit_bank(
        self, handle: str, nonce: str, use_on_file: bool, iban: str, holder: str
    ) -> Outcome:
        """The bank step: the account on file, or a new IBAN and holder (checked, sealed)."""
        with self.uow() as repos:
            record = self._load(repos, handle)
            if not self._check_nonce(repos, record, nonce):
                return self._stale(repos, record)
            if record.step != "bank" or self.payments is None:
                return Outcome(again=True)
            next_step = "verify" if record.user_pk else "enroll"
            reference = record.mandate_reference or new_mandate_reference()
            if use_on_file:
                on_file = repos.payments.latest_account(record.user_pk) if record.user_pk else None
                if on_file is None:
                    repos.requests.update(
                        record.handle_digest,
                        message="There is no bank account on file; please enter your IBAN.",
                    )
                    return Outcome(again=True, status=400)
                repos.requests.update(
                    record.handle_digest,
                    step=next_step,
                    pending_account_pk=on_file.pk,
                    pending_bank_sealed=None,
                    pending_bank_last4=on_file.iban_last4,
                    pending_bank_holder=on_file.holder_name,
                    mandate_reference=reference,
                )
                return Outcome(again=True)
            details = read_bank_details(iban, holder)
            if not isinstance(details, BankDetails):
                holder_kept = " ".join(holder.split())[:200]
                repos.requests.update(
                    record.handle_digest,
                    message=details,
                    pending_bank_holder=holder_kept
                    if text_problem(holder_kept, "name", 200) is None
                    else None,
                )
                return Outcome(again=True, status=400)
            repos.requests.update(
                record.handle_digest,
                step=next_step,
                pending_account_pk=None,
                pending_bank_sealed=self.payments.seal_pending(record.handle_digest, details),
                pending_bank_last4=details.last4,
                pending_bank_holder=details.holder_name,
                mandate_reference=reference,
            )
        return Outcome(again=True)

    def restart(self, handle: str, nonce: str) -> Outcome:
        """Back to the e-mail step ("not you?"): a typo in the address must not trap the user.

        The half-done enrollment is dropped; the address stays in the field to be corrected.
        Refused signatures stay counted against the user they were given for.
        """
        with self.uow() as repos:
            record = self._load(repos, handle)
            if not self._check_nonce(repos, record, nonce):
                return self._stale(repos, record)
            if record.step in {"bank", "enroll", "verify"}:
                repos.requests.update(
                    record.handle_digest,
                    step="identify",
                    user_pk=None,
                    enrollment_blobs=(),
                    message=None,
                    pending_account_pk=None,
                    pending_bank_sealed=None,
                    pending_bank_last4=None,
                    pending_bank_holder=None,
                    # Whoever signs next may be someone else: the details typed for (or sent
                    # by the client about) the first person are not offered to them.
                    pending_first_name=None,
                    pending_last_name=None,
                    pending_mobile=None,
                )
        return Outcome(again=True)

    def deny(self, handle: str, nonce: str) -> Outcome:
        with self.uow() as repos:
            record = self._load(repos, handle)
            if not self._check_nonce(repos, record, nonce):
                return self._stale(repos, record)
            return self._finish_error(
                repos, record, errors.access_denied("The user declined the request.")
            )

    def submit_signature(
        self,
        handle: str,
        nonce: str,
        capture_json: str,
        first_name: str | None = None,
        last_name: str | None = None,
        mobile: str | None = None,
    ) -> Outcome:
        """`mobile` None: the form had no mobile field (keep `user_params[mobile]`)."""
        step = self.take_signature(handle, nonce, capture_json, first_name, last_name, mobile)
        if isinstance(step, Outcome):
            return step
        return self.record_verification(self.verify_signature(step))

    def take_signature(
        self,
        handle: str,
        nonce: str,
        capture_json: str,
        first_name: str | None = None,
        last_name: str | None = None,
        mobile: str | None = None,
    ) -> Outcome | PendingVerification:
        """The first part of `submit_signature`: the capture read, the nonce used and the step's
        first transaction; a verification to run comes back as a `PendingVerification` for
        `verify_signature` (CPU only, no database) and then `record_verification`."""
        try:
            return self._take_signature(handle, nonce, capture_json, first_name, last_name, mobile)
        except ReferenceTaken as taken:  # the last enrollment signature's checkout
            return self._reference_taken(handle, taken)

    def _reference_taken(self, handle: str, taken: ReferenceTaken) -> Outcome:
        """A concurrent checkout captured this checkout's ref_id: everything the signature's
        transaction wrote was rolled back, and the sign-in ends as one whose ref_id was
        already captured at /oauth/authorize would have, in a transaction of its own."""
        with self.uow() as repos:
            record = self._load(repos, handle)
            return self._finish_error(repos, record, reference_used(taken.ref_id, None))

    def _take_signature(
        self,
        handle: str,
        nonce: str,
        capture_json: str,
        first_name: str | None,
        last_name: str | None,
        mobile: str | None,
    ) -> Outcome | PendingVerification:
        capture, problem = _read_capture(capture_json)  # no database: before the transaction
        with self.uow() as repos:
            record = self._load(repos, handle)
            if not self._check_nonce(repos, record, nonce):
                return self._stale(repos, record)
            if record.step not in {"enroll", "verify"}:
                return Outcome(again=True)
            if record.step == "enroll" and not record.enrollment_blobs:
                names_problem = self._take_names(repos, record, first_name, last_name, mobile)
                problem = names_problem or problem
                if names_problem is None:
                    record = replace(
                        record,
                        pending_first_name=unicodedata.normalize("NFC", (first_name or "").strip()),
                        pending_last_name=unicodedata.normalize("NFC", (last_name or "").strip()),
                        pending_mobile=record.pending_mobile
                        if mobile is None
                        else (mobile.strip() or None),
                    )
            if problem is not None or capture is None:
                repos.requests.update(record.handle_digest, message=problem)
                return Outcome(again=True, status=400)
            if record.step == "enroll":
                return self._enroll(repos, record, capture)
            inputs = self._verify_inputs(repos, record, count=True)
            if isinstance(inputs, Outcome):
                return inputs
        return PendingVerification(handle, capture, inputs)

    def _take_names(
        self,
        repos: Repos,
        record: AuthRequestRecord,
        first_name: str | None,
        last_name: str | None,
        mobile: str | None,
    ) -> str | None:
        """Keep what the user typed (so a refused form comes back filled in), then say what is
        wrong. A value that is not plain text of a sane length is not kept."""
        first = unicodedata.normalize("NFC", (first_name or "").strip())
        last = unicodedata.normalize("NFC", (last_name or "").strip())
        phone = record.pending_mobile if mobile is None else (mobile.strip() or None)
        first_problem = name_problem(first, "first name", _NAME_MAX)
        last_problem = name_problem(last, "last name", _NAME_MAX)
        phone_text_problem = (
            None if phone is None else text_problem(phone, "mobile number", _MOBILE_MAX)
        )
        repos.requests.update(
            record.handle_digest,
            pending_first_name=(first or None)
            if first_problem is None
            else record.pending_first_name,
            pending_last_name=(last or None) if last_problem is None else record.pending_last_name,
            pending_mobile=phone if phone_text_problem is None else record.pending_mobile,
        )
        if first_problem or last_problem:
            return first_problem or last_problem
        if phone is not None and (phone_text_problem is not None or not is_mobile_number(phone)):
            return (
                "Please enter the mobile number like +32 470 12 34 56, or leave it empty, "
                "then sign again."
            )
        if not first or not last:
            return "Please enter your first and last name, then sign again."
        return None

    def _locked_error(self, repos: Repos, user: UserRecord) -> errors.OAuthError:
        """Why the user may not sign now: their own refused signatures, or an operator's lock
        (`authature users lock`), which sets the same field; recent failures tell them apart."""
        assert user.locked_until is not None
        locked_at = user.locked_until - self.policy.lockout_duration
        failures = repos.attempts.failures_since(user.pk, locked_at - self.policy.lockout_window)
        if failures >= self.policy.lockout_failures:
            return _refused_lock_error(user.locked_until)
        return errors.access_denied(
            f"This account is locked by the service until {_utc(user.locked_until)}. "
            "Contact the service's support to have it unlocked."
        )

    # -- enrollment --------------------------------------------------------------------------

    def _unseal_pending(self, record: AuthRequestRecord) -> list[Capture]:
        return [
            decode_capture(self.keys.unseal(blob, record.handle_digest.encode()))
            for blob in record.enrollment_blobs
        ]

    def _enroll(self, repos: Repos, record: AuthRequestRecord, capture: Capture) -> Outcome:
        samples = self._unseal_pending(record)
        if self.verifier.is_replay(capture, samples):
            repos.requests.update(
                record.handle_digest,
                message="That signature is an exact copy of one you gave already. "
                "Please sign again by hand.",
            )
            return Outcome(again=True)
        samples.append(capture)
        message: str | None = None
        if len(samples) >= 2:
            check = self.verifier.check_enrollment(samples)
            if not check.ok:
                drop = check.outlier_index if check.outlier_index is not None else len(samples) - 1
                samples.pop(drop)
                if drop == len(samples):  # the new sample was the odd one out
                    message = (
                        "That signature looks different from your earlier ones. "
                        "Please sign again the way you usually sign."
                    )
                else:
                    message = (
                        f"Your signature number {drop + 1} looked different from the others and "
                        "was set aside. Please sign once more the way you usually sign."
                    )
        if len(samples) < self.policy.enroll_samples:
            blobs = tuple(
                self.keys.seal(encode_capture(s), record.handle_digest.encode()) for s in samples
            )
            repos.requests.update(record.handle_digest, enrollment_blobs=blobs, message=message)
            return Outcome(again=True)
        now = self.clock.now()
        identifier = record.pending_identifier or ""
        if repos.users.by_identifier(identifier) is not None:
            repos.requests.update(
                record.handle_digest,
                step="identify",
                enrollment_blobs=(),
                message="An account with this e-mail address was just created. Please start again.",
            )
            return Outcome(again=True)
        user = repos.users.create(
            identifier,
            record.pending_first_name or "",
            record.pending_last_name or "",
            record.pending_mobile,
            now,
        )
        for sample in samples:
            self._store_signature(repos, user.pk, "reference", sample, now)
        signed_pk = self._store_signature(repos, user.pk, "signed", samples[-1], now)
        return self._finish_success(repos, record, user.pk, signed_pk, now)

    def _store_signature(
        self,
        repos: Repos,
        user_pk: int,
        role: str,
        capture: Capture,
        now: datetime,
        derived: Sample | None = None,
        data: bytes | None = None,
    ) -> int:
        """`data`: `encode_capture(capture)` when the caller has it already."""
        if data is None:
            data = encode_capture(capture)
        sealed: list[bytes] = []

        def seal(pk: int) -> bytes:
            sealed.append(self.keys.seal(data, _signature_aad(pk)))
            return sealed[-1]

        pk = repos.signatures.add(user_pk, role, seal, now)
        if derived is not None:  # the next verification of this user finds it ready
            stored = replace(derived, key=_sample_key(pk, sealed[-1]))
            if role == "reference":
                self.samples.adopt(stored)
            else:
                self.samples.put(stored)
        return pk

    # -- verification ------------------------------------------------------------------------

    def _verify_inputs(
        self, repos: Repos, record: AuthRequestRecord, *, count: bool
    ) -> _VerifyInputs | Outcome:
        """The user and their stored samples, or the outcome when they may not sign now.

        `count`: this is the first look at this submission, which the rate limit counts.
        """
        assert record.user_pk is not None
        user = repos.users.by_pk(record.user_pk)
        if user is None:
            raise SignInPageGone
        if user.is_locked(self.clock.now()):
            return self._finish_error(repos, record, self._locked_error(repos, user))
        if count and self.observer is not None:
            self.observer.before_verify(repos, user.identifier)
        signatures = repos.signatures
        refs = signatures.reference_refs(user.pk)
        references = [self._sample(repos, s) for s in refs]
        recent = [
            self._sample(repos, s, features=False)
            for s in signatures.earlier_sample_refs(user.pk, REPLAY_HISTORY)
        ]
        grown = any(s.from_update for s in refs)
        return _VerifyInputs(user.pk, tuple(references), tuple(recent), grown)

    def verify_signature(self, pending: PendingVerification) -> Verification:
        """The verifier's part of `submit_signature`, outside any transaction.

        The DTW takes milliseconds; inside the step's transaction it held SQLite's write lock
        (every other request of every process waited) or the request row's lock. The page's
        nonce was used up by the first transaction, so this submission cannot be replayed
        meanwhile."""
        probe = derived_sample(None, pending.capture)
        started = time.perf_counter()
        inputs = pending.inputs
        decision = self.samples.decide(probe, inputs.references, inputs.recent, inputs.grown)
        return Verification(pending, probe, decision, time.perf_counter() - started)

    def record_verification(self, verification: Verification) -> Outcome:
        """The decision recorded in a second transaction, which checks again that the request
        is still at this step for this user, and that the user's stored samples are still the
        ones compared (another sign-in of the same user may have added one): if not, it
        compares again, inside."""
        try:
            return self._record_verification(verification)
        except ReferenceTaken as taken:  # the signature's checkout
            return self._reference_taken(verification.pending.handle, taken)

    def _record_verification(self, verification: Verification) -> Outcome:
        pending, probe = verification.pending, verification.probe
        decision, seconds = verification.decision, verification.seconds
        inputs = pending.inputs
        with self.uow() as repos:
            record = self._load(repos, pending.handle)
            if record.step != "verify" or record.user_pk != inputs.user_pk:
                return Outcome(again=True)
            now_inputs = self._verify_inputs(repos, record, count=False)
            if isinstance(now_inputs, Outcome):
                return now_inputs
            if not now_inputs.same_samples(inputs):
                started = time.perf_counter()
                decision = self.samples.decide(
                    probe, now_inputs.references, now_inputs.recent, now_inputs.grown
                )
                seconds = time.perf_counter() - started
            return self._record_decision(repos, record, pending.capture, probe, decision, seconds)

    def _record_decision(
        self,
        repos: Repos,
        record: AuthRequestRecord,
        capture: Capture,
        probe: Sample,
        decision: Decision,
        seconds: float,
    ) -> Outcome:
        now = self.clock.now()
        user_pk = record.user_pk
        assert user_pk is not None  # its user was read by `_verify_inputs` in this transaction
        repos.attempts.record(
            user_pk,
            record.client_pk,
            now,
            decision.accepted,
            decision.reason,
            decision.score,
            decision.threshold,
        )
        if not decision.accepted:
            failures = repos.attempts.failures_since(user_pk, now - self.policy.lockout_window)
            if self.observer is not None:
                outcome = "replay" if decision.reason == "replay" else "rejected"
                self.observer.verified(outcome, seconds, failures >= self.policy.lockout_failures)
            if failures >= self.policy.lockout_failures:
                until = now + self.policy.lockout_duration
                repos.users.lock(user_pk, until)
                return self._finish_error(repos, record, _refused_lock_error(until))
            left = self.policy.lockout_failures - failures
            message = (
                "That signature is a copy of an earlier one. Please sign again by hand."
                if decision.reason == "replay"
                else "That signature did not match the one we know. Please sign again."
            )
            repos.requests.update(
                record.handle_digest,
                message=f"{message} {left} {'try' if left == 1 else 'tries'} left.",
            )
            return Outcome(again=True)
        if self.observer is not None:
            self.observer.verified("accepted", seconds, False)
        data = encode_capture(capture)
        signed_pk = self._store_signature(repos, user_pk, "signed", capture, now, probe, data)
        if self.verifier.template_update_ok(decision):
            self._store_signature(repos, user_pk, "reference", capture, now, probe, data)
            repos.signatures.retire_oldest_references(user_pk, self.policy.max_references)
        return self._finish_success(repos, record, user_pk, signed_pk, now)

    def _unseal(self, pk: int, sealed: bytes) -> Capture:
        return decode_capture(self.keys.unseal(sealed, _signature_aad(pk)))

    def _sample(self, repos: Repos, ref: SignatureRef, *, features: bool = True) -> Sample:
        """A stored row's derived data; its sealed data is read, decrypted and decoded only the
        first time this process sees the row."""

        def load() -> Capture:
            row = repos.signatures.by_pk(ref.pk)
            assert row is not None  # listed in this transaction
            return self._unseal(row.pk, row.sealed)

        return self.samples.get(_sample_key(ref.pk, ref.tag), load, features=features)

    def signature_capture(self, signature_pk: int) -> Capture | None:
        with self.uow.read() as repos:
            record = repos.signatures.by_pk(signature_pk)
        return None if record is None else self._unseal(record.pk, record.sealed)

    # -- finishing ---------------------------------------------------------------------------

    def _finish_success(
        self,
        repos: Repos,
        record: AuthRequestRecord,
        user_pk: int,
        signature_pk: int | None,
        now: datetime,
    ) -> Outcome:
        if wants_bank_account(record.scopes):
            # SPEC 1, 2: this signature signs the mandate; `payment` is taken here and now.
            refused = (
                self.payments.complete_signin(repos, record, user_pk, signature_pk, now)
                if self.payments is not None and signature_pk is not None
                else errors.access_denied("Payments are not available on this server.")
            )
            if refused is not None:
                return self._finish_error(repos, record, refused)
        code = self.oauth.issue_code(repos, record, user_pk, signature_pk, now)
        repos.requests.delete(record.handle_digest)
        params = {"code": code, "state": record.state}
        if self.policy.issuer:
            params["iss"] = self.policy.issuer  # RFC 9207, native JSON answers too
        if is_native_redirect(record.redirect_uri):
            return Outcome(native_json=params, status=200)
        return Outcome(redirect_to=authorization_redirect(record.redirect_uri, params))

    def _finish_error(
        self, repos: Repos, record: AuthRequestRecord, error: errors.OAuthError
    ) -> Outcome:
        repos.requests.delete(record.handle_digest)
        if is_native_redirect(record.redirect_uri):
            body = {**error.body(), "state": record.state}
            if self.policy.issuer:
                body["iss"] = self.policy.issuer
            return Outcome(native_json=body, status=error.status)
        params = {**error.body(), "state": record.state}
        if self.policy.issuer:
            params["iss"] = self.policy.issuer
        return Outcome(redirect_to=authorization_redirect(record.redirect_uri, params))

    def client_of(self, handle: str) -> ClientRecord | None:
        with self.uow.read() as repos:
            try:
                record = self._load(repos, handle)
            except SignInPageGone:
                return None
            return repos.clients.by_pk(record.client_pk)


@dataclass(frozen=True, repr=False)
class PendingVerification:
    """A signature taken (`SignInFlow.take_signature`) whose verification is still to run."""

    handle: str
    capture: Capture
    inputs: _VerifyInputs


@dataclass(frozen=True, repr=False)
class Verification:
    """The verifier's decision on a pending signature, still to be recorded."""

    pending: PendingVerification
    probe: Sample
    decision: Decision
    seconds: float


@dataclass(frozen=True)
class _VerifyInputs:
    """What a verification compares, read in the step's first transaction."""

    user_pk: int
    references: tuple[Sample, ...]
    recent: tuple[Sample, ...]
    #: Template updates added some of the references: they are scored with the model learnt
    #: for grown sets, whatever AUTHATURE_ENROLL_SAMPLES says now (docs/biometrics.md).
    grown: bool = False

    def same_samples(self, other: _VerifyInputs) -> bool:
        keys = [s.key for s in self.references], [s.key for s in self.recent]
        return keys == ([s.key for s in other.references], [s.key for s in other.recent])


def _signature_aad(pk: int) -> bytes:
    return f"signature:{pk}".encode()


def _sample_key(pk: int, sealed: bytes) -> tuple[int, bytes]:
    """A cache key bound to the row's content, not only its id: SQLite may give a rolled-back
    row's id to the next row, and each seal starts with a fresh random nonce."""
    return pk, sealed[:SEAL_TAG_BYTES]


def _refused_lock_error(until: datetime) -> errors.OAuthError:
    return errors.access_denied(
        f"Too many signatures were refused; the account is locked until {_utc(until)}."
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _origin(uri: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def _read_capture(capture_json: str) -> tuple[Capture | None, str | None]:
    if not capture_json:
        return None, "Please sign in the box first."
    if len(capture_json) > 2_000_000:
        return None, "That signature is too large to send. Please sign again."
    try:
        payload = json.loads(capture_json)
    except (ValueError, RecursionError):
        return None, "The signature could not be read. Please clear the box and sign again."
    try:
        capture = parse_capture_payload(payload)
    except CaptureError as exc:
        return None, str(exc)
    problem = quality_problem(capture)
    if problem is not None:
        return None, problem
    return capture, None


def scopes_for_display(scopes: Sequence[str]) -> list[tuple[str, str]]:
    return [(s, SCOPE_SENTENCES[s]) for s in scopes]
