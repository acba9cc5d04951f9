"""Specification of `connectors.proof_index.rows` and of the index's DSN handling: proof and
credential events mapped to rows and back, what PostgreSQL cannot hold, offsets to commit."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from connectors.proof_index import (
    SourcePosition,
    UnindexableProof,
)
from connectors.proof_index.rows import (
    IndexedCredential,
    IndexedProof,
    UnindexableWindows,
    check_credential_indexable,
    check_indexable,
    credential_row,
    indexed_credential,
    indexed_proof,
    proof_row,
    signed64,
    unsigned64,
    window_rows,
)
from connectors.proof_index.service import offsets_to_commit
from streams.core.codecs.records import (
    CredentialIssued,
    ProofCreated,
    ProofLocation,
    ProofWindow,
)
from streams.core.image_fingerprint import ISCC_ALGORITHM
from tests.support.index_proofs import ISSUED_AT, at, credential, proof


def test_a_proof_maps_to_a_row_of_its_fields_location_and_source_position() -> None:
    row = proof_row(proof(3), at(41, partition=2))

    assert row["proof_id"] == proof(3).proof_id
    assert row["bucket"] == "credlink-proofs"
    assert row["object_key"] == "proofs/2026/01/01/3.json"
    assert row["version_id"] is None
    assert row["issued_at"] == datetime(2026, 1, 1, 0, 0, 0, 3000, tzinfo=UTC)
    assert (row["source_topic"], row["source_partition"], row["source_offset"]) == (
        "proofs.created",
        2,
        41,
    )


def test_a_row_read_back_is_the_proof_that_was_written() -> None:
    original = proof(5, tenant="Zürich-株式会社")
    original = ProofCreated(
        **{**original.__dict__, "location": ProofLocation(bucket="b", key="k", version_id="v9")}
    )
    written_at = datetime(2026, 2, 1, tzinfo=UTC)

    indexed = indexed_proof({**proof_row(original, at(7)), "indexed_at": written_at})

    assert indexed == IndexedProof(proof=original, source=at(7), indexed_at=written_at)


def test_issued_at_keeps_every_millisecond_far_from_the_epoch() -> None:
    far = ProofCreated(**{**proof(0).__dict__, "issued_at": 253_402_300_799_999})  # 9999-12-31

    row = proof_row(far, at(0))

    assert row["issued_at"] == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert indexed_proof({**row, "indexed_at": row["issued_at"]}).proof.issued_at == far.issued_at


@pytest.mark.parametrize(
    ("field", "value"),
    [("tenant", "ac\x00me"), ("signature", "sig-\udc80"), ("issued_at", 10**18)],
)
def test_a_proof_postgresql_cannot_hold_is_unindexable(field: str, value: object) -> None:
    bad = ProofCreated(**{**proof(1).__dict__, field: value})

    with pytest.raises(UnindexableProof, match=field):
        check_indexable(bad)
    with pytest.raises(UnindexableProof):
        proof_row(bad, at(0))


def test_a_nul_in_the_location_makes_a_proof_unindexable() -> None:
    bad = ProofCreated(
        **{**proof(1).__dict__, "location": ProofLocation(bucket="b", key="pro\x00ofs")}
    )

    with pytest.raises(UnindexableProof, match="key"):
        check_indexable(bad)


def test_offsets_to_commit_are_the_next_offset_of_each_partition() -> None:
    positions = [at(5, 0), at(3, 0), at(9, 1), SourcePosition("other", 0, 0), at(4, 0)]

    committed = offsets_to_commit(positions)

    assert [(tp.topic, tp.partition, tp.offset) for tp in committed] == [
        ("other", 0, 1),
        ("proofs.created", 0, 6),
        ("proofs.created", 1, 10),
    ]


def test_an_indexed_proof_as_json_is_the_event_plus_when_and_where_it_was_indexed() -> None:
    written_at = datetime(2026, 2, 1, tzinfo=UTC)
    document = IndexedProof(proof=proof(2), source=at(8, 1), indexed_at=written_at).to_json()

    assert document["proof_id"] == proof(2).proof_id
    assert document["location"] == {
        "bucket": "credlink-proofs",
        "key": "proofs/2026/01/01/2.json",
        "version_id": None,
    }
    assert document["issued_at"] == ISSUED_AT + 2
    assert document["indexed_at"] == "2026-02-01T00:00:00+00:00"
    assert document["source"] == {"topic": "proofs.created", "partition": 1, "offset": 8}
    json.dumps(document)


def test_a_credential_maps_to_a_row_with_its_manifest_store_and_soft_binding() -> None:
    issued = credential(proof(3), fingerprint=b"\x01\x02")

    row = credential_row(issued, at(9))

    assert row["manifest_id"] == issued.manifest_id
    assert (row["proof_id"], row["tenant"]) == (issued.proof_id, "acme")
    assert row["object_key"] == f"manifests/2026/01/01/{issued.proof_id}.c2pa"
    assert (row["soft_binding_alg"], row["soft_binding_value"]) == (ISCC_ALGORITHM, b"\x01\x02")
    assert row["issued_at"] == datetime(2026, 1, 1, 0, 0, 1, 3000, tzinfo=UTC)
    assert indexed_credential(row) == IndexedCredential(
        issued.manifest_id, issued.proof_id, "acme", row["object_key"]
    )


def test_a_credential_without_a_fingerprint_has_no_soft_binding() -> None:
    row = credential_row(credential(proof(3)), at(9))

    assert (row["soft_binding_alg"], row["soft_binding_value"]) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("manifest_id", "urn:c2pa:\x00"), ("media_type", "image/\udc80"), ("issued_at", 10**18)],
)
def test_a_credential_postgresql_cannot_hold_is_unindexable(field: str, value: object) -> None:
    unfit = CredentialIssued(**{**credential(proof(1)).__dict__, field: value})

    with pytest.raises(UnindexableProof, match=field):
        check_credential_indexable(unfit)
    with pytest.raises(UnindexableProof):
        credential_row(unfit, at(0))


def with_windows(*windows: ProofWindow) -> ProofCreated:
    return dataclasses.replace(proof(1), schema_version=2, windows=windows)


def test_each_window_of_a_proof_is_a_row_of_its_code_and_signed_hashes() -> None:
    item = with_windows(
        ProofWindow(window="global", phash="ffffffffffffffff", dhash="0000000000000001"),
        ProofWindow(window="br80", phash="8000000000000000", dhash="7fffffffffffffff"),
    )

    assert window_rows(item) == [
        (item.proof_id, 0, -1, 1),
        (item.proof_id, 18, -(2**63), 2**63 - 1),
    ]


def test_a_proof_without_windows_or_outside_the_pipelines_form_has_no_window_rows() -> None:
    window = ProofWindow(window="global", phash="00000000000000ff", dhash="00000000000000ff")
    odd = dataclasses.replace(with_windows(window), proof_id="resubmitted")

    assert window_rows(proof(1)) == []
    assert window_rows(odd) == []


@pytest.mark.parametrize(
    ("windows", "problem"),
    [
        ((("c75", "00000000000000ff"),), "no such window 'c75'"),
        ((("c90", "00000000000000FF"),), "16 lowercase hex digits"),
        ((("c90", "ff"),), "16 lowercase hex digits"),
        ((("c90", "00000000000000ff"), ("c90", "00000000000000ff")), "given twice"),
    ],
)
def test_windows_not_in_the_pipelines_form_are_unindexable(
    windows: tuple[tuple[str, str], ...], problem: str
) -> None:
    item = with_windows(*(ProofWindow(window=w, phash=h, dhash=h) for w, h in windows))

    with pytest.raises(UnindexableWindows, match=problem):
        window_rows(item)


@pytest.mark.parametrize("value", [0, 1, 2**63 - 1, 2**63, 2**64 - 1])
def test_a_hash_survives_the_signed_form_postgresql_holds_it_in(value: int) -> None:
    assert -(2**63) <= signed64(value) < 2**63
    assert unsigned64(signed64(value)) == value


@pytest.mark.parametrize("value", [-1, 2**64])
def test_only_64_bit_hashes_have_a_signed_form(value: int) -> None:
    with pytest.raises(ValueError, match="64-bit"):
        signed64(value)
