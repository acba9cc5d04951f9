"""Specification of `streams.core.proof_document`: canonical JSON, documents, signed envelopes."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from streams.core.imaging import ImageFacts
from streams.core.proof_document import (
    FeatureDigest,
    ProofDocument,
    canonical_json,
    derive_proof_id,
    sign_proof,
    storage_key,
)
from streams.core.signing import Signer, load_private_key_pem
from tests.support.proving import FEATURES, WINDOWS

SUBMITTED_AT_MS = 1_718_000_000_000  # 2024-06-10T06:13:20Z

FACTS = ImageFacts(
    sha256=hashlib.sha256(b"the image bytes").hexdigest(),
    phash="c3e1f0b09c8c8e1f",
    dhash="0e1c3870e0c18307",
    width=4000,
    height=3000,
    format="JPEG",
    byte_size=2_817_734,
)


def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def document(**overrides: Any) -> ProofDocument:
    fields: dict[str, Any] = {
        "event_id": "0b6f3c1e-5d0a-4c8e-9a57-3f2d7c1b9e40",
        "tenant": "acme",
        "submitted_at_ms": SUBMITTED_AT_MS,
        "source_uri": "https://images.example.com/cat.jpg",
        "image": FACTS,
        "windows": WINDOWS,
        "features": FEATURES,
    }
    return ProofDocument.for_event(**{**fields, **overrides})


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TestCanonicalJson:
    def test_keys_are_sorted_and_there_is_no_whitespace(self) -> None:
        assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": None}}) == (
            b'{"a":{"c":null,"d":[1,2]},"b":1}'
        )

    def test_non_ascii_is_written_as_utf8_and_control_characters_are_escaped(self) -> None:
        assert canonical_json({"t": 'é€😀\n\t"\\\x01'}) == (
            '{"t":"é€😀\\n\\t\\"\\\\\\u0001"}'.encode()
        )

    def test_booleans_null_and_safe_integers_are_allowed(self) -> None:
        value = [True, False, None, 0, -1, 2**53 - 1, -(2**53 - 1)]

        assert canonical_json(value) == b"[true,false,null,0,-1,9007199254740991,-9007199254740991]"

    @pytest.mark.parametrize(
        "value",
        [1.0, 0.5, float("nan"), float("inf"), {"a": [1, 2.5]}, {"nested": {"x": -0.0}}],
    )
    def test_floats_are_refused_anywhere(self, value: object) -> None:
        with pytest.raises(TypeError, match="float"):
            canonical_json(value)

    @pytest.mark.parametrize("value", [2**53, -(2**53), {"a": [10**20]}])
    def test_integers_beyond_what_every_verifier_can_represent_are_refused(
        self, value: object
    ) -> None:
        with pytest.raises(ValueError, match="outside"):
            canonical_json(value)

    @pytest.mark.parametrize(
        "value", [{1: "a"}, (1, 2), {1, 2}, b"bytes", {"a": object()}], ids=repr
    )
    def test_values_without_one_json_spelling_are_refused(self, value: object) -> None:
        with pytest.raises(TypeError):
            canonical_json(value)

    def test_strings_that_are_not_unicode_are_refused(self) -> None:
        with pytest.raises(ValueError, match="surrogate"):
            canonical_json({"a": "\ud800"})

    def test_output_parses_back_to_the_same_value(self) -> None:
        value = document().to_dict()

        assert json.loads(canonical_json(value)) == value


class TestProofDocument:
    def test_dict_round_trip_is_lossless(self) -> None:
        proof = document()

        assert ProofDocument.from_dict(proof.to_dict()) == proof
        assert ProofDocument.from_dict(json.loads(canonical_json(proof.to_dict()))) == proof

    def test_issued_at_is_the_events_submission_time_not_the_processing_time(self) -> None:
        submitted_in_2001 = 978_307_200_000

        assert document(submitted_at_ms=submitted_in_2001).issued_at == submitted_in_2001

    def test_version_is_two_and_records_the_windows_and_the_feature_digest(self) -> None:
        data = document().to_dict()

        assert data["version"] == 2
        assert data["windows"] == [
            {"window": "global", "phash": "c3e1f0b09c8c8e1f", "dhash": "0e1c3870e0c18307"},
            {"window": "16:9", "phash": "c3e1f0b09c8c8e1e", "dhash": "0e1c3870e0c18306"},
        ]
        assert data["features"] == {"sha256": FEATURES.sha256, "byte_size": FEATURES.byte_size}

    def test_a_version_1_document_still_reads_back_as_version_1(self) -> None:
        data = document().to_dict()
        del data["windows"], data["features"]
        data["version"] = 1

        read = ProofDocument.from_dict(data)

        assert (read.version, read.windows, read.features) == (1, None, None)
        assert read.to_dict() == data

    def test_a_version_1_document_with_windows_and_a_version_2_without_are_refused(
        self,
    ) -> None:
        with_windows = document().to_dict()
        with_windows["version"] = 1
        without = document().to_dict()
        del without["features"]

        with pytest.raises(ValueError, match="unexpected features, windows"):
            ProofDocument.from_dict(with_windows)
        with pytest.raises(ValueError, match="lacks features"):
            ProofDocument.from_dict(without)
        with pytest.raises(ValueError, match="version 2 proof holds window hashes"):
            replace(document(), features=None)

    def test_feature_digest_covers_only_its_own_blob(self) -> None:
        digest = FeatureDigest.of(b"blob")

        assert digest.covers(b"blob")
        assert not digest.covers(b"blob!")
        assert not digest.covers(b"bloc")

    def test_proof_id_is_derived_from_tenant_event_and_image_hash(self) -> None:
        expected = hashlib.sha256(
            canonical_json({"event_id": "e-1", "sha256": FACTS.sha256, "tenant": "acme"})
        ).hexdigest()[:32]

        assert document(event_id="e-1").proof_id == expected
        assert derive_proof_id(tenant="acme", event_id="e-1", sha256=FACTS.sha256) == expected

    @pytest.mark.parametrize(
        "change",
        [
            {"tenant": "other"},
            {"event_id": "another-event"},
            {"image": replace(FACTS, sha256=hashlib.sha256(b"other bytes").hexdigest())},
        ],
    )
    def test_proof_id_changes_with_tenant_event_or_image_bytes(
        self, change: dict[str, Any]
    ) -> None:
        assert document(**change).proof_id != document().proof_id

    def test_proof_id_ignores_when_and_where_the_image_came_from(self) -> None:
        moved = document(submitted_at_ms=SUBMITTED_AT_MS + 1, source_uri="s3://bucket/cat.jpg")

        assert moved.proof_id == document().proof_id

    def test_document_with_a_proof_id_that_is_not_derived_is_refused(self) -> None:
        with pytest.raises(ValueError, match="derived id"):
            replace(document(), proof_id="0" * 32)

    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            (("version",), 3, "version"),
            (("version",), True, "version"),
            (("issued_at",), -1, "issued_at"),
            (("issued_at",), 1.5, "issued_at"),
            (("tenant",), "", "tenant"),
            (("tenant",), 7, "tenant"),
            (("proof_id",), "ABC", "proof_id"),
            (("image", "width"), 0, "width"),
            (("image", "width"), True, "width"),
            (("image", "byte_size"), "12", "byte_size"),
            (("image", "phash"), "xyz", "phash"),
            (("image", "sha256"), "A" * 64, "sha256"),
            (("image",), [], "image"),
            (("windows",), {}, "windows"),
            (("windows",), [], "global window"),
            (("windows", 0, "window"), "17:3", "not a known window"),
            (("windows", 1, "window"), "global", "each window once"),
            (("windows", 0, "phash"), "C3E1F0B09C8C8E1F", "phash"),
            (("windows", 1), "16:9", "must be an object"),
            (("features", "sha256"), "0" * 63, "sha256"),
            (("features", "byte_size"), 0, "byte_size"),
            (("features",), "digest", "features"),
        ],
    )
    def test_from_dict_refuses_wrong_types_and_formats(
        self, path: tuple[str | int, ...], value: object, message: str
    ) -> None:
        data = document().to_dict()
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

        with pytest.raises(ValueError, match=message):
            ProofDocument.from_dict(data)

    def test_from_dict_refuses_missing_and_unexpected_members(self) -> None:
        missing = document().to_dict()
        del missing["tenant"]
        unexpected = document().to_dict()
        unexpected["image"]["exif"] = "..."

        with pytest.raises(ValueError, match="lacks tenant"):
            ProofDocument.from_dict(missing)
        with pytest.raises(ValueError, match="unexpected exif"):
            ProofDocument.from_dict(unexpected)


class TestSignedProof:
    def test_replayed_event_yields_byte_identical_proof(self) -> None:
        pem = (
            private_key()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )

        first = sign_proof(document(), Signer(load_private_key_pem(pem))).body
        replayed = sign_proof(document(), Signer(load_private_key_pem(pem))).body

        assert first == replayed

    def test_envelope_is_canonical_json_of_proof_and_signature(self) -> None:
        signer = Signer(private_key())

        stored = sign_proof(document(), signer).body

        envelope = json.loads(stored)
        assert stored == canonical_json(envelope)
        assert envelope["proof"] == document().to_dict()
        assert envelope["signature"]["algorithm"] == "Ed25519"
        assert envelope["signature"]["key_id"] == signer.key_id

    def test_signature_is_over_the_canonical_json_of_the_document(self) -> None:
        signer = Signer(private_key())

        envelope = json.loads(sign_proof(document(), signer).body)

        value = envelope["signature"]["value"]
        assert "=" not in value
        signer.public_key.verify(b64url_decode(value), canonical_json(document().to_dict()))

    def test_different_documents_get_different_signatures(self) -> None:
        signer = Signer(private_key())

        one = json.loads(sign_proof(document(), signer).body)
        other = json.loads(sign_proof(document(tenant="other"), signer).body)

        assert one["signature"]["value"] != other["signature"]["value"]


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class TestStorageKey:
    PROOF_ID = "1bbf8a7d139e8e484bd042ce384a0fcb"

    def test_key_is_prefix_utc_date_and_proof_id(self) -> None:
        assert storage_key("proofs/", self.PROOF_ID, SUBMITTED_AT_MS) == (
            f"proofs/2024/06/10/{self.PROOF_ID}.json"
        )

    @pytest.mark.usefixtures("far_from_utc")
    def test_date_is_the_utc_date_whatever_the_local_time_zone(self) -> None:
        last_ms_of_june_10 = 1_718_063_999_999

        assert storage_key("", self.PROOF_ID, last_ms_of_june_10).startswith("2024/06/10/")
        assert storage_key("", self.PROOF_ID, last_ms_of_june_10 + 1).startswith("2024/06/11/")

    def test_epoch_is_a_valid_date(self) -> None:
        assert storage_key("p/", self.PROOF_ID, 0) == f"p/1970/01/01/{self.PROOF_ID}.json"

    @pytest.mark.parametrize("proof_id", ["../../etc/passwd", "", "A" * 32, "0" * 31])
    def test_anything_but_a_proof_id_is_refused(self, proof_id: str) -> None:
        with pytest.raises(ValueError, match="proof id"):
            storage_key("proofs/", proof_id, SUBMITTED_AT_MS)

    def test_time_before_the_epoch_is_refused(self) -> None:
        with pytest.raises(ValueError, match="non-negative"):
            storage_key("proofs/", self.PROOF_ID, -1)
