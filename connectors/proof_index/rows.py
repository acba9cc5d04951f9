"""Proof events as rows of the `proofs`, `proof_phash_bands` and `proof_windows` tables,
credential events as rows of `credentials`, and rows back as indexed proofs, credentials and
perceptual index entries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.proof_index.schema import WINDOW_CODES
from streams.core.clock import from_epoch_millis
from streams.core.codecs.records import (
    CredentialIssued,
    ProofCreated,
    ProofLocation,
    epoch_millis,
)
from streams.core.errors import InputRejected
from streams.core.image_fingerprint import ISCC_ALGORITHM
from streams.core.observing import Stage
from streams.core.perceptual_index import HASH_BITS, IndexEntry, band_values
from streams.core.window_hashes import Window

__all__ = [
    "CREDENTIAL_COLUMNS",
    "PROOF_COLUMNS",
    "SOURCE_COLUMNS",
    "IndexedCredential",
    "IndexedProof",
    "SourcePosition",
    "UnindexableProof",
    "UnindexableWindows",
    "check_credential_indexable",
    "check_indexable",
    "credential_row",
    "filed_bands",
    "index_entry",
    "indexed_credential",
    "indexed_proof",
    "proof_row",
    "signed64",
    "unsigned64",
    "window_rows",
]


# The proof's own fields: a write that changes none of them changes nothing.
PROOF_COLUMNS: tuple[str, ...] = (
    "proof_id",
    "event_id",
    "tenant",
    "sha256",
    "phash",
    "dhash",
    "width",
    "height",
    "format",
    "byte_size",
    "key_id",
    "algorithm",
    "signature",
    "bucket",
    "object_key",
    "version_id",
    "issued_at",
    "schema_version",
)
# The credential's own fields, as the proof's.
CREDENTIAL_COLUMNS: tuple[str, ...] = (
    "manifest_id",
    "proof_id",
    "event_id",
    "tenant",
    "media_type",
    "image_sha256",
    "bucket",
    "object_key",
    "version_id",
    "manifest_bytes",
    "soft_binding_alg",
    "soft_binding_value",
    "issued_at",
)
# Where the row's last write came from.
SOURCE_COLUMNS: tuple[str, ...] = ("source_topic", "source_partition", "source_offset")

_HASH = re.compile(r"[0-9a-f]{16}")


class UnindexableProof(InputRejected):
    """A proof or credential event that decoded but cannot be stored (text PostgreSQL cannot
    hold)."""

    stage = Stage.INDEX


class UnindexableWindows(ValueError):
    """A proof event whose windows are not in the form the pipeline writes: the proof is
    indexed without them."""


@dataclass(frozen=True)
class SourcePosition:
    """The record a proof event was consumed from."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class IndexedProof:
    """A proof as the index holds it: the event, where it was read, when it was written."""

    proof: ProofCreated
    source: SourcePosition
    indexed_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The proof event's fields (as in the Avro record) plus `indexed_at` and `source`."""
        return {
            **self.proof.to_avro(),
            "indexed_at": self.indexed_at.isoformat(),
            "source": {
                "topic": self.source.topic,
                "partition": self.source.partition,
                "offset": self.source.offset,
            },
        }


@dataclass(frozen=True)
class IndexedCredential:
    """A C2PA manifest as the index holds it: whose it is and where its store is kept."""

    manifest_id: str
    proof_id: str
    tenant: str
    object_key: str
    """Key of the manifest store in the proof store."""


def proof_row(proof: ProofCreated, source: SourcePosition) -> dict[str, Any]:
    """The `proofs` row of `proof` read at `source`, keyed by column name.

    Raises `UnindexableProof` when `check_indexable` does.
    """
    check_indexable(proof)
    return {
        "proof_id": proof.proof_id,
        "event_id": proof.event_id,
        "tenant": proof.tenant,
        "sha256": proof.sha256,
        "phash": proof.phash,
        "dhash": proof.dhash,
        "width": proof.width,
        "height": proof.height,
        "format": proof.format,
        "byte_size": proof.byte_size,
        "key_id": proof.key_id,
        "algorithm": proof.algorithm,
        "signature": proof.signature,
        "bucket": proof.location.bucket,
        "object_key": proof.location.key,
        "version_id": proof.location.version_id,
        "issued_at": _issued_at(proof.proof_id, proof.issued_at),
        "schema_version": proof.schema_version,
        "source_topic": source.topic,
        "source_partition": source.partition,
        "source_offset": source.offset,
    }


def check_indexable(proof: ProofCreated) -> None:
    """Raise `UnindexableProof` if `proof` has text PostgreSQL cannot hold (NUL characters,
    lone surrogates) or an issue time outside the calendar."""
    _issued_at(proof.proof_id, proof.issued_at)
    _check_texts(proof.proof_id, {**proof.to_avro(), **proof.location.to_avro()})


def credential_row(credential: CredentialIssued, source: SourcePosition) -> dict[str, Any]:
    """The `credentials` row of `credential` read at `source`, keyed by column name.

    Raises `UnindexableProof` when `check_credential_indexable` does.
    """
    check_credential_indexable(credential)
    return {
        "manifest_id": credential.manifest_id,
        "proof_id": credential.proof_id,
        "event_id": credential.event_id,
        "tenant": credential.tenant,
        "media_type": credential.media_type,
        "image_sha256": credential.image_sha256,
        "bucket": credential.manifest_store.bucket,
        "object_key": credential.manifest_store.key,
        "version_id": credential.manifest_store.version_id,
        "manifest_bytes": credential.manifest_bytes,
        "soft_binding_alg": ISCC_ALGORITHM if credential.fingerprint is not None else None,
        "soft_binding_value": credential.fingerprint,
        "issued_at": _issued_at(credential.proof_id, credential.issued_at),
        "source_topic": source.topic,
        "source_partition": source.partition,
        "source_offset": source.offset,
    }


def check_credential_indexable(credential: CredentialIssued) -> None:
    """Raise `UnindexableProof` if `credential` has text PostgreSQL cannot hold or an issue time
    outside the calendar."""
    _issued_at(credential.proof_id, credential.issued_at)
    _check_texts(
        credential.proof_id, {**credential.to_avro(), **credential.manifest_store.to_avro()}
    )


def indexed_credential(row: Mapping[str, Any]) -> IndexedCredential:
    """The indexed credential in a `credentials` row read as a column-name mapping."""
    return IndexedCredential(
        manifest_id=row["manifest_id"],
        proof_id=row["proof_id"],
        tenant=row["tenant"],
        object_key=row["object_key"],
    )


def indexed_proof(row: Mapping[str, Any]) -> IndexedProof:
    """The indexed proof in a `proofs` row read as a column-name mapping."""
    proof = ProofCreated(
        **{
            column: row[column]
            for column in PROOF_COLUMNS
            if column not in {"bucket", "object_key", "version_id", "issued_at"}
        },
        location=ProofLocation(
            bucket=row["bucket"], key=row["object_key"], version_id=row["version_id"]
        ),
        issued_at=epoch_millis(row["issued_at"]),
    )
    source = SourcePosition(
        topic=row["source_topic"], partition=row["source_partition"], offset=row["source_offset"]
    )
    return IndexedProof(proof=proof, source=source, indexed_at=row["indexed_at"])


def index_entry(row: Mapping[str, Any]) -> IndexEntry | None:
    """The perceptual index entry of a row with `proof_id`, `tenant`, `phash` and `dhash`, or
    None when they are not in the form the pipeline writes (32 and 16 lowercase hex digits)."""
    try:
        return IndexEntry(
            proof_id=row["proof_id"], tenant=row["tenant"], phash=row["phash"], dhash=row["dhash"]
        )
    except ValueError:
        return None


def filed_bands(row: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The (band, value) buckets `proof_phash_bands` files the proof of `row` under.

    Empty for a proof that makes no perceptual index entry (`index_entry`): it stays indexed
    by id and SHA-256, but no search by similarity can find it.
    """
    entry = index_entry(row)
    return band_values(int(entry.phash, 16)) if entry is not None else []


def window_rows(proof: ProofCreated) -> list[tuple[str, int, int, int]]:
    """The (proof_id, window code, pHash, dHash) rows `proof_windows` files the windows of
    `proof` under: each window by its code in `WINDOW_CODES`, its hashes as `signed64`.

    Empty for a proof that carries no windows (proof format 1) or makes no perceptual index
    entry (`index_entry`), which no search by similarity finds. Raises `UnindexableWindows`
    for a window name outside `Window`, a name given twice, or a hash that is not 16 lowercase
    hex digits.
    """
    identity = {
        "proof_id": proof.proof_id,
        "tenant": proof.tenant,
        "phash": proof.phash,
        "dhash": proof.dhash,
    }
    if proof.windows is None or index_entry(identity) is None:
        return []
    names = [window.window for window in proof.windows]
    if len(set(names)) != len(names):
        raise UnindexableWindows(f"proof {proof.proof_id!r}: a window is given twice: {names}")
    rows = []
    for window in proof.windows:
        try:
            code = WINDOW_CODES[Window(window.window)]
        except ValueError:
            raise UnindexableWindows(
                f"proof {proof.proof_id!r}: no such window {window.window!r}"
            ) from None
        for value in (window.phash, window.dhash):
            if not _HASH.fullmatch(value):
                raise UnindexableWindows(
                    f"proof {proof.proof_id!r}: window {window.window!r} has a hash that is not"
                    f" 16 lowercase hex digits: {value!r}"
                )
        rows.append(
            (proof.proof_id, code, signed64(int(window.phash, 16)), signed64(int(window.dhash, 16)))
        )
    return rows


def signed64(value: int) -> int:
    """The 64-bit hash `value` as the signed integer of the same bits (two's complement), as a
    PostgreSQL bigint holds it."""
    if not 0 <= value < 1 << HASH_BITS:
        raise ValueError(f"not a 64-bit hash: {value}")
    return value - (1 << HASH_BITS) if value >> (HASH_BITS - 1) else value


def unsigned64(value: int) -> int:
    """The hash whose bits the signed 64-bit integer `value` holds: `signed64` undone."""
    return value & ((1 << HASH_BITS) - 1)


def _issued_at(proof_id: str, issued_at: int) -> datetime:
    try:
        return from_epoch_millis(issued_at)
    except OverflowError:
        raise UnindexableProof(
            f"proof {proof_id!r}: issued_at {issued_at} ms is outside the calendar"
        ) from None


def _check_texts(proof_id: str, fields: Mapping[str, Any]) -> None:
    for field, value in fields.items():
        if isinstance(value, str):
            _check_text(proof_id, field, value)


def _check_text(proof_id: str, field: str, value: str) -> None:
    if "\x00" in value:
        raise UnindexableProof(f"proof {proof_id!r}: {field} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnindexableProof(f"proof {proof_id!r}: {field} is not valid Unicode") from None
