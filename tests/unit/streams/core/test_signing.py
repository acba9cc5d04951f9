"""Specification of `streams.core.signing` and `streams.core.proof_signature`, and of the
documented format."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from streams.core.errors import SetupError
from streams.core.imaging import ImageFacts
from streams.core.proof_document import ProofDocument, canonical_json, sign_proof
from streams.core.proof_signature import SignatureCheck, verify_signed_proof
from streams.core.signing import (
    KeySet,
    Signer,
    UnknownKey,
    b64url_decode,
    b64url_encode,
    generate_key_pair,
    key_id,
    load_key_set,
    load_private_key,
    load_private_key_pem,
)
from tests.support.paths import REPO
from tests.support.proving import FEATURES, WINDOWS

PROOF_FORMAT_DOC = REPO / "docs" / "proof-format.md"

FACTS = ImageFacts(
    sha256=hashlib.sha256(b"the image bytes").hexdigest(),
    phash="c3e1f0b09c8c8e1f",
    dhash="0e1c3870e0c18307",
    width=4000,
    height=3000,
    format="JPEG",
    byte_size=2_817_734,
)
DOCUMENT = ProofDocument.for_event(
    event_id="0b6f3c1e-5d0a-4c8e-9a57-3f2d7c1b9e40",
    tenant="acme",
    submitted_at_ms=1_718_000_000_000,
    source_uri="https://images.example.com/cat.jpg",
    image=FACTS,
    windows=WINDOWS,
    features=FEATURES,
)


def pem_of(private_key: Any, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    pem: bytes = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return pem


def write_key_file(path: Path, pem: bytes, mode: int) -> Path:
    path.write_bytes(pem)
    path.chmod(mode)
    return path


@pytest.fixture
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


@pytest.fixture
def keyset(signer: Signer) -> KeySet:
    return KeySet([signer.public_key])


@pytest.fixture
def no_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


class TestKeyId:
    def test_key_id_is_the_fingerprint_of_the_raw_public_key(self, signer: Signer) -> None:
        raw = signer.public_key.public_bytes_raw()

        assert key_id(signer.public_key) == hashlib.sha256(raw).digest()[:16].hex()
        assert signer.key_id == key_id(signer.public_key)
        assert re.fullmatch("[0-9a-f]{32}", signer.key_id)

    def test_different_keys_have_different_ids(self) -> None:
        ids = {Signer(Ed25519PrivateKey.generate()).key_id for _ in range(20)}

        assert len(ids) == 20


class TestSigner:
    def test_signature_is_deterministic_ed25519(self, signer: Signer) -> None:
        signature = signer.sign(b"data")

        assert len(signature) == 64
        assert signer.sign(b"data") == signature
        signer.public_key.verify(signature, b"data")

    def test_repr_shows_the_key_id_and_no_key_material(self) -> None:
        private_key = Ed25519PrivateKey.generate()
        secret = private_key.private_bytes_raw()
        pem_body = b"".join(pem_of(private_key).splitlines()[1:-1]).decode()

        shown = repr(Signer(private_key)) + str(Signer(private_key))

        assert key_id(private_key.public_key()) in shown
        for leak in (secret.hex(), b64url_encode(secret), pem_body, "PRIVATE"):
            assert leak not in shown


class TestKeySet:
    def test_verify_accepts_a_genuine_signature(self, signer: Signer, keyset: KeySet) -> None:
        assert keyset.verify(signer.key_id, b"data", signer.sign(b"data")) is True

    def test_verify_returns_false_for_a_bad_signature(self, signer: Signer, keyset: KeySet) -> None:
        assert keyset.verify(signer.key_id, b"other data", signer.sign(b"data")) is False
        assert keyset.verify(signer.key_id, b"data", b"\0" * 64) is False

    def test_verify_raises_unknown_key_for_a_key_outside_the_set(self, keyset: KeySet) -> None:
        stranger = Signer(Ed25519PrivateKey.generate())

        with pytest.raises(UnknownKey) as raised:
            keyset.verify(stranger.key_id, b"data", stranger.sign(b"data"))

        assert raised.value.key_id == stranger.key_id

    def test_jwk_set_json_follows_rfc_8037(self, signer: Signer, keyset: KeySet) -> None:
        jwks = json.loads(keyset.to_json())

        assert jwks == {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64url_encode(signer.public_key.public_bytes_raw()),
                    "kid": signer.key_id,
                    "alg": "EdDSA",
                    "use": "sig",
                }
            ]
        }

    def test_jwk_set_round_trips(self) -> None:
        keys = [Ed25519PrivateKey.generate().public_key() for _ in range(3)]
        keyset = KeySet(keys)

        parsed = KeySet.from_json(keyset.to_json())

        assert list(parsed) == list(keyset) == sorted(key_id(key) for key in keys)
        assert parsed.to_json() == keyset.to_json()

    def test_adding_a_key_keeps_the_others(self, signer: Signer, keyset: KeySet) -> None:
        new = Ed25519PrivateKey.generate().public_key()

        merged = keyset.with_key(new).with_key(new)

        assert len(merged) == 2
        assert signer.key_id in merged
        assert key_id(new) in merged

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"kid": "0" * 32}, "fingerprint"),
            ({"d": "c2VjcmV0"}, "private key material"),
            ({"kty": "EC"}, "not an Ed25519 key"),
            ({"crv": "X25519"}, "not an Ed25519 key"),
            ({"alg": "ES256"}, "not a signature key"),
            ({"use": "enc"}, "not a signature key"),
            ({"x": "AAAA"}, "32-byte"),
            ({"x": "not base64url!"}, "32-byte"),
        ],
    )
    def test_suspicious_jwk_is_refused(
        self, keyset: KeySet, change: dict[str, str], message: str
    ) -> None:
        jwks = json.loads(keyset.to_json())
        jwks["keys"][0].update(change)

        with pytest.raises(ValueError, match=message):
            KeySet.from_json(json.dumps(jwks))

    @pytest.mark.parametrize("text", ["", "[]", '{"keys": {}}', '{"keys": [1]}'])
    def test_text_that_is_not_a_jwk_set_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match=r"key set|keys\["):
            KeySet.from_json(text)

    def test_key_set_file_that_is_missing_or_invalid_is_a_setup_error(self, tmp_path: Path) -> None:
        broken = tmp_path / "keys.json"
        broken.write_text("{")

        with pytest.raises(SetupError, match="does not exist"):
            load_key_set(tmp_path / "absent.json")
        with pytest.raises(SetupError, match=re.escape(str(broken))):
            load_key_set(broken)


class TestPrivateKeyFile:
    @pytest.mark.parametrize("mode", [0o600, 0o400])
    def test_owner_only_key_file_loads(self, tmp_path: Path, mode: int) -> None:
        private_key = Ed25519PrivateKey.generate()
        path = write_key_file(tmp_path / "signing.pem", pem_of(private_key), mode)

        loaded = load_private_key(path)

        assert key_id(loaded.public_key()) == key_id(private_key.public_key())

    def test_key_file_readable_by_others_is_refused(self, tmp_path: Path) -> None:
        path = write_key_file(tmp_path / "signing.pem", pem_of(Ed25519PrivateKey.generate()), 0o644)

        with pytest.raises(SetupError) as raised:
            load_private_key(path)

        message = str(raised.value)
        assert str(path) in message
        assert f"chmod 600 {path}" in message
        assert "\n" not in message

    @pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620, 0o700 | 0o007])
    def test_key_file_open_to_group_or_others_in_any_way_is_refused(
        self, tmp_path: Path, mode: int
    ) -> None:
        path = write_key_file(tmp_path / "signing.pem", pem_of(Ed25519PrivateKey.generate()), mode)

        with pytest.raises(SetupError, match="chmod 600"):
            load_private_key(path)

    def test_missing_key_file_is_a_setup_error(self, tmp_path: Path) -> None:
        with pytest.raises(SetupError, match="does not exist"):
            load_private_key(tmp_path / "absent.pem")

    def test_directory_instead_of_a_key_file_is_a_setup_error(self, tmp_path: Path) -> None:
        tmp_path.chmod(0o700)

        with pytest.raises(SetupError, match="not a regular file"):
            load_private_key(tmp_path)

    def test_key_file_that_is_not_an_ed25519_key_is_refused(self, tmp_path: Path) -> None:
        ec_pem = pem_of(ec.generate_private_key(ec.SECP256R1()))
        path = write_key_file(tmp_path / "signing.pem", ec_pem, 0o600)

        with pytest.raises(SetupError, match="not an Ed25519 key"):
            load_private_key(path)

    def test_encrypted_key_file_is_refused(self, tmp_path: Path) -> None:
        pem = pem_of(Ed25519PrivateKey.generate(), password=b"hunter22")
        path = write_key_file(tmp_path / "signing.pem", pem, 0o600)

        with pytest.raises(SetupError, match="encrypted"):
            load_private_key(path)


class TestPrivateKeyPem:
    def test_pem_text_from_the_environment_loads(self) -> None:
        private_key = Ed25519PrivateKey.generate()

        loaded = load_private_key_pem(pem_of(private_key).decode())

        assert key_id(loaded.public_key()) == key_id(private_key.public_key())

    @pytest.mark.parametrize(
        "pem_text",
        [
            "TOPSECRET-not-a-pem",
            "-----BEGIN PRIVATE KEY-----\nTOPSECRETTOPSECRET\n-----END PRIVATE KEY-----\n",
        ],
    )
    def test_invalid_pem_text_is_refused_without_echoing_it(self, pem_text: str) -> None:
        with pytest.raises(SetupError) as raised:
            load_private_key_pem(pem_text)

        assert "TOPSECRET" not in str(raised.value)
        assert raised.value.__cause__ is None
        assert raised.value.__suppress_context__


class TestGenerateKeyPair:
    @pytest.mark.usefixtures("no_umask")
    def test_private_key_file_is_created_owner_only_even_without_a_umask(
        self, tmp_path: Path
    ) -> None:
        private_path = tmp_path / "keys" / "signing.pem"

        generate_key_pair(private_path, tmp_path / "keys.json")

        assert stat.S_IMODE(private_path.stat().st_mode) == 0o600

    def test_generated_key_signs_proofs_that_the_key_set_accepts(self, tmp_path: Path) -> None:
        private_path, keyset_path = tmp_path / "signing.pem", tmp_path / "keys.json"

        kid = generate_key_pair(private_path, keyset_path)

        signer = Signer(load_private_key(private_path))
        assert signer.key_id == kid
        result = verify_signed_proof(sign_proof(DOCUMENT, signer).body, load_key_set(keyset_path))
        assert result.outcome is SignatureCheck.VALID

    def test_generating_again_merges_into_the_existing_key_set(self, tmp_path: Path) -> None:
        keyset_path = tmp_path / "keys.json"

        old = generate_key_pair(tmp_path / "old.pem", keyset_path)
        new = generate_key_pair(tmp_path / "new.pem", keyset_path)

        assert set(load_key_set(keyset_path)) == {old, new}

    def test_existing_private_key_is_never_overwritten(self, tmp_path: Path) -> None:
        private_path, keyset_path = tmp_path / "signing.pem", tmp_path / "keys.json"
        generate_key_pair(private_path, keyset_path)
        before = private_path.read_bytes()

        with pytest.raises(SetupError, match="already exists"):
            generate_key_pair(private_path, keyset_path)

        assert private_path.read_bytes() == before
        assert len(load_key_set(keyset_path)) == 1

    def test_invalid_existing_key_set_stops_before_a_key_is_created(self, tmp_path: Path) -> None:
        keyset_path = tmp_path / "keys.json"
        keyset_path.write_text("not json")

        with pytest.raises(SetupError, match="key set"):
            generate_key_pair(tmp_path / "signing.pem", keyset_path)

        assert not (tmp_path / "signing.pem").exists()


class TestVerification:
    def test_signed_proof_is_valid(self, signer: Signer, keyset: KeySet) -> None:
        result = verify_signed_proof(sign_proof(DOCUMENT, signer).body, keyset)

        assert result.outcome is SignatureCheck.VALID
        assert result.is_valid
        assert result.document == DOCUMENT
        assert result.key_id == signer.key_id

    def test_reformatted_envelope_still_verifies(self, signer: Signer, keyset: KeySet) -> None:
        envelope = json.loads(sign_proof(DOCUMENT, signer).body)
        pretty = json.dumps(envelope, indent=4, ensure_ascii=True).encode()

        assert verify_signed_proof(pretty, keyset).outcome is SignatureCheck.VALID

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("image", "width"), 4001),
            (("source_uri",), "https://evil.example.com/cat.jpg"),
            (("issued_at",), 1_718_000_000_001),
            (("tenant",), "someone-else"),
        ],
    )
    def test_altered_proof_has_a_bad_signature(
        self, signer: Signer, keyset: KeySet, path: tuple[str, ...], value: object
    ) -> None:
        envelope = json.loads(sign_proof(DOCUMENT, signer).body)
        target = envelope["proof"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

        result = verify_signed_proof(canonical_json(envelope), keyset)

        assert result.outcome is SignatureCheck.BAD_SIGNATURE
        assert result.document is None

    def test_signature_from_a_key_outside_the_set_is_unknown_key(self, keyset: KeySet) -> None:
        stranger = Signer(Ed25519PrivateKey.generate())

        result = verify_signed_proof(sign_proof(DOCUMENT, stranger).body, keyset)

        assert result.outcome is SignatureCheck.UNKNOWN_KEY
        assert result.key_id == stranger.key_id

    def test_signature_swapped_from_another_proof_is_bad(
        self, signer: Signer, keyset: KeySet
    ) -> None:
        other = ProofDocument.for_event(
            event_id="other",
            tenant="acme",
            submitted_at_ms=1,
            source_uri="x",
            image=FACTS,
            windows=WINDOWS,
            features=FEATURES,
        )
        envelope = json.loads(sign_proof(DOCUMENT, signer).body)
        envelope["signature"] = json.loads(sign_proof(other, signer).body)["signature"]

        assert verify_signed_proof(canonical_json(envelope), keyset).outcome is (
            SignatureCheck.BAD_SIGNATURE
        )

    def test_genuine_signature_over_something_that_is_not_a_proof_is_malformed(
        self, signer: Signer, keyset: KeySet
    ) -> None:
        not_a_proof = {"hello": "world"}
        envelope = {
            "proof": not_a_proof,
            "signature": {
                "algorithm": "Ed25519",
                "key_id": signer.key_id,
                "value": b64url_encode(signer.sign(canonical_json(not_a_proof))),
            },
        }

        result = verify_signed_proof(canonical_json(envelope), keyset)

        assert result.outcome is SignatureCheck.MALFORMED
        assert result.key_id == signer.key_id

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda text: "not json",
            lambda text: text.replace('"proof"', '"proof2"'),
            lambda text: text[:-1] + ',"extra":1}',
            lambda text: text.replace('"version":2', '"version":2.0'),
            lambda text: text.replace('"width":4000', '"width":4000,"width":4000'),
            lambda text: text.replace('"Ed25519"', '"RS256"'),
            lambda text: re.sub('"value":"[^"]*"', '"value":"c2hvcnQ"', text),
            lambda text: re.sub('"value":"[^"]*"', '"value":"not+base64/=="', text),
            lambda text: re.sub('"key_id":"[^"]*"', '"key_id":7', text),
            lambda text: text.replace('"width":4000', '"width":NaN'),
            lambda text: "[" + text + "]",
            lambda text: "[" * 100_000 + "]" * 100_000,
        ],
        ids=[
            "not-json",
            "missing-proof",
            "extra-member",
            "float",
            "duplicate-key",
            "other-algorithm",
            "short-signature",
            "not-base64url",
            "key-id-not-string",
            "nan",
            "not-an-object",
            "deeply-nested",
        ],
    )
    def test_malformed_envelope_is_reported_as_malformed(
        self, signer: Signer, keyset: KeySet, mangle: Callable[[str], str]
    ) -> None:
        text = sign_proof(DOCUMENT, signer).body.decode()

        result = verify_signed_proof(mangle(text).encode(), keyset)

        assert result.outcome is SignatureCheck.MALFORMED
        assert result.document is None

    def test_envelope_that_is_not_utf8_is_malformed(self, keyset: KeySet) -> None:
        assert verify_signed_proof(b"\xff\xfe{}", keyset).outcome is SignatureCheck.MALFORMED


class TestBase64Url:
    @pytest.mark.parametrize("data", [b"", b"\0", b"\xfb\xff", bytes(range(64))])
    def test_round_trip_without_padding(self, data: bytes) -> None:
        text = b64url_encode(data)

        assert "=" not in text
        assert b64url_decode(text) == data

    @pytest.mark.parametrize("text", ["AA==", "A", "+/8", "AB", "AAA*"])
    def test_anything_but_canonical_unpadded_base64url_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(text)


def documented_block(marker: str) -> str:
    """The fenced code block that follows `<!-- marker -->` in docs/proof-format.md."""
    text = PROOF_FORMAT_DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {re.escape(marker)} -->\n```\w+\n(.*?)\n```", text, re.DOTALL)
    assert found, f"docs/proof-format.md has no block marked {marker}"
    return found.group(1)


@pytest.fixture(scope="module")
def documented_verify_proof() -> Callable[[bytes, bytes], dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "documented_verifier"}
    exec(compile(documented_block("verifier-snippet"), str(PROOF_FORMAT_DOC), "exec"), namespace)  # noqa: S102
    verify: Callable[[bytes, bytes], dict[str, Any]] = namespace["verify_proof"]
    return verify


class TestDocumentedFormat:
    def test_documented_verifier_accepts_a_real_signed_proof(
        self,
        signer: Signer,
        keyset: KeySet,
        documented_verify_proof: Callable[[bytes, bytes], dict[str, Any]],
    ) -> None:
        envelope = sign_proof(DOCUMENT, signer).body

        proof = documented_verify_proof(envelope, keyset.to_json().encode())

        assert proof == DOCUMENT.to_dict()

    def test_documented_verifier_rejects_an_altered_proof(
        self,
        signer: Signer,
        keyset: KeySet,
        documented_verify_proof: Callable[[bytes, bytes], dict[str, Any]],
    ) -> None:
        altered = sign_proof(DOCUMENT, signer).body.replace(b'"width":4000', b'"width":4001')

        with pytest.raises(InvalidSignature):
            documented_verify_proof(altered, keyset.to_json().encode())

    def test_documented_verifier_rejects_an_unknown_key(
        self, keyset: KeySet, documented_verify_proof: Callable[[bytes, bytes], dict[str, Any]]
    ) -> None:
        stranger = Signer(Ed25519PrivateKey.generate())

        with pytest.raises(KeyError):
            documented_verify_proof(sign_proof(DOCUMENT, stranger).body, keyset.to_json().encode())

    def test_documented_example_envelope_verifies_with_the_documented_key_set(
        self, documented_verify_proof: Callable[[bytes, bytes], dict[str, Any]]
    ) -> None:
        envelope = documented_block("example-envelope").encode()
        key_set_json = documented_block("example-key-set")

        result = verify_signed_proof(envelope, KeySet.from_json(key_set_json))

        assert result.outcome is SignatureCheck.VALID
        assert (
            documented_verify_proof(envelope, key_set_json.encode())
            == json.loads(envelope)["proof"]
        )
