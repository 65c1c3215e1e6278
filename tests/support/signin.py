"""Driving the sign-in pages over HTTP, as a browser without JavaScript would (forms only).

The captures are real SVC2004 signatures converted to the page's JSON format; the browser tests
replay them as pointer events instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from authature.biometrics.svc2004 import to_payload

_NONCE = re.compile(r'name="nonce" value="([^"]+)"')
_STATUS = re.compile(r'data-testid="status"[^>]*>(.*?)</p>', re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Page:
    url: str
    html: str
    status_code: int

    @property
    def nonce(self) -> str:
        match = _NONCE.search(self.html)
        assert match, "the page has no nonce"
        return match.group(1)

    @property
    def status(self) -> str:
        match = _STATUS.search(self.html)
        assert match, "the page has no status region"
        return " ".join(_TAG.sub(" ", match.group(1)).split())


def authorize_url(
    client_id: str, redirect_uri: str, scope: str = "authenticate capture", **extra: str
) -> str:
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": extra.pop("state", "state-123"),
        "scope": scope,
        **extra,
    }
    return "/oauth/authorize?" + urlencode(params)


def open_page(http: httpx.Client, url: str) -> Page:
    response = http.get(url)
    assert response.status_code == 303, response.text
    page_url = response.headers["location"]
    return get_page(http, page_url)


def get_page(http: httpx.Client, page_url: str) -> Page:
    response = http.get(page_url)
    return Page(page_url, response.text, response.status_code)


def post(http: httpx.Client, page: Page, action: str, data: dict[str, str]) -> httpx.Response:
    return http.post(f"{page.url}/{action}", data={"nonce": page.nonce, **data})


def capture_json(path: Path) -> str:
    return json.dumps(to_payload(path))


def follow(http: httpx.Client, page: Page, response: httpx.Response) -> Page | httpx.Response:
    """The next page, or the final redirect to the client (returned as the response)."""
    if response.status_code == 303 and response.headers["location"].startswith("/signin/"):
        return get_page(http, response.headers["location"])
    if response.status_code == 400 and 'data-testid="status"' in response.text:
        return Page(page.url, response.text, 400)
    return response


def redirect_params(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def enroll(
    http: httpx.Client,
    url: str,
    identifier: str,
    samples: list[Path],
    first_name: str = "Ada",
    last_name: str = "Lovelace",
) -> httpx.Response:
    """A new user signs `samples`; returns the final redirect response."""
    page = open_page(http, url)
    result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    assert isinstance(result, Page)
    page = result
    for i, sample in enumerate(samples):
        data = {"capture": capture_json(sample)}
        if i == 0:
            data.update(first_name=first_name, last_name=last_name)
        result = follow(http, page, post(http, page, "signature", data))
        if not isinstance(result, Page):
            return result
        page = result
    raise AssertionError(f"enrollment did not finish; the page says: {page.status}")


def verify(http: httpx.Client, url: str, identifier: str, sample: Path) -> Page | httpx.Response:
    page = open_page(http, url)
    result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    if not isinstance(result, Page):
        return result  # refused at once (a locked user)
    return follow(http, result, post(http, result, "signature", {"capture": capture_json(sample)}))


def sign_in(
    http: httpx.Client, url: str, identifier: str, samples: list[Path]
) -> tuple[httpx.Response, int]:
    """A known user signs genuine `samples` in turn, as a person retries after a refusal.

    Returns the final redirect and how many signatures it took. For tests whose subject is not
    the verifier's accuracy: a genuine writer is sometimes refused (the verifier's FRR).
    """
    page = open_page(http, url)
    result = follow(http, page, post(http, page, "identify", {"identifier": identifier}))
    for attempt, sample in enumerate(samples, start=1):
        if not isinstance(result, Page):
            return result, attempt - 1
        result = follow(
            http, result, post(http, result, "signature", {"capture": capture_json(sample)})
        )
    assert not isinstance(result, Page), f"still not accepted: {result.status}"
    return result, len(samples)
