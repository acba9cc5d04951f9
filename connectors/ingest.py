"""Publishing image-reference events: sources (a directory, an S3 listing, JSON lines) and an
idempotent, acks=all producer with delivery reports.

Sources are generators, so a listing of millions of objects is streamed, never held in memory.
Event ids derive from what identifies an image version (tenant, URI and the file's size and
mtime, or the S3 ETag), and the submission time is that version's modification time (the
file's mtime, the object's LastModified) unless one is given. Ingesting an unchanged source
again therefore republishes identical events, which the pipeline treats as replays (same
proofs, counted once); a changed file is a new event. Each event is keyed by its image URI, so
all events of one image land on one partition and keep their order.
"""

from __future__ import annotations

import json
import os
import re
import stat
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import KafkaError, Message, Producer

from connectors.reader import parse_instant
from streams.core.clock import now_millis
from streams.core.codecs.records import ImageReference
from streams.core.errors import CredlinkError
from streams.core.pipeline import MAX_SUBMITTED_AT_MS
from streams.kafka.clients import ClientConfig, confluent_config, produce_with_backpressure
from streams.kafka.serde import command_codec_for
from streams.kafka.topics import SUBMITTED
from streams.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "EVENT_ID_NAMESPACE",
    "DeliveryReport",
    "ImageReferencePublisher",
    "Rejected",
    "SourceFailed",
    "SourceItem",
    "derive_event_id",
    "directory_references",
    "glob_pattern",
    "jsonl_references",
    "parse_s3_url",
    "s3_references",
]

EVENT_ID_NAMESPACE = uuid.UUID("77c3b402-1958-4078-b180-7f16cbb8d1da")

# How long the client retries an event before reporting it failed (a broker outage longer than
# this fails the run instead of hanging it).
_DELIVERY_TIMEOUT_SECONDS = 60
_PRODUCER: ClientConfig = {
    "enable.idempotence": True,
    "acks": "all",
    "delivery.timeout.ms": _DELIVERY_TIMEOUT_SECONDS * 1000,
    # References are ~200 bytes: wait a little to send them in large compressed batches.
    "linger.ms": 50,
    "batch.size": 1_000_000,
    "compression.type": "zstd",
    # Bounds what waits in the client when the broker is slower than the source.
    "queue.buffering.max.messages": 100_000,
    "queue.buffering.max.kbytes": 65_536,
}
# Delivery errors kept verbatim in a report; further ones are only counted.
_MAX_ERRORS_KEPT = 100
_JSONL_FIELDS = frozenset(
    {"event_id", "tenant", "uri", "submitted_at", "content_type", "attributes"}
)


class SourceFailed(CredlinkError):
    """A source could not be listed any further (a bucket that is missing or refuses access)."""


@dataclass(frozen=True)
class Rejected:
    """An item of a source that is no event: `where` names it (a path, `line 7`), `reason`
    says why."""

    where: str
    reason: str


SourceItem = ImageReference | Rejected


@dataclass(frozen=True)
class DeliveryReport:
    """Outcome of the publications so far: `errors` keeps the first delivery errors."""

    sent: int
    failed: int
    errors: tuple[str, ...]


def derive_event_id(tenant: str, uri: str, version: str) -> str:
    """The event id of version `version` of the image at `uri`, for `tenant`: a UUID 5, so the
    same image version always gets the same id."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, json.dumps([tenant, uri, version])))


def directory_references(
    root: Path,
    *,
    tenant: str,
    pattern: str = "*",
    recursive: bool = True,
    submitted_at: int | None = None,
) -> Iterator[SourceItem]:
    """References to the files under `root` matching the glob `pattern`, as resolved absolute
    `file://` URIs, in sorted order directory by directory.

    A pattern with a `/` matches the path relative to `root` (`**` spans directories), one
    without matches the file name. `recursive=False` looks at `root`'s own files only;
    symbolic links to directories are not followed. A file that cannot be read is `Rejected`.
    `submitted_at` defaults to each file's modification time.
    """
    matches = glob_pattern(pattern)
    walk_errors: list[OSError] = []
    for directory, subdirectories, names in os.walk(root, onerror=walk_errors.append):
        yield from (Rejected(str(error.filename), _os_reason(error)) for error in walk_errors)
        walk_errors.clear()
        if recursive:
            subdirectories.sort()
        else:
            subdirectories.clear()
        for name in sorted(names):
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if not matches.fullmatch(relative if "/" in pattern else name):
                continue
            try:
                resolved = path.resolve(strict=True)
                status = resolved.stat()
            except OSError as error:
                yield Rejected(str(path), _os_reason(error))
                continue
            if not stat.S_ISREG(status.st_mode):
                yield Rejected(str(path), "not a regular file")
                continue
            uri = resolved.as_uri()
            yield ImageReference(
                event_id=derive_event_id(tenant, uri, f"{status.st_size}:{status.st_mtime_ns}"),
                tenant=tenant,
                uri=uri,
                submitted_at=status.st_mtime_ns // 1_000_000
                if submitted_at is None
                else submitted_at,
            )
    yield from (Rejected(str(error.filename), _os_reason(error)) for error in walk_errors)


def parse_s3_url(url: str) -> tuple[str, str]:
    """Bucket and key prefix of `s3://bucket/prefix` (the prefix may be empty)."""
    scheme, separator, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    if scheme != "s3" or not separator or not bucket:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return bucket, prefix


def s3_references(
    client: S3Client,
    bucket: str,
    prefix: str,
    *,
    tenant: str,
    submitted_at: int | None = None,
) -> Iterator[SourceItem]:
    """References to the objects under `prefix` in `bucket`, as `s3://bucket/key` URIs, page by
    page in key order; "folder" placeholder keys ending in `/` are skipped. The ETag versions
    the event id; `submitted_at` defaults to the object's LastModified. Raises `SourceFailed`
    when the listing fails."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        for page in pages:
            for listed in page.get("Contents", []):
                key = listed["Key"]
                if key.endswith("/"):
                    continue
                uri = f"s3://{bucket}/{key}"
                yield ImageReference(
                    event_id=derive_event_id(tenant, uri, listed.get("ETag", "").strip('"')),
                    tenant=tenant,
                    uri=uri,
                    submitted_at=(
                        int(listed["LastModified"].timestamp() * 1000)
                        if submitted_at is None
                        else submitted_at
                    ),
                )
    except (BotoCoreError, ClientError) as error:
        raise SourceFailed(f"listing s3://{bucket}/{prefix} failed: {error}") from error


def jsonl_references(lines: Iterable[bytes]) -> Iterator[SourceItem]:
    """A reference per JSON-lines object `{"tenant", "uri", "event_id"?, "submitted_at"?
    (ms or ISO 8601), "content_type"?, "attributes"?}`; a line that is not one is `Rejected`
    with its (1-based) number and the reason. Blank lines are skipped.

    Without `submitted_at` the time is now. Without `event_id` the id is derived from tenant,
    URI and the line's other fields including that time, so a line with a `submitted_at` is the
    same event each time it is ingested, and one without is a new submission each time.
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield _reference_from_json(json.loads(raw.decode("utf-8")))
        except UnicodeDecodeError:
            yield Rejected(f"line {number}", "not UTF-8")
        except json.JSONDecodeError as error:
            yield Rejected(f"line {number}", f"not JSON: {error}")
        except ValueError as error:
            yield Rejected(f"line {number}", str(error))


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression of a glob over `/`-separated paths: `*` and `?` stay within one
    segment, `[...]` is a character class (`[!...]` negated), `**` spans any directories."""
    segments = pattern.split("/")
    regex = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            regex.append(".*" if last else "(?:[^/]+/)*")
        else:
            regex.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(regex), re.DOTALL)


class ImageReferencePublisher:
    """Publishes `ImageReference` events to `images.submitted`, keyed by image URI by default,
    so that all events of one image stay in order on one partition."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.kafka.topic(SUBMITTED)
        self._codec = command_codec_for(
            ImageReference.SCHEMA, topic=self._topic, kafka=settings.kafka
        )
        self._producer = Producer(confluent_config(settings, dict(_PRODUCER)))
        self._sent = 0
        self._failed = 0
        self._errors: list[str] = []

    def publish(self, reference: ImageReference, key: bytes | None = None) -> None:
        """Queue `reference` for sending; when the client's queue is full, serve delivery
        reports until there is room."""
        value = self._codec.encode(reference.to_avro())
        key = key if key is not None else reference.uri.encode("utf-8")
        produce_with_backpressure(
            self._producer, self._topic, key=key, value=value, on_delivery=self._delivered
        )

    def publish_all(self, references: Iterable[ImageReference]) -> DeliveryReport:
        for reference in references:
            self.publish(reference)
        return self.flush()

    @property
    def report(self) -> DeliveryReport:
        """Deliveries acknowledged or failed so far (without waiting for pending ones)."""
        return DeliveryReport(sent=self._sent, failed=self._failed, errors=tuple(self._errors))

    def flush(self, timeout: float = _DELIVERY_TIMEOUT_SECONDS + 10.0) -> DeliveryReport:
        """Wait for every delivery report; what is still pending after `timeout` failed. The
        default outlasts the delivery timeout, so every event is then sent or failed for good."""
        pending = self._producer.flush(timeout)
        errors = [*self._errors, *([f"{pending} records undelivered"] if pending else [])]
        return DeliveryReport(sent=self._sent, failed=self._failed + pending, errors=tuple(errors))

    def close(self) -> None:
        """Flush and release the client's connections and threads."""
        self.flush()
        self._producer.close()

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self._sent += 1
            return
        self._failed += 1
        if len(self._errors) < _MAX_ERRORS_KEPT:
            self._errors.append(f"{message.key()!r}: {error.str()}")


def _reference_from_json(line: object) -> ImageReference:
    if not isinstance(line, dict):
        raise ValueError("not a JSON object")
    unknown = sorted(set(line) - _JSONL_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {', '.join(unknown)}")
    tenant = _required_text(line, "tenant")
    uri = _required_text(line, "uri")
    submitted_at = _submitted_at(line.get("submitted_at"))
    event_id = line.get("event_id")
    if event_id is None:
        version = json.dumps(
            {
                **{key: value for key, value in line.items() if key not in ("tenant", "uri")},
                "submitted_at": submitted_at,
            },
            sort_keys=True,
        )
        event_id = derive_event_id(tenant, uri, version)
    elif not isinstance(event_id, str) or not event_id:
        raise ValueError("event_id must be a non-empty string")
    content_type = line.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise ValueError("content_type must be a string")
    return ImageReference(
        event_id=event_id,
        tenant=tenant,
        uri=uri,
        content_type=content_type,
        submitted_at=submitted_at,
        attributes=_attributes(line.get("attributes")),
    )


def _required_text(line: Mapping[str, Any], name: str) -> str:
    value = line.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _submitted_at(value: object) -> int:
    if value is None:
        return now_millis()
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("submitted_at must be milliseconds since the epoch or ISO 8601 text")
    millis = parse_instant(value) if isinstance(value, str) else value
    if not 0 <= millis < MAX_SUBMITTED_AT_MS:
        raise ValueError("submitted_at is before 1970 or after the year 9000")
    return millis


def _attributes(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(item, str) for pair in value.items() for item in pair
    ):
        raise ValueError("attributes must be an object of strings")
    return dict(value)


def _segment_regex(segment: str) -> str:
    regex, index = [], 0
    while index < len(segment):
        char = segment[index]
        index += 1
        if char == "*":
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
        elif char == "[" and (close := segment.find("]", index + 1)) != -1:
            members = segment[index:close]
            negated = members.startswith("!")
            escaped = "".join(
                char if char == "-" else re.escape(char)
                for char in (members[1:] if negated else members)
            )
            regex.append(f"[{'^' if negated else ''}{escaped}]")
            index = close + 1
        else:
            regex.append(re.escape(char))
    return "".join(regex)


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)
