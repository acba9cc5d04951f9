"""Specification of `connectors.verify_service.soft_binding`: the Soft Binding Resolution API's
queries read from requests, and its match lists."""

from __future__ import annotations

import base64

import pytest

from connectors.verify_service.soft_binding import (
    DEFAULT_RESULTS,
    MAX_BINDING_BYTES,
    MAX_RESULTS,
    InvalidQuery,
    SoftBindingMatch,
    algorithm,
    binding_value,
    manifest_id,
    matches_json,
    max_results,
    similarity_score,
)

# Bytes whose base64 holds `+`, `/` and padding.
VALUE = bytes([0xFB, 0xEF, 0xFF, 0x00, 0x10])


class TestMaxResults:
    def test_absent_is_the_specifications_default(self) -> None:
        assert max_results(None) == DEFAULT_RESULTS

    def test_a_large_number_is_capped(self) -> None:
        assert max_results("3") == 3
        assert max_results(str(MAX_RESULTS * 10)) == MAX_RESULTS

    @pytest.mark.parametrize("text", ["0", "-1", "ten", "1.5", ""])
    def test_anything_but_a_positive_integer_is_invalid(self, text: str) -> None:
        with pytest.raises(InvalidQuery) as raised:
            max_results(text)
        assert raised.value.code == "invalid_max_results"


class TestAlgorithm:
    def test_the_iscc_image_code_is_resolved(self) -> None:
        assert algorithm("io.iscc.v0") == "io.iscc.v0"

    @pytest.mark.parametrize(("name", "code"), [(None, "missing_alg"), ("", "missing_alg")])
    def test_a_missing_algorithm_is_invalid(self, name: str | None, code: str) -> None:
        with pytest.raises(InvalidQuery) as raised:
            algorithm(name)
        assert raised.value.code == code

    def test_an_algorithm_of_the_list_that_is_not_resolved_here_is_named_in_the_error(
        self,
    ) -> None:
        with pytest.raises(InvalidQuery, match=r"com\.adobe\.trustmark\.Q") as raised:
            algorithm("com.adobe.trustmark.Q", parameter="hintAlg")
        assert raised.value.code == "unsupported_alg"
        assert "hintAlg" in str(raised.value)


class TestBindingValue:
    @pytest.mark.parametrize(
        "text",
        [
            base64.b64encode(VALUE).decode(),
            base64.b64encode(VALUE).decode().rstrip("="),
            base64.urlsafe_b64encode(VALUE).decode(),
            base64.b64encode(VALUE).decode().replace("+", " "),
        ],
        ids=["standard", "unpadded", "url-safe", "plus-as-space"],
    )
    def test_every_spelling_of_base64_clients_send_is_read(self, text: str) -> None:
        assert binding_value(text) == VALUE

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            (None, "missing_value"),
            ("", "missing_value"),
            ("not base64!", "invalid_value"),
            ("====", "invalid_value"),
            (base64.b64encode(bytes(MAX_BINDING_BYTES + 1)).decode(), "value_too_long"),
            ("A" * (4 * MAX_BINDING_BYTES + 1), "value_too_long"),
        ],
        ids=["absent", "empty", "not-base64", "no-bytes", "too-many-bytes", "too-long-text"],
    )
    def test_a_value_that_cannot_be_looked_up_is_invalid(self, text: str | None, code: str) -> None:
        with pytest.raises(InvalidQuery) as raised:
            binding_value(text)
        assert raised.value.code == code


class TestManifestId:
    @pytest.mark.parametrize(
        "text",
        [
            "urn:c2pa:3f0e2c4a-9b1d-4e6f-8a2b-5c7d9e1f3a5b",
            "urn:c2pa:3f0e2c4a-9b1d-4e6f-8a2b-5c7d9e1f3a5b:acme:2_1",
            "urn:uuid:3f0e2c4a-9b1d-4e6f-8a2b-5c7d9e1f3a5b",
        ],
    )
    def test_c2pa_manifest_labels_are_accepted(self, text: str) -> None:
        assert manifest_id(text) == text

    @pytest.mark.parametrize(
        "text", ["proofs/2024/06/10/x.json", "urn:c2pa:not-a-uuid", "urn:c2pa:" + "a" * 300]
    )
    def test_anything_else_is_invalid(self, text: str) -> None:
        with pytest.raises(InvalidQuery) as raised:
            manifest_id(text)
        assert raised.value.code == "invalid_manifest_id"


def test_the_similarity_score_falls_from_100_as_the_phash_drifts() -> None:
    assert similarity_score(0) == 100
    assert similarity_score(8) == 88
    assert similarity_score(64) == 0


def test_a_match_list_names_each_manifest_once_up_to_the_limit() -> None:
    found = [
        SoftBindingMatch("urn:c2pa:a", 100),
        SoftBindingMatch("urn:c2pa:a", 90),
        SoftBindingMatch("urn:c2pa:b", 95),
        SoftBindingMatch("urn:c2pa:c", 94),
    ]

    assert matches_json(found, 2) == {
        "matches": [
            {"manifestId": "urn:c2pa:a", "similarityScore": 100},
            {"manifestId": "urn:c2pa:b", "similarityScore": 95},
        ]
    }
