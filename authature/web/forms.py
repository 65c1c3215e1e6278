"""Reading request parameters: form bodies bounded in size, repeated parameters refused."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.requests import ClientDisconnect, Request

from authature.oauth import errors

MAX_FORM_BYTES = 1_000_000  # a signature capture is well under this
MAX_FIELD_CHARS = 600_000
_MAX_FIELDS = 100

log = logging.getLogger("authature")
# python-multipart (0.0.x) logs each malformed byte it meets as a warning ("Expected boundary
# character 45, got 112 at index 2") and then raises; the raise becomes our invalid_request
# answer, so its own lines are noise written from client input.
logging.getLogger("python_multipart").setLevel(logging.ERROR)


async def read_form(request: Request, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A urlencoded or multipart form as single values (RFC 6749 3.2: no repeated parameters)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise errors.invalid_request(f"The request body is larger than {max_bytes} bytes.")
    if content_type not in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        raise errors.invalid_request("Send the parameters as application/x-www-form-urlencoded.")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise errors.invalid_request(f"The request body is larger than {max_bytes} bytes.")
    except ClientDisconnect as exc:
        # The client went away before its Content-Length was reached: not a server error.
        # The answer (400) reaches no one, but it is what the metrics count.
        log.info("client disconnected mid-body on %s %s", request.method, request.url.path)
        raise errors.invalid_request("The request body ended early.") from exc
    if content_type == "multipart/form-data" and not _multipart_is_complete(
        request.headers.get("content-type", ""), body
    ):
        # python-multipart reads a body cut before its closing boundary as whatever parts it
        # finished (often none): the request would be judged on missing parameters.
        raise errors.invalid_request(
            "The multipart form body is incomplete (no closing boundary); send the whole "
            "body, or send the parameters as application/x-www-form-urlencoded."
        )
    request._body = bytes(body)  # let Starlette parse what we have already read
    try:
        # Files are let through the parser (in memory: the body is at most `max_bytes`) so that
        # a part with a filename is refused for what it is, below; max_files=0 made the parser
        # raise "Too many files", which read as an unparseable body.
        form = await request.form(
            max_files=_MAX_FIELDS, max_fields=_MAX_FIELDS, max_part_size=max_bytes
        )
    except Exception as exc:  # multipart parsing errors have several types
        raise errors.invalid_request("The form body could not be parsed.") from exc
    try:
        return _single_values(form.multi_items())
    finally:
        await form.close()


def _single_values(items: Iterable[tuple[str, object]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in items:
        if not isinstance(value, str):
            raise errors.invalid_request("File uploads are not accepted here.")
        if key in values:
            raise errors.invalid_request(f"The parameter {errors.quote(key)} is repeated.")
        if len(value) > MAX_FIELD_CHARS:
            raise errors.invalid_request(f"The parameter {errors.quote(key)} is too long.")
        values[key] = value
    return values


def _multipart_is_complete(content_type: str, body: bytes | bytearray) -> bool:
    """Whether ``body`` holds the closing delimiter of the boundary in ``content_type``.

    RFC 2046 5.1.1: ``CRLF "--" boundary "--"`` (at the very start when there are no parts),
    then optional transport padding (spaces, tabs) and either the end or CRLF and an epilogue,
    which is to be ignored.
    """
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            boundary = value.strip().strip('"').encode("latin-1", "replace")
            if not boundary:
                return False
            close = b"--" + boundary + b"--"
            data = bytes(body)
            at = data.find(close)
            while at != -1:
                if at == 0 or data[:at].endswith(b"\n"):
                    rest = data[at + len(close) :].lstrip(b" \t")
                    if not rest or rest.startswith((b"\r\n", b"\n")):
                        return True
                at = data.find(close, at + 1)
            return False
    return True  # no boundary at all: the parser itself refuses that


def single_query(request: Request) -> dict[str, str]:
    return single_items(request.query_params.multi_items())


def single_items(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters as single values: a repeated one is refused."""
    values: dict[str, str] = {}
    for key, value in items:
        if key in values:
            raise errors.invalid_request(f"The parameter {errors.quote(key)} is repeated.")
        values[key] = value
    return values
