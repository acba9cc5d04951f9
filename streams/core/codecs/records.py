"""The pipeline's events as typed, immutable values, converted to and from Avro record dicts.

Field names, order and defaults mirror the `.avsc` files (a test keeps them in step); timestamps
are integer milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from streams.core.clock import to_epoch_millis

__all__ = [
    "CredentialIssued",
    "ImageReference",
    "ProcessingFailed",
    "ProofCreated",
    "ProofLocation",
    "ProofWindow",
    "epoch_millis",
]


def epoch_millis(moment: datetime | int) -> int:
    """Milliseconds since the Unix epoch of `moment` (an aware datetime, or millis already).

    Avro readers return `timestamp-millis` fields as aware datetimes; this brings them back to
    the integers the records hold, exactly (no float rounding).
    """
    if isinstance(moment, datetime):
        return to_epoch_millis(moment)
    return moment


@dataclass(frozen=True, kw_only=True)
class ImageReference:
    """An image submitted for a provenance proof."""

    SCHEMA: ClassVar[str] = "io.credlink.streams.ImageReference"

    event_id: str
    tenant: str
    uri: str
    inline_bytes: bytes | None = None
    content_type: str | None = None
    submitted_at: int
    attributes: Mapping[str, str] = field(default_factory=dict)

    def to_avro(self) -> dict[str, Any]:
        """This event as an Avro record dict."""
        return asdict(self)

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> ImageReference:
        """The event in an Avro record dict decoded with the current schema."""
        return cls(
            **{
                **record,
                "submitted_at": epoch_millis(record["submitted_at"]),
                "attributes": dict(record["attributes"]),
            }
        )


@dataclass(frozen=True, kw_only=True)
class ProofLocation:
    """Where an object of the proof store is kept (a record nested in `ProofCreated`, for the
    proof document, and in `CredentialIssued`, for the manifest store and the signed image)."""

    bucket: str
    key: str
    version_id: str | None = None

    def to_avro(self) -> dict[str, Any]:
        """This location as an Avro record dict."""
        return asdict(self)

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> ProofLocation:
        """The location in an Avro record dict decoded with the current schema."""
        return cls(**record)


@dataclass(frozen=True, kw_only=True)
class ProofCreated:
    """A signed provenance proof was computed and stored."""

    SCHEMA: ClassVar[str] = "io.credlink.streams.ProofCreated"

    proof_id: str
    event_id: str
    tenant: str
    sha256: str
    phash: str
    dhash: str
    width: int
    height: int
    format: str
    byte_size: int
    key_id: str
    algorithm: str
    signature: str
    location: ProofLocation
    issued_at: int
    schema_version: int = 1
    windows: tuple[ProofWindow, ...] | None = None

    def to_avro(self) -> dict[str, Any]:
        """This event as an Avro record dict."""
        record = asdict(self)
        if self.windows is not None:
            record["windows"] = [asdict(window) for window in self.windows]
        return record

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> ProofCreated:
        """The event in an Avro record dict decoded with the current schema."""
        windows = record.get("windows")
        return cls(
            **{
                **record,
                "location": ProofLocation.from_avro(record["location"]),
                "issued_at": epoch_millis(record["issued_at"]),
                "windows": (
                    None if windows is None else tuple(ProofWindow(**window) for window in windows)
                ),
            }
        )


@dataclass(frozen=True, kw_only=True)
class ProofWindow:
    """The pHash and dHash (16 lowercase hex digits each) of one canonical window of a proof's
    picture (`streams.core.window_hashes.Window`, by its value)."""

    window: str
    phash: str
    dhash: str


@dataclass(frozen=True, kw_only=True)
class CredentialIssued:
    """A C2PA manifest was issued for a proof's image and stored."""

    SCHEMA: ClassVar[str] = "io.credlink.streams.CredentialIssued"

    proof_id: str
    event_id: str
    tenant: str
    manifest_id: str
    media_type: str
    image_sha256: str
    manifest_store: ProofLocation
    signed_image: ProofLocation | None = None
    manifest_bytes: int
    issued_at: int
    fingerprint: bytes | None = None

    def to_avro(self) -> dict[str, Any]:
        """This event as an Avro record dict."""
        return asdict(self)

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> CredentialIssued:
        """The event in an Avro record dict decoded with the current schema."""
        signed_image = record["signed_image"]
        return cls(
            **{
                **record,
                "manifest_store": ProofLocation.from_avro(record["manifest_store"]),
                "signed_image": (
                    ProofLocation.from_avro(signed_image) if signed_image is not None else None
                ),
                "issued_at": epoch_millis(record["issued_at"]),
            }
        )


@dataclass(frozen=True, kw_only=True)
class ProcessingFailed:
    """An input event was rejected and dead-lettered."""

    SCHEMA: ClassVar[str] = "io.credlink.streams.ProcessingFailed"

    original_key: bytes | None
    original_value: bytes | None
    source_topic: str
    source_partition: int
    source_offset: int
    stage: str
    error_class: str
    message: str
    attempts: int
    failed_at: int
    event_id: str | None = None
    tenant: str | None = None

    def to_avro(self) -> dict[str, Any]:
        """This event as an Avro record dict."""
        return asdict(self)

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> ProcessingFailed:
        """The event in an Avro record dict decoded with the current schema."""
        return cls(**{**record, "failed_at": epoch_millis(record["failed_at"])})
