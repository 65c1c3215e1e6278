"""Server keys: the HMAC key for stored secrets and the AES-GCM key for biometric data.

Keys come from configuration (base64) or are generated into the data folder on first start. File
creation uses O_EXCL so that several processes starting together agree on one key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authature.config import ConfigError, Settings

_SEAL_VERSION = b"\x01"
# Every sealed blob starts with the version byte and its random 96-bit nonce: a tag that names
# one sealing, so derived data can be cached by (row, tag) without reading the blob.
SEAL_TAG_BYTES = 1 + 12


@dataclass(frozen=True, repr=False)
class Keys:
    """Holds key material; its repr never shows it."""

    hash_key: bytes
    encryption_key: bytes
    _aead: AESGCM = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.encryption_key))

    def __repr__(self) -> str:
        return "Keys(<hidden>)"

    def digest(self, secret: str, purpose: str) -> str:
        """Keyed SHA-256 of a long random secret (tokens, codes, client secrets).

        A slow password hash is not needed: the secrets have 128+ bits of entropy. The purpose is
        mixed in so a hash of one kind can never match a lookup of another.
        """
        mac = hmac.new(self.hash_key, purpose.encode() + b"\x00" + secret.encode(), hashlib.sha256)
        return mac.hexdigest()

    def matches(self, secret: str, purpose: str, stored_digest: str) -> bool:
        return hmac.compare_digest(self.digest(secret, purpose), stored_digest)

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """AES-256-GCM with a random 96-bit nonce; `associated` binds the blob to its row."""
        nonce = secrets.token_bytes(12)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated)

    def unseal(self, blob: bytes, associated: bytes) -> bytes:
        if blob[:1] != _SEAL_VERSION:
            raise ValueError("unknown sealed-data version")
        return self._aead.decrypt(blob[1:13], blob[13:], associated)


def _decode_key(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{name} must be base64") from exc
    if len(raw) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, got {len(raw)}")
    return raw


def _file_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(32)))
            fh.flush()
            os.fsync(fh.fileno())
    for _ in range(50):  # another process may be writing it right now
        data = path.read_bytes().strip()
        if data:
            return _decode_key(data.decode(), str(path))
        import time

        time.sleep(0.05)
    raise ConfigError(f"key file {path} is empty")


def load_keys(settings: Settings) -> Keys:
    key_dir = settings.data_dir / "keys"
    hash_key = (
        _decode_key(settings.secret_key_b64, "AUTHATURE_SECRET_KEY")
        if settings.secret_key_b64
        else _file_key(key_dir / "hash.key")
    )
    enc_key = (
        _decode_key(settings.encryption_key_b64, "AUTHATURE_ENCRYPTION_KEY")
        if settings.encryption_key_b64
        else _file_key(key_dir / "encryption.key")
    )
    return Keys(hash_key=hash_key, encryption_key=enc_key)
