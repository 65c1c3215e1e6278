"""The key that signs OpenID Connect id_tokens (ES256 on P-256, or RS256 when given an RSA key).

It comes from `AUTHATURE_SIGNING_KEY_FILE` (a PEM private key) or is generated into
`<data dir>/keys/signing.pem` on first start. Like `security.keys`, creation is exclusive so that
several processes starting together agree on one key: each writes a private temporary file
(O_EXCL) and publishes it with `os.link`, which fails if the name exists, so the key file appears
whole or not at all and the first process wins.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from authature.config import ConfigError, Settings

__all__ = ["SigningKey", "load_signing_key"]

SigningKey = ECKey | RSAKey


def _import(pem: bytes, where: str) -> SigningKey:
    errors: list[str] = []
    for key_type in (ECKey, RSAKey):
        try:
            key = key_type.import_key(pem)
        except (JoseError, ValueError, TypeError) as exc:
            errors.append(type(exc).__name__)
            continue
        if not key.is_private:
            raise ConfigError(f"{where} holds a public key; the signing key must be private")
        if isinstance(key, ECKey) and key.curve_name != "P-256":
            raise ConfigError(f"{where}: only the P-256 curve (ES256) is supported")
        if isinstance(key, RSAKey) and key.raw_value.key_size < 2048:
            raise ConfigError(f"{where}: an RSA signing key needs at least 2048 bits")
        return key
    raise ConfigError(f"{where} is not a PEM EC (P-256) or RSA private key")


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ECKey.generate_key("P-256").as_pem(private=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process published first: use its key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_signing_key(settings: Settings) -> SigningKey:
    if settings.signing_key_file is not None:
        path = settings.signing_key_file
        try:
            return _import(path.read_bytes(), str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read AUTHATURE_SIGNING_KEY_FILE {path}: {exc}") from exc
    path = settings.data_dir / "keys" / "signing.pem"
    if not path.exists():
        _generate(path)
    return _import(path.read_bytes(), str(path))
