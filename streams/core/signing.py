"""Ed25519 signing keys, their key ids, and the public key set (a JWK Set) verifiers trust.

Private key material never appears in a repr, an exception message or a log line; a key file
that group or others can access is refused rather than used. docs/proof-format.md describes the
key id rule and the key set format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from streams.core.errors import CredlinkError, SetupError
from streams.core.files import replace_file

__all__ = [
    "KeySet",
    "Signer",
    "UnknownKey",
    "b64url_decode",
    "b64url_encode",
    "generate_key_pair",
    "key_id",
    "load_key_set",
    "load_private_key",
    "load_private_key_pem",
]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_PUBLIC_KEY_SET_MODE = 0o644


class UnknownKey(CredlinkError):
    """The key id is not in the key set, so the signature cannot be checked at all."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no key with id {key_id!r} in the key set")
        self.key_id = key_id


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2), as JWKs and proof signatures use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The inverse of `b64url_encode`; anything but its exact output raises `ValueError`."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url text")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not unpadded base64url text") from None
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url text (stray trailing bits)")
    return data


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's fingerprint: hex of the first 16 bytes of SHA-256 over the raw 32-byte key."""
    return hashlib.sha256(public_key.public_bytes_raw()).digest()[:16].hex()


class Signer:
    """Signs bytes with one Ed25519 private key; knows the id verifiers look the key up by."""

    __slots__ = ("_private_key", "key_id")

    key_id: str

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.key_id = key_id(private_key.public_key())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data` (deterministic: same data, same bytes)."""
        return self._private_key.sign(data)

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"


class KeySet:
    """The public keys a verifier trusts, by key id; serialised as a JWK Set (RFC 7517/8037)."""

    __slots__ = ("_keys",)

    def __init__(self, public_keys: Iterable[Ed25519PublicKey] = ()) -> None:
        self._keys: Mapping[str, Ed25519PublicKey] = MappingProxyType(
            {key_id(public_key): public_key for public_key in public_keys}
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> KeySet:
        """Parse a JWK Set of Ed25519 public keys; raises `ValueError` on anything else."""
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"key set is not JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError('key set must be a JSON object with a "keys" array')
        return cls(_public_key_from_jwk(jwk, index) for index, jwk in enumerate(document["keys"]))

    def to_json(self) -> str:
        """The JWK Set, keys ordered by id, indented for people reading the file."""
        jwks = [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64url_encode(public_key.public_bytes_raw()),
                "kid": kid,
                "alg": "EdDSA",
                "use": "sig",
            }
            for kid, public_key in sorted(self._keys.items())
        ]
        return json.dumps({"keys": jwks}, indent=2) + "\n"

    def with_key(self, public_key: Ed25519PublicKey) -> KeySet:
        """A key set holding these keys and `public_key`."""
        return KeySet([*self._keys.values(), public_key])

    def public_key(self, kid: str) -> Ed25519PublicKey:
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownKey(kid) from None

    def verify(self, kid: str, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is the signature of `data` by key `kid`.

        Raises `UnknownKey` when `kid` is not in the set: that is "cannot tell", not "forged".
        """
        try:
            self.public_key(kid).verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet(key_ids={sorted(self._keys)!r})"


def load_key_set(path: Path) -> KeySet:
    """Read the JWK Set file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"key set file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"key set file {path} cannot be read: {exc}") from None
    try:
        return KeySet.from_json(text)
    except ValueError as exc:
        raise SetupError(f"key set file {path} is not a valid Ed25519 JWK Set: {exc}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an unencrypted PEM Ed25519 private key from a file only its owner can access."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SetupError(f"private key file {path} does not exist") from None
    except OSError as exc:
        raise SetupError(f"private key file {path} cannot be opened: {exc.strerror}") from None
    try:
        # Checked on the open descriptor, so the file read is the file checked.
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise SetupError(f"private key file {path} is not a regular file")
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            raise SetupError(
                f"private key file {path} is accessible to group or others (mode {mode:04o}); "
                f"restrict it with `chmod 600 {path}`"
            )
        with open(fd, "rb", closefd=False) as key_file:
            pem = key_file.read()
    finally:
        os.close(fd)
    return _parse_private_key(pem, f"private key file {path}")


def load_private_key_pem(pem_text: str) -> Ed25519PrivateKey:
    """Parse an unencrypted PEM Ed25519 private key handed over as text (e.g. a secret)."""
    return _parse_private_key(pem_text.encode("utf-8"), "the private key PEM text")


def generate_key_pair(private_path: Path, keyset_path: Path) -> str:
    """Create a new signing key at `private_path` and add its public key to `keyset_path`.

    The private key file is created with mode 0600 in the same system call that creates it,
    and an existing file is never overwritten. The key set file is created or merged into,
    and replaced atomically. Returns the new key id.
    """
    keyset = load_key_set(keyset_path) if keyset_path.exists() else KeySet()
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise SetupError(
            f"private key file {private_path} already exists; move it away to generate a new key"
        ) from None
    try:
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(pem)
            key_file.flush()
            os.fsync(key_file.fileno())
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    replace_file(
        keyset_path, keyset.with_key(private_key.public_key()).to_json(), _PUBLIC_KEY_SET_MODE
    )
    return key_id(private_key.public_key())


def _parse_private_key(pem: bytes, source: str) -> Ed25519PrivateKey:
    # Errors are re-raised without their cause: parser messages may quote the input.
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise SetupError(f"{source} is encrypted; provide an unencrypted PKCS#8 PEM") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SetupError(f"{source} is not a PEM-encoded private key") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SetupError(f"{source} holds a {type(private_key).__name__}, not an Ed25519 key")
    return private_key


def _public_key_from_jwk(jwk: object, index: int) -> Ed25519PublicKey:
    where = f"keys[{index}]"
    if not isinstance(jwk, dict):
        raise ValueError(f"{where} is not a JSON object")
    if "d" in jwk:
        raise ValueError(f"{where} contains private key material; publish public keys only")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError(f'{where} is not an Ed25519 key ("kty": "OKP", "crv": "Ed25519")')
    if jwk.get("alg", "EdDSA") != "EdDSA" or jwk.get("use", "sig") != "sig":
        raise ValueError(f'{where} is not a signature key ("alg": "EdDSA", "use": "sig")')
    x = jwk.get("x")
    if not isinstance(x, str):
        raise ValueError(f'{where} has no "x" member')
    try:
        public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(x))
    except ValueError:
        raise ValueError(f'{where} "x" is not a base64url-encoded 32-byte public key') from None
    if jwk.get("kid") != key_id(public_key):
        raise ValueError(f'{where} "kid" is not the key\'s fingerprint {key_id(public_key)}')
    return public_key
