"""Specification of `connectors.ingest` without a broker: which files a directory yields, when an
event id changes, JSON lines parsed into references, S3 URLs split."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.ingest import (
    Rejected,
    derive_event_id,
    directory_references,
    glob_pattern,
    jsonl_references,
    parse_s3_url,
)
from streams.core.codecs import ImageReference
from tests.support.image_trees import image_tree


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.jpg", "a/b/c.jpg", True),
        ("**/*.jpg", "c.jpg", True),
        ("**/*.jpg", "a/c.png", False),
        ("a/*.jpg", "a/c.jpg", True),
        ("a/*.jpg", "a/b/c.jpg", False),
        ("a/**/c.jpg", "a/c.jpg", True),
        ("[!x]?.png", "ab.png", True),
        ("[!x]?.png", "xb.png", False),
        ("*.[jp]*", "c.png", True),
        ("*(1).jpg", "c(1).jpg", True),
    ],
)
def test_glob_pattern_keeps_star_within_a_segment_and_lets_double_star_span_directories(
    pattern: str, path: str, matches: bool
) -> None:
    assert bool(glob_pattern(pattern).fullmatch(path)) is matches


def test_a_file_gets_a_new_event_id_only_when_it_changes(tmp_path: Path) -> None:
    image = image_tree(tmp_path)["top.jpg"]

    def event_id() -> str:
        (reference,) = directory_references(tmp_path, tenant="acme", pattern="top.jpg")
        assert isinstance(reference, ImageReference)
        return reference.event_id

    first, again = event_id(), event_id()
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 1))
    assert first == again
    assert event_id() != first
    assert derive_event_id("acme", image.as_uri(), "v1") != derive_event_id(
        "other", image.as_uri(), "v1"
    )


def test_a_directory_without_recursion_yields_its_own_files_only(tmp_path: Path) -> None:
    image_tree(tmp_path)
    references = list(directory_references(tmp_path, tenant="acme", recursive=False))
    assert [r.uri for r in references if isinstance(r, ImageReference)] == [
        (tmp_path / "top.jpg").resolve().as_uri()
    ]


def test_jsonl_lines_become_references_and_bad_ones_are_rejected_with_number_and_reason() -> None:
    lines = [
        b'{"tenant": "acme", "uri": "s3://b/1.jpg", "event_id": "e1", "submitted_at": 1000}\n',
        b"not json\n",
        b"\n",
        b'{"tenant": "acme", "uri": "s3://b/2.jpg", "submitted_at": "2026-01-01T00:00:00Z",'
        b' "attributes": {"camera": "x"}, "content_type": "image/jpeg"}\n',
        b'{"uri": "s3://b/3.jpg"}\n',
        b'{"tenant": "acme", "uri": "s3://b/4.jpg", "colour": "red"}\n',
        b'{"tenant": "acme", "uri": "s3://b/5.jpg", "submitted_at": true}\n',
        b"\xff\xfe\n",
    ]
    items = list(jsonl_references(lines))

    references = [item for item in items if isinstance(item, ImageReference)]
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert [(r.event_id, r.submitted_at) for r in references] == [
        ("e1", 1000),
        (references[1].event_id, 1_767_225_600_000),
    ]
    assert references[1].attributes == {"camera": "x"}
    assert references[1].content_type == "image/jpeg"
    assert [(r.where, r.reason.split(":")[0]) for r in rejected] == [
        ("line 2", "not JSON"),
        ("line 5", "tenant must be a non-empty string"),
        ("line 6", "unknown fields colour"),
        ("line 7", "submitted_at must be milliseconds since the epoch or ISO 8601 text"),
        ("line 8", "not UTF-8"),
    ]
    again = [item for item in jsonl_references(lines) if isinstance(item, ImageReference)]
    assert again[1].event_id == references[1].event_id


def test_parse_s3_url_splits_bucket_and_prefix() -> None:
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="not an s3://"):
        parse_s3_url("https://bucket/a")
