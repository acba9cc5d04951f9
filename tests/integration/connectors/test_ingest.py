"""`credlink ingest`: image references from a directory, an S3 prefix or JSON lines, keyed by
image URI, with event ids that stay the same when an unchanged source is ingested again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner, Result

from connectors.reader import read_topic, scan_topic
from streams.cli import ingest as ingest_cli
from streams.core.codecs import ImageReference
from streams.devtools.devstack.processes import free_port
from streams.devtools.devstack.stack import LocalStack
from streams.kafka.clients import confluent_config
from streams.kafka.serde import codec_for
from streams.kafka.topics import SUBMITTED, ensure_topics, pipeline_topics
from streams.settings import Settings
from tests.support.image_trees import image_tree

Ingest = Callable[..., Result]


Published = list[tuple[bytes | None, ImageReference]]


@pytest.fixture
def ingest(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Ingest:
    """Runs `credlink ingest ...` in-process against the test's own topics."""
    ensure_topics(AdminClient(confluent_config(settings)), pipeline_topics(settings))
    monkeypatch.setattr(ingest_cli, "get_settings", lambda: settings)

    def run(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(ingest_cli.app, list(args), input=stdin)

    return run


def published(settings: Settings) -> Published:
    """Every (key, reference) now on the test's `images.submitted`."""
    topic = settings.kafka.topic(SUBMITTED)
    codec = codec_for(ImageReference.SCHEMA, topic=topic)
    return [
        (record.key, ImageReference.from_avro(codec.decode(record.value)))
        for record in scan_topic(settings, topic)
        if record.value is not None
    ]


@pytest.mark.integration
def test_ingest_dir_publishes_the_matching_nested_files_keyed_by_uri(
    ingest: Ingest, settings: Settings, tmp_path: Path
) -> None:
    files = image_tree(tmp_path / "images")

    result = ingest("dir", str(tmp_path / "images"), "--tenant", "acme", "--glob", "**/*.jpg")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("sent 2, failed 0, ")
    records = published(settings)
    expected = {files[name].resolve().as_uri() for name in ("top.jpg", "nested.jpg")}
    assert {reference.uri for _, reference in records} == expected
    for key, reference in records:
        assert key == reference.uri.encode("utf-8")
        assert reference.tenant == "acme"
        assert reference.inline_bytes is None
        path = Path(reference.uri.removeprefix("file://"))
        assert reference.submitted_at == path.stat().st_mtime_ns // 1_000_000


@pytest.mark.integration
def test_reingesting_an_unchanged_directory_republishes_the_same_event_ids(
    ingest: Ingest, settings: Settings, tmp_path: Path
) -> None:
    image_tree(tmp_path)

    first = ingest("dir", str(tmp_path), "--tenant", "acme", "--glob", "*.jpg")
    second = ingest("dir", str(tmp_path), "--tenant", "acme", "--glob", "*.jpg", "--quiet")

    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    ids_by_uri: dict[str, set[str]] = {}
    for _, reference in published(settings):
        ids_by_uri.setdefault(reference.uri, set()).add(reference.event_id)
    assert len(ids_by_uri) == 2
    assert all(len(ids) == 1 for ids in ids_by_uri.values())
    values_by_uri: dict[str, set[bytes]] = {}
    for record in read_topic(
        settings, settings.kafka.topic("images.submitted"), until=lambda _: False, timeout=3
    ):
        values_by_uri.setdefault((record.key or b"").decode(), set()).add(record.value or b"")
    assert all(len(values) == 1 for values in values_by_uri.values())  # identical events


@pytest.mark.integration
def test_ingest_s3_publishes_every_object_under_the_prefix(
    ingest: Ingest, settings: Settings, local_stack: LocalStack
) -> None:
    bucket = f"ingest-{uuid.uuid4().hex[:10]}"
    s3 = local_stack.s3.client()
    s3.create_bucket(Bucket=bucket)
    keys = [f"incoming/{index:04d}.jpg" for index in range(5)]
    for key in [*keys, "incoming/", "elsewhere/x.jpg"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())

    result = ingest("s3", f"s3://{bucket}/incoming/", "--tenant", "newsroom")
    again = ingest("s3", f"s3://{bucket}/incoming/", "--tenant", "newsroom")

    assert (result.exit_code, again.exit_code) == (0, 0), result.output + again.output
    records = published(settings)
    assert sorted(reference.uri for _, reference in records) == sorted(
        f"s3://{bucket}/{key}" for key in keys * 2
    )
    assert {key for key, _ in records} == {f"s3://{bucket}/{key}".encode() for key in keys}
    assert len({reference.event_id for _, reference in records}) == len(keys)


@pytest.mark.integration
def test_ingest_s3_of_a_missing_bucket_fails_with_a_message(ingest: Ingest) -> None:
    result = ingest("s3", f"s3://missing-{uuid.uuid4().hex[:10]}/x", "--tenant", "t")
    assert result.exit_code == 1
    assert "NoSuchBucket" in result.stderr
    assert result.stdout.startswith("sent 0, failed 0, ")


@pytest.mark.integration
def test_ingest_waits_a_few_seconds_for_an_unreachable_schema_registry_then_says_so_in_one_line(
    ingest: Ingest, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image_tree(tmp_path)
    nowhere = f"http://127.0.0.1:{free_port()}"
    without_registry = settings.updated(kafka={"schema_registry_url": nowhere})
    monkeypatch.setattr(ingest_cli, "get_settings", lambda: without_registry)

    started = time.monotonic()
    result = ingest("dir", str(tmp_path), "--tenant", "acme")
    elapsed = time.monotonic() - started

    assert result.exit_code == 69, result.output
    assert 5 < elapsed < 30
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"error: the schema registry at {nowhere} (CREDLINK_SCHEMA_REGISTRY_URL)"
    )
    assert "failed 6 attempts" in line
    assert published(settings) == []


@pytest.mark.integration
def test_ingest_jsonl_sends_the_good_lines_reports_the_bad_one_and_exits_1(
    ingest: Ingest, settings: Settings
) -> None:
    lines = [
        {"event_id": "e-1", "tenant": "acme", "uri": "s3://bucket/1.jpg", "submitted_at": 5},
        {"tenant": "acme", "uri": "s3://bucket/2.jpg", "submitted_at": "2026-01-01T01:00:00+01:00"},
        {"tenant": "acme"},
        {"event_id": "e-4", "tenant": "beta", "uri": "file:///srv/4.png", "attributes": {"a": "b"}},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)

    result = ingest("jsonl", "-", stdin=stdin)

    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("sent 3, failed 1, ")
    assert "line 3: uri must be a non-empty string" in result.stderr
    by_uri = {reference.uri: (key, reference) for key, reference in published(settings)}
    assert set(by_uri) == {"s3://bucket/1.jpg", "s3://bucket/2.jpg", "file:///srv/4.png"}
    assert by_uri["s3://bucket/1.jpg"][1].event_id == "e-1"
    assert by_uri["s3://bucket/1.jpg"][1].submitted_at == 5
    assert by_uri["s3://bucket/2.jpg"][1].submitted_at == 1_767_225_600_000
    assert by_uri["file:///srv/4.png"][1].attributes == {"a": "b"}
    assert all(key == uri.encode() for uri, (key, _) in by_uri.items())
