"""API keys of the verify service: bearer tokens `<key id>.<secret>`, each scoped to one tenant.

The keys file is a JSON object `{key_id: {"tenant": ..., "sha256": hex}}` holding only the
SHA-256 of each secret, so a copy of the file grants nothing. A presented secret is hashed and
compared with `hmac.compare_digest`, in the same time whether or not the key id exists.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.core.errors import SetupError
from streams.core.files import replace_file

__all__ = ["ApiKey", "ApiKeys", "IssuedKey", "issue_api_key", "read_api_keys", "secret_sha256"]

log = logging.getLogger(__name__)

_KEY_ID = re.compile(r"ck_[0-9a-f]{16}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Only the alphabet keys are made of (`issue_api_key`): anything else in the header, a byte
# that is not UTF-8 included, is no key rather than an error.
_BEARER = re.compile(r"Bearer +([A-Za-z0-9_]{1,64})\.([A-Za-z0-9_-]{1,256})", re.IGNORECASE)
_FILE_MODE = 0o600
# Compared against when the key id is unknown, so an unknown id costs what a wrong secret does.
_NO_SUCH_KEY = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as the file holds it: the tenant it acts for and the SHA-256 of its secret."""

    key_id: str
    tenant: str
    sha256: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just made: the only moment its secret exists outside its holder's hands."""

    key_id: str
    tenant: str
    secret: str

    @property
    def token(self) -> str:
        """What the holder sends: `Authorization: Bearer <token>`."""
        return f"{self.key_id}.{self.secret}"


def secret_sha256(secret: str) -> str:
    """The lowercase hex SHA-256 of `secret` (UTF-8), as the keys file stores it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def read_api_keys(path: Path) -> dict[str, ApiKey]:
    """The keys in the file at `path`; a `SetupError` naming the problem if it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(
            f"API keys file {path} does not exist: `credlink keys api-key --tenant T` creates it"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"API keys file {path} cannot be read: {error}") from None
    try:
        return _parse(json.loads(text))
    except ValueError as error:
        raise SetupError(f"API keys file {path} is not valid: {error}") from None


class ApiKeys:
    """The keys of one file, read again when the file changes, so that keys added by
    `credlink keys api-key` work without a restart."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._version = _version(path)
        self._keys = read_api_keys(path)

    def __len__(self) -> int:
        return len(self._current())

    def tenant_of(self, authorization: str | None) -> str | None:
        """The tenant of the key in an `Authorization: Bearer <key id>.<secret>` header, or
        None when there is no such header, no such key or the secret is wrong."""
        match = _BEARER.fullmatch(authorization.strip()) if authorization else None
        if match is None:
            return None
        key_id, secret = match.groups()
        key = self._current().get(key_id)
        expected = key.sha256 if key is not None else _NO_SUCH_KEY
        genuine = hmac.compare_digest(secret_sha256(secret), expected)
        return key.tenant if genuine and key is not None else None

    def _current(self) -> dict[str, ApiKey]:
        version = _version(self._path)
        if version != self._version:
            try:
                self._keys = read_api_keys(self._path)
            except SetupError as error:
                # Half an edit by hand, or a file moved away: keep serving the keys last read.
                log.warning("verify service: keeping the API keys read before: %s", error)
            self._version = version
        return self._keys


def issue_api_key(path: Path, tenant: str) -> IssuedKey:
    """Make a key for `tenant` and add the hash of its secret to the file at `path` (created
    with mode 0600 if missing, replaced atomically, one writer at a time)."""
    if not tenant or any(unicodedata.category(char) in ("Cc", "Cf") for char in tenant):
        raise SetupError("--tenant must be a non-empty name without control characters")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        keys = read_api_keys(path) if path.exists() else {}
        issued = IssuedKey(
            key_id=f"ck_{secrets.token_hex(8)}", tenant=tenant, secret=secrets.token_urlsafe(32)
        )
        keys[issued.key_id] = ApiKey(issued.key_id, tenant, secret_sha256(issued.secret))
        replace_file(path, _dump(keys), _FILE_MODE)
    return issued


def _parse(document: object) -> dict[str, ApiKey]:
    if not isinstance(document, Mapping):
        raise ValueError("it is not a JSON object of key id -> {tenant, sha256}")
    keys = {}
    for key_id, fields in document.items():
        if not _KEY_ID.fullmatch(key_id):
            raise ValueError(f"{key_id!r} is not a key id (ck_ and 16 hex digits)")
        if not isinstance(fields, Mapping):
            raise ValueError(f"{key_id}: not a JSON object")
        tenant, sha256 = fields.get("tenant"), fields.get("sha256")
        if not isinstance(tenant, str) or not tenant:
            raise ValueError(f"{key_id}: tenant must be a non-empty string")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"{key_id}: sha256 must be 64 lowercase hex digits")
        keys[key_id] = ApiKey(key_id, tenant, sha256)
    return keys


def _dump(keys: Mapping[str, ApiKey]) -> str:
    document = {key.key_id: {"tenant": key.tenant, "sha256": key.sha256} for key in keys.values()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _version(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)
