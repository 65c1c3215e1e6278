"""The access log without bearer secrets.

SPEC 3.4 puts the access token in the URL path (``/oauth/signatures/<token>``) and the sign-in
page's handle is a path segment too, so uvicorn's default access line would write live
credentials into every log file. Tokens are stored only as hashes (docs/security.md); the log must
not undo that. This filter rewrites the request line of each access record before it is
formatted: secret path segments and secret query values become ``[redacted]``.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["RedactSecrets", "lean_log_records", "log_config", "redact_target"]

REDACTED = "[redacted]"
#: Path prefixes whose next segment is a bearer secret.
_SECRET_SEGMENTS = re.compile(r"^(/oauth/signatures/|/signin/)[^/?]+")
#: Query parameters whose value is a credential (RFC 6749 and SPEC 3 names).
_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "token",
        "refresh_token",
        "code",
        "client_secret",
        "code_verifier",
        "id_token_hint",
    }
)


def _secret(name: str) -> bool:
    # user_params[...] carry the person's e-mail address, names and mobile number: personal
    # data the access log has no need for.
    return name in _SECRET_PARAMS or name.startswith("user_params[")


def redact_target(target: str) -> str:
    """The request target (path and query) with every secret and personal value replaced."""
    path, sep, query = target.partition("?")
    path = _SECRET_SEGMENTS.sub(lambda m: m.group(1) + REDACTED, path)
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_secret(name) for name, _ in pairs):
        return f"{path}?{query}"
    cleaned = [(n, REDACTED if _secret(n) else v) for n, v in pairs]
    return f"{path}?{urlencode(cleaned, safe='[]')}"


class RedactSecrets(logging.Filter):
    """For uvicorn's access logger, whose args are (client, method, target, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up with the filter on the access handler (every worker)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    config["handlers"]["access"].setdefault("filters", []).append("redact_secrets")
    return config


def lean_log_records() -> None:
    """In a server worker: log records without the caller's file and line, thread and process.

    No format of `log_config` prints them (uvicorn's: level, message; access: client, request
    line, status), yet every record looked them up: walking the stack for the caller, a
    `getpid` system call, the thread's and process's names, about a tenth of a token check's
    CPU with one access line per request. The lines written are the same.
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the documented switch: findCaller() is then never called
