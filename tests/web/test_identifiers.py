"""One address, one account: the identifier is canonicalised before it is looked up or stored
(NFC, lower case, internationalised domains as Unicode labels, as `plaintext.canonical_email`)."""

from __future__ import annotations

import unicodedata

import httpx
import pytest
from sqlalchemy import select
from support.data import svc2004_path
from support.server import LiveServer
from support.signin import Page, authorize_url, enroll, follow, open_page, post

from authature.store import models

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.data


def _step_for(http: httpx.Client, url: str, typed: str) -> str:
    page = open_page(http, url)
    result = follow(http, page, post(http, page, "identify", {"identifier": typed}))
    assert isinstance(result, Page), result
    return "verify" if "Sign to confirm it is you" in result.status else "enroll"


@pytest.mark.parametrize(
    ("enrolled", "later", "stored"),
    [
        (
            "zo\u00eb@example.com",
            unicodedata.normalize("NFD", "zo\u00eb@example.com"),
            "zo\u00eb@example.com",
        ),
        # What a browser's e-mail field sends for an internationalised domain.
        ("ada@ex\u00e4mple.com", "ada@xn--exmple-cua.com", "ada@ex\u00e4mple.com"),
        ("ada@xn--exmple-cua.com", "ADA@Ex\u00c4mple.com.", "ada@ex\u00e4mple.com"),
        # A ligature and full-width letters are the letters they look like (NFKC).
        ("\ufb01@example.com", "fi@example.com", "fi@example.com"),
        ("\uff21da@example.com", "ada@example.com", "ada@example.com"),
    ],
)
def test_the_same_address_written_another_way_is_the_same_account(
    live_server: LiveServer, enrolled: str, later: str, stored: str
) -> None:
    client = live_server.create_client([REDIRECT])
    url = authorize_url(client.client.client_id, REDIRECT)
    with live_server.http() as http:
        done = enroll(http, url, enrolled, [svc2004_path(5, n) for n in (1, 2, 3)])
        assert done.status_code == 302
        assert _step_for(http, url, later) == "verify"
    with live_server.services.database.engine.connect() as conn:
        identifiers = list(conn.execute(select(models.User.identifier)).scalars())
    assert identifiers == [stored]


@pytest.mark.parametrize(
    "typed",
    [
        "a@xn--zz.com",  # not a valid IDNA name
        "a..b@example.com",  # RFC 5322 dot-atom: no doubled dot
        ".a@example.com",
        "a.@example.com",
        "a@[127.0.0.1]",  # no address literals
        "a@1.2.3.4",
        "a@example.123",  # an all-digit top-level label
        "a@example.com/x",  # not a host name
        "a@ex_ample.com",
        "a@-ex.com",
        "a@" + "x" * 64 + ".com",  # a label of 64
        "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com",  # 309 characters, over 254
        'a"b@example.com',
    ],
)
def test_an_address_that_is_not_a_mailbox_is_asked_again(
    live_server: LiveServer, typed: str
) -> None:
    client = live_server.create_client([REDIRECT])
    url = authorize_url(client.client.client_id, REDIRECT)
    with live_server.http() as http:
        page = open_page(http, url)
        again = follow(http, page, post(http, page, "identify", {"identifier": typed}))
    assert isinstance(again, Page)
    assert "valid e-mail" in again.status


def test_the_e_mail_field_lets_a_browser_send_a_non_ascii_address(
    live_server: LiveServer,
) -> None:
    # type="email" made Chromium refuse "zoë@example.com" before sending it.
    client = live_server.create_client([REDIRECT])
    with live_server.http() as http:
        page = open_page(http, authorize_url(client.client.client_id, REDIRECT))
    assert 'id="identifier" name="identifier" type="text"' in page.html
    assert 'inputmode="email"' in page.html
