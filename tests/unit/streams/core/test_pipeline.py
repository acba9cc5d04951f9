"""Specification of `streams.core.pipeline`: one image reference in, a stored, signed proof out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from streams.core.codecs import (
    ImageReference,
    ProofCreated,
    ProofWindow,
    SchemaSet,
    SingleObjectCodec,
)
from streams.core.errors import (
    ImageRejected,
    ImageTooLarge,
    InputRejected,
    InvalidEvent,
    TransientError,
    UnexpectedFailure,
    UriNotAllowed,
)
from streams.core.fetching import FetchPolicy, ImageFetcher
from streams.core.imaging import decode_cost
from streams.core.local_features import LocalFeatures
from streams.core.pipeline import MAX_ID_CHARS, ProofPipeline
from streams.core.proof_document import ProofDocument
from streams.core.proof_signature import verify_signed_proof
from streams.core.stores.base import (
    PROOF_METADATA_KEYS,
    StoreMisconfigured,
    features_key,
)
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.window_hashes import Window
from tests.support.pipeline_fakes import (
    EVENT,
    IMAGES,
    KEY_PREFIX,
    KEY_SET,
    LIMITS,
    PNG,
    SIGNER,
    SUBMITTED_AT_MS,
    FailingStore,
    MemoryStore,
    RecordingBudget,
    make_pipeline,
)


def with_identifier(field: str, value: str) -> ImageReference:
    """`EVENT` with its `tenant` or `event_id` set to `value`."""
    changes: dict[str, Any] = {field: value}
    return replace(EVENT, **changes)


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    return root


@pytest.fixture
def fetcher(image_root: Path) -> Iterator[ImageFetcher]:
    with ImageFetcher(FetchPolicy(file_roots=(image_root,))) as fetcher:
        yield fetcher


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def pipeline(store: MemoryStore, fetcher: ImageFetcher) -> ProofPipeline:
    return make_pipeline(store, fetcher)


@pytest.mark.parametrize("image_format", sorted(IMAGES))
def test_an_inline_image_yields_a_proof_of_exactly_its_bytes(
    pipeline: ProofPipeline, image_format: str
) -> None:
    data, (width, height) = IMAGES[image_format]

    proof = pipeline.prove(replace(EVENT, inline_bytes=data))

    assert (proof.event_id, proof.tenant, proof.issued_at) == ("evt-0001", "acme", SUBMITTED_AT_MS)
    assert proof.sha256 == hashlib.sha256(data).hexdigest()
    assert (proof.width, proof.height, proof.format) == (width, height, image_format)
    assert proof.byte_size == len(data)
    assert (proof.key_id, proof.algorithm) == (SIGNER.key_id, "Ed25519")


@pytest.mark.parametrize("image_format", sorted(IMAGES))
def test_each_picture_is_decoded_inside_a_reservation_of_the_decode_budget(
    store: MemoryStore, fetcher: ImageFetcher, image_format: str
) -> None:
    data, (width, height) = IMAGES[image_format]
    budget = RecordingBudget()

    make_pipeline(store, fetcher, decode_budget=budget).prove(replace(EVENT, inline_bytes=data))

    [reserved] = budget.reserved
    assert 0 < reserved <= decode_cost(width, height, image_format)
    assert budget.held == 0


@pytest.mark.parametrize("image_format", sorted(IMAGES))
def test_a_file_uri_under_an_allowed_root_is_fetched_and_proved(
    pipeline: ProofPipeline, image_root: Path, image_format: str
) -> None:
    data, (width, height) = IMAGES[image_format]
    path = image_root / f"picture.{image_format.lower()}"
    path.write_bytes(data)

    proof = pipeline.prove(replace(EVENT, uri=path.as_uri(), inline_bytes=None))

    assert proof.sha256 == hashlib.sha256(data).hexdigest()
    assert (proof.width, proof.height, proof.format) == (width, height, image_format)


def test_the_stored_proof_verifies_against_the_signers_key_set(
    pipeline: ProofPipeline, store: MemoryStore
) -> None:
    proof = pipeline.prove(EVENT)

    result = verify_signed_proof(store.get(proof.location.key), KEY_SET)

    assert result.is_valid, result.reason
    assert result.document is not None
    assert result.key_id == proof.key_id
    assert result.document.proof_id == proof.proof_id
    assert result.document.source_uri == EVENT.uri
    assert result.document.image.sha256 == proof.sha256
    assert (result.document.image.phash, result.document.image.dhash) == (proof.phash, proof.dhash)


def test_the_proof_event_repeats_the_stored_signature(
    pipeline: ProofPipeline, store: MemoryStore
) -> None:
    proof = pipeline.prove(EVENT)

    envelope = json.loads(store.get(proof.location.key))

    assert envelope["signature"] == {
        "algorithm": proof.algorithm,
        "key_id": proof.key_id,
        "value": proof.signature,
    }


def test_the_stored_proof_carries_the_five_metadata_keys(
    pipeline: ProofPipeline, store: MemoryStore
) -> None:
    proof = pipeline.prove(EVENT)

    assert store.metadata[proof.location.key] == {
        "proof-id": proof.proof_id,
        "image-sha256": hashlib.sha256(PNG).hexdigest(),
        "phash": proof.phash,
        "created-at": "2024-06-10T06:13:20.123Z",
        "expires-at": "2024-07-10T06:13:20.123Z",
    }
    assert set(store.metadata[proof.location.key]) == set(PROOF_METADATA_KEYS)


@pytest.mark.parametrize(
    ("submitted_at", "day_path"),
    [
        (SUBMITTED_AT_MS, "2024/06/10"),
        (1_735_689_599_999, "2024/12/31"),  # the last millisecond of 2024, UTC
        (1_735_689_600_000, "2025/01/01"),
    ],
)
def test_the_storage_key_is_dated_by_the_events_submission_day_in_utc(
    pipeline: ProofPipeline, store: MemoryStore, submitted_at: int, day_path: str
) -> None:
    proof = pipeline.prove(replace(EVENT, submitted_at=submitted_at))

    assert proof.location.key == f"{KEY_PREFIX}{day_path}/{proof.proof_id}.json"
    assert proof.location.bucket == "memory"
    assert list(store.objects) == [f"features/{day_path}/{proof.proof_id}.orb", proof.location.key]


def test_replayed_event_yields_byte_identical_proof(tmp_path: Path, fetcher: ImageFetcher) -> None:
    store = FilesystemProofStore(tmp_path / "proofs")
    pipeline = make_pipeline(store, fetcher)

    first = pipeline.prove(EVENT)
    first_bytes = store.get(first.location.key)
    second = pipeline.prove(EVENT)

    assert second == first
    assert store.get(second.location.key) == first_bytes


def test_a_replay_on_another_worker_yields_the_same_proof(
    pipeline: ProofPipeline, store: MemoryStore, fetcher: ImageFetcher
) -> None:
    elsewhere = MemoryStore()

    here, there = pipeline.prove(EVENT), make_pipeline(elsewhere, fetcher).prove(EVENT)

    assert there == here
    assert elsewhere.objects == store.objects


def test_the_same_image_submitted_by_another_event_gets_another_proof(
    pipeline: ProofPipeline, store: MemoryStore
) -> None:
    first = pipeline.prove(EVENT)
    second = pipeline.prove(replace(EVENT, event_id="evt-0002"))

    assert second.sha256 == first.sha256
    assert second.proof_id != first.proof_id
    assert second.location.key != first.location.key
    assert sorted(store.objects) == sorted(
        [
            *(proof.location.key for proof in (first, second)),
            *(features_key(proof.proof_id, proof.issued_at) for proof in (first, second)),
        ]
    )


def test_a_proof_signs_its_window_hashes_and_the_digest_of_the_features_stored_beside_it(
    pipeline: ProofPipeline, store: MemoryStore
) -> None:
    proof = pipeline.prove(EVENT)

    document = ProofDocument.from_dict(json.loads(store.objects[proof.location.key])["proof"])
    blob = store.objects[features_key(proof.proof_id, proof.issued_at)]
    assert document.version == 2
    assert document.features is not None
    assert document.features.covers(blob)
    assert LocalFeatures.from_bytes(blob).count > 0
    assert document.windows is not None
    assert document.windows[0].window is Window.GLOBAL
    assert proof.schema_version == 2
    assert proof.windows == tuple(
        ProofWindow(window=str(w.window), phash=f"{w.phash:016x}", dhash=f"{w.dhash:016x}")
        for w in document.windows
    )


@pytest.mark.parametrize("field", ["tenant", "event_id"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Zürich-株式会社", id="non-ascii"),
        pytest.param("ünïcødé 😀 with inner spaces", id="emoji-and-inner-spaces"),
        pytest.param('a|b,"c"/d\\e', id="separators"),
        pytest.param("x" * MAX_ID_CHARS, id="longest-allowed"),
    ],
)
def test_odd_but_valid_identifiers_are_accepted(
    pipeline: ProofPipeline, field: str, value: str
) -> None:
    proof = pipeline.prove(with_identifier(field, value))

    assert getattr(proof, field) == value


@pytest.mark.parametrize("field", ["tenant", "event_id"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * (MAX_ID_CHARS + 1), id="too-long"),
        pytest.param("ac\nme", id="newline"),
        pytest.param("ac\x00me", id="nul"),
        pytest.param("ac\x1bme", id="escape"),
        pytest.param("acme\u200b", id="zero-width-space"),
        pytest.param("ac\u202eme", id="bidi-override"),
        pytest.param(" acme", id="leading-space"),
        pytest.param("acme ", id="trailing-space"),
        pytest.param("\u00a0acme", id="leading-no-break-space"),
        pytest.param("   ", id="only-spaces"),
    ],
)
def test_bad_identifiers_are_rejected_in_the_validate_stage(
    pipeline: ProofPipeline, store: MemoryStore, field: str, value: str
) -> None:
    with pytest.raises(InvalidEvent, match=field) as rejected:
        pipeline.prove(with_identifier(field, value))

    assert rejected.value.stage == "validate"
    assert store.objects == {}


def test_a_submission_time_before_1970_is_rejected_in_the_validate_stage(
    pipeline: ProofPipeline,
) -> None:
    with pytest.raises(InvalidEvent, match="submitted_at") as rejected:
        pipeline.prove(replace(EVENT, submitted_at=-1))

    assert rejected.value.stage == "validate"


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "https://images.example.com/cat.png",
        "s3://uploads/cat.png",
        "ftp://images.example.com/cat.png",
        "cat.png",
    ],
)
def test_a_uri_outside_the_allow_list_is_rejected_in_the_fetch_stage(
    pipeline: ProofPipeline, store: MemoryStore, uri: str
) -> None:
    with pytest.raises(UriNotAllowed) as rejected:
        pipeline.prove(replace(EVENT, uri=uri, inline_bytes=None))

    assert rejected.value.stage == "fetch"
    assert store.objects == {}


def test_bytes_that_are_not_an_image_are_rejected_in_the_hash_stage(
    pipeline: ProofPipeline, store: MemoryStore
) -> None:
    with pytest.raises(ImageRejected) as rejected:
        pipeline.prove(replace(EVENT, inline_bytes=b"%PDF-1.7 definitely not an image"))

    assert rejected.value.stage == "hash"
    assert store.objects == {}


def test_inline_bytes_above_the_byte_limit_are_too_large(
    store: MemoryStore, fetcher: ImageFetcher
) -> None:
    pipeline = make_pipeline(store, fetcher, replace(LIMITS, max_bytes=len(PNG) - 1))

    with pytest.raises(ImageTooLarge) as rejected:
        pipeline.prove(EVENT)

    assert rejected.value.stage == "hash"
    assert store.objects == {}


def test_an_image_above_the_pixel_limit_is_too_large(
    store: MemoryStore, fetcher: ImageFetcher
) -> None:
    pipeline = make_pipeline(store, fetcher, replace(LIMITS, max_pixels=80 * 120 - 1))

    with pytest.raises(ImageTooLarge, match="pixels"):
        pipeline.prove(EVENT)


@pytest.mark.parametrize(
    "error",
    [TransientError("S3 PutObject failed: SlowDown (HTTP 503)"), StoreMisconfigured("no bucket")],
    ids=["transient", "misconfigured"],
)
def test_a_store_failure_that_is_not_the_events_fault_propagates_unwrapped(
    fetcher: ImageFetcher, error: Exception
) -> None:
    pipeline = make_pipeline(FailingStore(error), fetcher)

    with pytest.raises(type(error)) as raised:
        pipeline.prove(EVENT)

    assert raised.value is error
    assert not isinstance(raised.value, InputRejected)


def test_an_unexpected_store_error_is_wrapped_with_its_stage_and_cause(
    fetcher: ImageFetcher,
) -> None:
    cause = RuntimeError("disk on fire")
    pipeline = make_pipeline(FailingStore(cause), fetcher)

    with pytest.raises(UnexpectedFailure) as raised:
        pipeline.prove(EVENT)

    assert raised.value.stage == "store"
    assert "RuntimeError" in str(raised.value)
    assert "disk on fire" in str(raised.value)
    assert raised.value.__cause__ is cause
    assert isinstance(raised.value, InputRejected)


def test_the_proof_event_is_a_valid_proof_created_record(pipeline: ProofPipeline) -> None:
    codec = SingleObjectCodec(SchemaSet.load(), ProofCreated.SCHEMA)
    proof = pipeline.prove(EVENT)

    assert ProofCreated.from_avro(codec.decode(codec.encode(proof.to_avro()))) == proof
