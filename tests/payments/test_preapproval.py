"""Preapproval over real HTTP: the bank step, the mandate the signature signs, then the
documented pre-authorize (SPEC 3.5) and capture (SPEC 3.6) with their refusals (SPEC 4)."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from support.payments import (
    IBAN,
    REDIRECT,
    authorize,
    capture,
    enroll_payer,
    genuine,
    sign_enrollment,
    submit_bank,
    to_bank_step,
)
from support.server import LiveServer
from support.signin import Page, authorize_url, capture_json, follow, post

from authature.store import models

pytestmark = pytest.mark.data


def _count(server: LiveServer, model: type[models.Base]) -> int:
    with server.services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_bad_iban_is_refused_with_a_sentence_and_nothing_is_stored(
    live_server: LiveServer,
) -> None:
    new = live_server.create_client([REDIRECT], scopes="preapproval,authenticate")
    url = authorize_url(new.client.client_id, REDIRECT, scope="preapproval")
    with live_server.http() as http:
        page = to_bank_step(http, url, "bad-iban@example.com")
        for iban, sentence in [
            ("DE89 3704 0044 0532 0130 01", "check digits do not match"),
            ("XX89 3704 0044 0532 0130 00", "known country code"),
            ("DE89 3704 0044 0532 0130", "wrong number of characters"),
            ("DE89-3704!", "yours contains '!' (exclamation mark)"),
            ("US64 SVBK US6S 3300 9588 79", "United States (US) does not use IBANs"),
            ("BR18 0036 0305 0000 1000 9795 493C 1", "outside the SEPA zone"),
            ("", "Please enter your IBAN"),
        ]:
            result = submit_bank(http, page, iban=iban)
            assert isinstance(result, Page)
            assert result.status_code == 400
            assert sentence in html.unescape(result.status), result.status
            assert 'data-testid="bank-form"' in result.html
            # What was typed stays in the field (this answer only), so a typo can be mended.
            assert f'value="{html.escape(iban)}"' in result.html
            page = result
        # ... and is not stored: the page shown again afterwards has an empty field.
        again = http.get(page.url)
        assert again.status_code == 200 and 'id="iban"' in again.text
        assert "BR18" not in again.text
        page = Page(page.url, again.text, again.status_code)  # the fresh page's nonce
        result = submit_bank(http, page, holder="  ")
        assert isinstance(result, Page) and "account holder" in result.status
    assert _count(live_server, models.BankAccount) == 0
    assert _count(live_server, models.Mandate) == 0
    assert _count(live_server, models.User) == 0


@pytest.mark.parametrize(
    "typed",
    [
        "DE89-3704-0044-0532-0130-00",  # hyphens between the groups
        "de89.3704.0044.0532.0130.00",  # dots, lower case
        "IBAN-Nr. DE89 3704 0044 0532 0130 00",  # labels and the BIC copied along
        "DE 89 37040044 0532013000 IBAN",
        "IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX",
        "\uff24\uff25\uff18\uff19 3704 0044 0532 0130 00",  # full-width
        "DE89\u200b3704\u00a00044 0532\u200e0130 00",  # copied from a web page or a PDF
    ],
)
def test_an_iban_typed_with_separators_or_invisible_characters_is_read(
    live_server: LiveServer, typed: str
) -> None:
    new = live_server.create_client([REDIRECT], scopes="preapproval,authenticate")
    url = authorize_url(new.client.client_id, REDIRECT, scope="preapproval")
    with live_server.http() as http:
        page = to_bank_step(http, url, "separators@example.com")
        result = submit_bank(http, page, iban=typed)
        assert isinstance(result, Page) and result.status_code == 200, result
        assert 'data-testid="signature-pad"' in result.html
        assert "3000" in result.html  # the mandate names the account by its last four


def test_the_mandate_is_shown_above_the_pad_and_signed_by_the_signature(
    live_server: LiveServer,
) -> None:
    new = live_server.create_client([REDIRECT], scopes="preapproval,authenticate")
    url = authorize_url(new.client.client_id, REDIRECT, scope="preapproval", device_uid="d-1")
    with live_server.http() as http:
        page = submit_bank(http, to_bank_step(http, url, "mandate@example.com"))
        assert isinstance(page, Page)
        html = page.html
        assert html.index('data-testid="mandate-text"') < html.index('data-testid="signature-pad"')
        text = re.search(r'data-testid="mandate-text">(.*?)</pre>', html, re.S)
        assert text is not None
        shown = text.group(1)
        assert "SEPA Direct Debit Mandate" in shown
        assert "Creditor: Test Shop" in shown
        assert "Debtor: Ada Lovelace" in shown
        assert "**** **** **** 3000" in shown
        assert "you authorise (A) Test Shop to send instructions to your bank" in shown
        assert "A refund must be claimed within 8 weeks" in shown
        reference = re.search(r"Mandate reference: (ATH-[A-Z0-9]{16})", shown)
        assert reference is not None
        done = sign_enrollment(http, page, genuine(1, 1, 2, 3))
        assert done.status_code == 302 and "code=" in done.headers["location"]
    with live_server.services.database.engine.connect() as conn:
        mandate = conn.execute(select(models.Mandate)).one()
        signature = conn.execute(
            select(models.Signature).where(models.Signature.pk == mandate.signature_pk)
        ).one()
        account = conn.execute(select(models.BankAccount)).one()
    assert mandate.reference == reference.group(1)
    assert mandate.kind == "recurrent"
    assert mandate.text == shown.replace("&#39;", "'")
    assert mandate.text_sha256 == hashlib.sha256(mandate.text.encode()).hexdigest()
    assert signature.role == "signed" and signature.mandate_sha256 == mandate.text_sha256
    assert (account.iban_last4, account.holder_name, account.verified) == (
        "3000",
        "Ada Lovelace",
        True,
    )
    assert not account.flagged_for_review


def test_preapproval_authorize_then_capture_gives_a_purchase_once(
    live_server: LiveServer,
) -> None:
    payer = enroll_payer(live_server)
    with live_server.http() as http:
        r = authorize(http, payer)
        assert r.status_code == 201, r.text
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        assert list(r.json()) == ["authorization_id"]
        authorization_id = r.json()["authorization_id"]
        assert re.fullmatch(r"[0-9a-f]{24}", authorization_id)
        c = capture(http, payer, authorization_id, "1234")
        assert c.status_code == 201, c.text
        assert list(c.json()) == ["purchase_id"]
        assert re.fullmatch(r"[0-9a-f]{24}", c.json()["purchase_id"])
        again = capture(http, payer, authorization_id, "1234")
        assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
        # client_secret_post works like the token endpoint
        second = authorize(http, payer).json()["authorization_id"]
        post = http.post(
            f"/api/v2/payment/capture/{second}",
            data={
                "client_id": payer.client_id,
                "client_secret": payer.client_secret,
                "token": payer.token,
                "device_uid": payer.device_uid,
                "authorization_id": second,
                "ref_id": "order-2",
                "amount": "500",
            },
        )
        assert post.status_code == 201, post.text
    with live_server.services.database.engine.connect() as conn:
        rows = conn.execute(select(models.Purchase).order_by(models.Purchase.pk)).all()
    assert [(p.ref_id, p.amount_cents) for p in rows] == [("order-1", 1234), ("order-2", 500)]


def test_capture_refusals_change_nothing_stored(live_server: LiveServer) -> None:
    payer = enroll_payer(live_server)
    other = live_server.create_client([REDIRECT], scopes="preapproval,authenticate")
    assert other.client_secret
    with live_server.http() as http:
        authorization_id = authorize(http, payer).json()["authorization_id"]
        for response, status, error in [
            # SPEC 4 rules, in order
            (
                capture(http, payer, authorization_id, "500001"),
                403,
                "BELOW_GLOBAL_TRANSACTION_LIMIT",
            ),
            (
                capture(http, payer, authorization_id, "100001"),
                403,
                "BELOW_CONSUMER_TRANSACTION_LIMIT",
            ),
            # another client's credentials, another device, bad input
            (
                capture(
                    http,
                    payer,
                    authorization_id,
                    auth=(other.client.client_id, other.client_secret),
                ),
                400,
                "invalid_grant",
            ),
            (capture(http, payer, authorization_id, device_uid="device-2"), 400, "invalid_grant"),
            (capture(http, payer, authorization_id, "12.50"), 400, "invalid_request"),
            (capture(http, payer, authorization_id, "0"), 400, "invalid_request"),
            (capture(http, payer, "0" * 24), 400, "invalid_grant"),
            (
                capture(http, payer, authorization_id, auth=(payer.client_id, "wrong")),
                401,
                "invalid_client",
            ),
        ]:
            assert (response.status_code, response.json()["error"]) == (status, error), (
                response.text
            )
            assert response.json()["error_description"]
        mismatch = http.post(
            f"/api/v2/payment/capture/{authorization_id}",
            auth=(payer.client_id, payer.client_secret),
            data={
                "token": payer.token,
                "device_uid": payer.device_uid,
                "authorization_id": "1" * 24,
                "ref_id": "o",
                "amount": "1",
            },
        )
        assert (mismatch.status_code, mismatch.json()["error"]) == (400, "invalid_request")
        assert _count(live_server, models.Purchase) == 0
        ok = capture(http, payer, authorization_id, "100000")  # exactly the limit passes
        assert ok.status_code == 201, ok.text


def test_a_non_ascii_amount_is_named_by_its_code_points(live_server: LiveServer) -> None:
    """Arabic-Indic digits are digits to str.isdigit, not to us: the refusal shows what came
    (RFC 6749 5.2 allows only ASCII in error_description), not "???"."""
    payer = enroll_payer(live_server)
    with live_server.http() as http:
        authorization_id = authorize(http, payer).json()["authorization_id"]
        r = capture(http, payer, authorization_id, "\u0661\u0662\u0663")
        long = capture(http, payer, authorization_id, "1" * 30)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    assert r.json()["error_description"].endswith("; <U+0661><U+0662><U+0663> is not.")
    assert long.json()["error_description"].endswith("; " + "1" * 24 + "... is not.")
    assert _count(live_server, models.Purchase) == 0


def test_authorize_refuses_wrong_client_device_scope_and_token(live_server: LiveServer) -> None:
    payer = enroll_payer(live_server)
    with live_server.http() as http:
        for response, error in [
            (authorize(http, payer, client_id="someone-else"), "invalid_token"),
            (authorize(http, payer, device_uid="device-2"), "invalid_token"),
        ]:
            assert (response.status_code, response.json()["error"]) == (400, error)
        bad = http.post(
            "/api/v2/payment/authorize",
            headers={"Authorization": "Bearer " + "0" * 64},
            data={"client_id": payer.client_id, "device_uid": payer.device_uid},
        )
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_token")
        missing = http.post(
            "/api/v2/payment/authorize",
            headers={"Authorization": f"Bearer {payer.token}"},
            data={"client_id": payer.client_id},
        )
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert _count(live_server, models.PaymentAuthorization) == 0


def test_a_token_without_preapproval_cannot_authorize(live_server: LiveServer) -> None:
    from support.signin import enroll, redirect_params

    new = live_server.create_client([REDIRECT], scopes="preapproval,authenticate")
    assert new.client_secret
    with live_server.http() as http:
        done = enroll(
            http,
            authorize_url(new.client.client_id, REDIRECT, scope="authenticate", device_uid="d"),
            "plain@example.com",
            genuine(2, 1, 2, 3),
        )
        code = redirect_params(done)["code"]
        token = http.post(
            "/oauth/token",
            auth=(new.client.client_id, new.client_secret),
            data={"client_id": new.client.client_id, "redirect_uri": REDIRECT, "code": code},
        ).json()["access_token"]["token"]
        r = http.post(
            "/api/v2/payment/authorize",
            headers={"Authorization": f"Bearer {token}"},
            data={"client_id": new.client.client_id, "device_uid": "d"},
        )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_token")
    assert "preapproval" in r.json()["error_description"]


def test_iban_never_appears_in_clear_in_the_database_or_the_logs(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    new = live_server.create_client([REDIRECT], scopes="preapproval,authenticate")
    url = authorize_url(new.client.client_id, REDIRECT, scope="preapproval", device_uid="d-1")
    forms = {IBAN, IBAN.replace(" ", ""), IBAN.replace(" ", "").lower(), "370400440532013000"}

    def dump() -> str:
        texts = []
        with live_server.services.database.engine.connect() as conn:
            for table in models.Base.metadata.sorted_tables:
                for row in conn.execute(select(table)):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            texts.append(bytes(value).decode("latin-1"))
                        else:
                            texts.append(str(value))
        return "\n".join(texts)

    with live_server.http() as http:
        page = submit_bank(http, to_bank_step(http, url, "secret@example.com"))
        assert isinstance(page, Page)
        pending = dump()  # the request row holds the typed IBAN, sealed
        done = sign_enrollment(http, page, genuine(3, 1, 2, 3))
        assert done.status_code == 302
    stored = dump()
    assert "3000" in stored  # the last four, for display
    for text in (pending, stored, caplog.text):
        for form in forms:
            assert form not in text


def _sign_until_accepted(http: httpx.Client, page: Page, samples: list[Path]) -> httpx.Response:
    """A known user signs genuine samples in turn, as a person retries after a refusal."""
    for sample in samples:
        data = {"capture": capture_json(sample)}
        result = follow(http, page, post(http, page, "signature", data))
        if not isinstance(result, Page):
            return result
        page = result  # refused: the page asks for another signature
    raise AssertionError(f"still not accepted: {page.status}")


def test_a_known_user_confirms_the_account_on_file_and_signs_a_new_mandate(
    live_server: LiveServer,
) -> None:
    payer = enroll_payer(live_server, user=5, identifier="again@example.com")
    url = authorize_url(payer.client_id, REDIRECT, scope="preapproval", device_uid="device-1")
    with live_server.http() as http:
        page = to_bank_step(http, url, "again@example.com")
        assert 'data-testid="bank-on-file">**** **** **** 3000<' in page.html
        result = follow(http, page, post(http, page, "bank", {"account": "on_file"}))
        assert isinstance(result, Page)
        assert "Creditor: Test Shop" in result.html and "**** **** **** 3000" in result.html
        done = _sign_until_accepted(http, result, genuine(5, 6, 7, 8, 9))
        assert "code=" in done.headers["location"]
        # The same IBAN typed again, the holder spelled differently: the account is reused and
        # the stored mandate is the text the page showed.
        page = to_bank_step(http, url, "again@example.com")
        result = submit_bank(http, page, holder="A. Lovelace")
        assert isinstance(result, Page)
        shown = re.search(r'data-testid="mandate-text">(.*?)</pre>', result.html, re.S)
        assert shown is not None and "Debtor: A. Lovelace" in shown.group(1)
        done = _sign_until_accepted(http, result, genuine(5, 10, 11, 12, 13))
        assert "code=" in done.headers["location"]
    assert _count(live_server, models.BankAccount) == 1
    with live_server.services.database.engine.connect() as conn:
        texts = conn.execute(select(models.Mandate.text).order_by(models.Mandate.pk)).scalars()
        mandates = list(texts)
    assert len(mandates) == 3
    assert mandates[-1] == shown.group(1).replace("&#39;", "'")


def test_a_one_off_checkout_leaves_the_recurrent_mandate_in_force(live_server: LiveServer) -> None:
    """SPEC 1: after preapproval the client charges later without a new signature; a one-off
    payment at the same shop signs a one-off mandate, which must not replace it."""
    payer = enroll_payer(live_server, user=6, identifier="both@example.com")
    with live_server.http() as http:
        before = authorize(http, payer)
        assert before.status_code == 201, before.text
        url = authorize_url(
            payer.client_id,
            REDIRECT,
            scope="payment",
            device_uid="device-1",
            ref_id="order-once",
            amount="500",
        )
        page = to_bank_step(http, url, "both@example.com")
        result = follow(http, page, post(http, page, "bank", {"account": "on_file"}))
        assert isinstance(result, Page)
        done = _sign_until_accepted(http, result, genuine(6, 6, 7, 8, 9))
        assert "code=" in done.headers["location"], done.headers["location"]
        # The pre-authorization made before still captures, and new ones can be made.
        captured = capture(http, payer, before.json()["authorization_id"], amount="100")
        assert captured.status_code == 201, captured.text
        after = authorize(http, payer)
        assert after.status_code == 201, after.text
    with live_server.services.database.engine.connect() as conn:
        kinds = list(
            conn.execute(select(models.Mandate.kind).order_by(models.Mandate.pk)).scalars()
        )
    assert kinds == ["recurrent", "one-off"]


def test_preapproval_taken_from_the_client_stops_its_tokens_charging(
    live_server: LiveServer,
) -> None:
    payer = enroll_payer(live_server, user=7, identifier="narrowed@example.com")
    with live_server.http() as http:
        before = authorize(http, payer)
        assert before.status_code == 201, before.text
        live_server.set_client_scopes(payer.client_id, "payment,authenticate")
        refused = authorize(http, payer)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_token")
        assert "no longer registered" in refused.json()["error_description"]
        captured = capture(http, payer, before.json()["authorization_id"])
        assert (captured.status_code, captured.json()["error"]) == (400, "invalid_token")
    assert _count(live_server, models.Purchase) == 0
