"""The proof pipeline for one event: fetch → hash → sign → store → `ProofCreated`.

Plain synchronous Python with no Kafka in it. Failures leave as the error types of
`streams.core.errors`: `InputRejected` (dead-letter it), `TransientError` (retry it); anything
unexpected is wrapped in `UnexpectedFailure` with the stage it happened in.
"""

from __future__ import annotations

import contextlib
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from streams.core.clock import from_epoch_millis, iso_utc
from streams.core.codecs.records import ImageReference, ProofCreated, ProofLocation, ProofWindow
from streams.core.errors import InputRejected, InvalidEvent, TransientError, UnexpectedFailure
from streams.core.fetching import ImageFetcher
from streams.core.imaging import ImageFacts, inspect_image_luma
from streams.core.local_features import local_features
from streams.core.memory_budget import MemoryBudget
from streams.core.observing import PipelineObserver, Stage
from streams.core.proof_document import (
    FeatureDigest,
    ProofDocument,
    SignedProof,
    sign_proof,
    storage_key,
)
from streams.core.signing import Signer
from streams.core.stores.base import (
    FEATURES_CONTENT_TYPE,
    ProofStore,
    StoredProof,
    StoreMisconfigured,
    features_key,
)
from streams.core.window_hashes import WindowHash, hash_hex, proof_windows

__all__ = [
    "MAX_ID_CHARS",
    "MAX_SUBMITTED_AT_MS",
    "ImageLimits",
    "ProofPipeline",
    "SurveyedImage",
    "proof_event",
    "store_proof",
    "survey_image",
    "timed_stage",
]

MAX_ID_CHARS = 256
# 9000-01-01T00:00:00Z: leaves every retention period representable as a date.
MAX_SUBMITTED_AT_MS = 221_845_392_000_000


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True, slots=True)
class SurveyedImage:
    """What proving an image hashes: its facts, its window hashes and its feature blob."""

    facts: ImageFacts
    windows: tuple[WindowHash, ...]
    features: bytes


def survey_image(
    data: bytes,
    limits: ImageLimits,
    reserve: Callable[[int], AbstractContextManager[object]] | None,
) -> SurveyedImage:
    """Hash `data` within `limits` (and `reserve`'s budget): facts, windows and features all
    taken of the one luminance decoded, so the picture is decoded once."""
    facts, luma = inspect_image_luma(
        data, max_bytes=limits.max_bytes, max_pixels=limits.max_pixels, reserve=reserve
    )
    return SurveyedImage(facts, proof_windows(luma), local_features(luma).to_bytes())


def _check_identifier(field: str, value: str) -> None:
    if not value or len(value) > MAX_ID_CHARS:
        raise InvalidEvent(f"{field} must be 1 to {MAX_ID_CHARS} characters, got {len(value)}")
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"} for char in value):
        raise InvalidEvent(f"{field} contains control, format or unassigned characters")
    if value != value.strip():
        raise InvalidEvent(f"{field} has leading or trailing whitespace")


@contextlib.contextmanager
def timed_stage(observer: PipelineObserver, name: Stage) -> Iterator[None]:
    """Time stage `name` for `observer`; classify what it raises (the one place that does)."""
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        yield
    except (InputRejected, TransientError, StoreMisconfigured) as error:
        failure = error
        raise
    except Exception as error:
        failure = error
        raise UnexpectedFailure(name, error) from error
    finally:
        observer.stage_finished(name, time.perf_counter() - started, failure)


def store_proof(
    store: ProofStore,
    *,
    key_prefix: str,
    document: ProofDocument,
    signed: SignedProof,
    features: bytes,
    retention: timedelta,
) -> StoredProof:
    """Store a signed proof and the feature blob its document digests; where the proof is."""
    issued = from_epoch_millis(document.issued_at)
    metadata = {
        "proof-id": document.proof_id,
        "image-sha256": document.image.sha256,
        "phash": document.image.phash,
        "created-at": iso_utc(issued, precision="milliseconds"),
        "expires-at": iso_utc(issued + retention, precision="milliseconds"),
    }
    # The features first: a stored proof can always reach the blob its digest signs.
    store.put(
        features_key(document.proof_id, document.issued_at),
        features,
        metadata,
        content_type=FEATURES_CONTENT_TYPE,
    )
    return store.put(
        storage_key(key_prefix, document.proof_id, document.issued_at), signed.body, metadata
    )


def proof_event(document: ProofDocument, signed: SignedProof, stored: StoredProof) -> ProofCreated:
    """The `ProofCreated` event announcing `document`, signed as `signed`, stored at `stored`."""
    image = document.image
    windows = None
    if document.windows is not None:
        windows = tuple(
            ProofWindow(window=str(w.window), phash=hash_hex(w.phash), dhash=hash_hex(w.dhash))
            for w in document.windows
        )
    return ProofCreated(
        proof_id=document.proof_id,
        event_id=document.event_id,
        tenant=document.tenant,
        sha256=image.sha256,
        phash=image.phash,
        dhash=image.dhash,
        width=image.width,
        height=image.height,
        format=image.format,
        byte_size=image.byte_size,
        key_id=signed.key_id,
        algorithm=signed.algorithm,
        signature=signed.signature,
        location=ProofLocation(bucket=stored.store, key=stored.key, version_id=stored.version_id),
        issued_at=document.issued_at,
        schema_version=document.version,
        windows=windows,
    )


class ProofPipeline:
    """Turns one `ImageReference` into a stored, signed proof and its `ProofCreated` event."""

    def __init__(
        self,
        *,
        fetcher: ImageFetcher,
        signer: Signer,
        store: ProofStore,
        limits: ImageLimits,
        key_prefix: str,
        retention_days: int,
        hashing: Executor,
        observer: PipelineObserver | None = None,
        decode_budget: MemoryBudget | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._signer = signer
        self._store = store
        self._limits = limits
        self._key_prefix = key_prefix
        self._retention = timedelta(days=retention_days)
        self._observer = observer or PipelineObserver()
        # Decoding and hashing run on `hashing`, a pool of their own (sized by its owner), so
        # fetches and stores waiting on I/O overlap with the hashing of other events.
        self._hashing = hashing
        # However many threads hash, the pictures decoded at once stay within the budget.
        self._decode_budget = decode_budget

    def _stage(self, name: Stage) -> contextlib.AbstractContextManager[None]:
        return timed_stage(self._observer, name)

    def prove(self, event: ImageReference) -> ProofCreated:
        with self._stage(Stage.VALIDATE):
            _check_identifier("tenant", event.tenant)
            _check_identifier("event_id", event.event_id)
            if not 0 <= event.submitted_at < MAX_SUBMITTED_AT_MS:
                raise InvalidEvent("submitted_at is before 1970 or after the year 9000")
        with self._stage(Stage.FETCH):
            data = self._image_bytes(event)
        with self._stage(Stage.HASH):
            surveyed = self._hashing.submit(
                survey_image,
                data,
                self._limits,
                self._decode_budget.reserve if self._decode_budget else None,
            ).result()
        with self._stage(Stage.SIGN):
            document = ProofDocument.for_event(
                event_id=event.event_id,
                tenant=event.tenant,
                submitted_at_ms=event.submitted_at,
                source_uri=event.uri,
                image=surveyed.facts,
                windows=surveyed.windows,
                features=FeatureDigest.of(surveyed.features),
            )
            signed = sign_proof(document, self._signer)
        with self._stage(Stage.STORE):
            stored = store_proof(
                self._store,
                key_prefix=self._key_prefix,
                document=document,
                signed=signed,
                features=surveyed.features,
                retention=self._retention,
            )
        return proof_event(document, signed, stored)

    def _image_bytes(self, event: ImageReference) -> bytes:
        # Inline bytes are bounded like fetched ones: inspect_image checks max_bytes first.
        if event.inline_bytes is not None:
            return event.inline_bytes
        return self._fetcher.fetch(event.uri)
