"""Specification of `streams.ops.error_reporting`: what reaches Sentry, and what never does."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import faust
import pytest
import sentry_sdk
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from streams.core.codecs.records import ImageReference
from streams.core.dead_letters import SourceMessage, dead_letter
from streams.core.errors import DecodeFailed, TransientError, UriNotAllowed
from streams.ops.error_reporting import (
    REDACTED,
    SentryObserver,
    init_error_reporting,
    scrub_event,
    settings_secrets,
)
from streams.settings import Settings
from tests.support.images import encode, photo

DSN = "http://public@127.0.0.1:9/1"  # never contacted: the transport keeps events in memory
S3_SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIN3PLhB4c1ggdlOhTKw3OBsZC5p6GNvWpS8pVVAJ1Y1b\n"
    "-----END PRIVATE KEY-----\n"
)
PEM_BODY = PEM.splitlines()[1]
SECRETS = (S3_SECRET, PEM, DSN)
IMAGE = encode(photo(64, 48, seed=7), "PNG")
NOISE = os.urandom(600)

Reported = list[dict[str, Any]]


class CapturingTransport(Transport):
    """Keeps the events the SDK would send, instead of sending them."""

    def __init__(self) -> None:
        super().__init__()
        self.events: Reported = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def reported() -> Iterator[Reported]:
    """The events sent while the test runs, with error reporting initialised in-process."""
    transport = CapturingTransport()
    sentry_sdk.get_isolation_scope().clear()
    assert init_error_reporting(
        DSN,
        environment="test",
        release="credlink-streams@test",
        secrets=SECRETS,
        transport=transport,
    )
    try:
        yield transport.events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
        sentry_sdk.get_isolation_scope().clear()


def text_of(value: object) -> str:
    return json.dumps(value, default=str)


def leaked_image_forms(blob: bytes) -> list[str]:
    """How image bytes would show in an event: repr, base64, hex."""
    middle = blob[len(blob) // 3 : len(blob) // 3 + 24]
    return [
        repr(middle)[2:-1],
        base64.b64encode(blob).decode()[40:100],
        blob.hex()[40:100],
    ]


def raised(error: Exception) -> Exception:
    """`error` with a traceback, as the pipeline would have raised it."""
    try:
        raise error
    except Exception as caught:
        return caught


def failure_of(error: Exception, event: ImageReference | None, value: bytes) -> Any:
    source = SourceMessage("images.submitted", 4, 1234, b"evt-0042", value)
    return dead_letter(source, error, attempts=1, failed_at_ms=0, event=event)


EVENT = ImageReference(
    event_id="evt-0042",
    tenant="acme",
    uri="https://images.example.com/cat.png",
    inline_bytes=IMAGE,
    submitted_at=1_767_225_600_000,
)


def test_secrets_are_redacted_wherever_they_occur() -> None:
    event: Any = {
        "message": f"connecting with {S3_SECRET}",
        "tags": {"agent": "prove", "tenant": "acme"},
        "extra": {"nested": {"deeper": [f"key={S3_SECRET};", {"pem": PEM}]}},
        "exception": {
            "values": [{"type": "SetupError", "value": f"bad key {PEM_BODY} in settings"}]
        },
        "breadcrumbs": {"values": [{"message": f"dsn is {DSN}", "category": "log"}]},
        "contexts": {"settings": {S3_SECRET: "as a key"}},
    }
    scrubbed: Any = scrub_event(event, SECRETS)
    text = text_of(scrubbed)
    for secret in (S3_SECRET, PEM_BODY, DSN):
        assert secret not in text
    assert scrubbed["message"] == f"connecting with {REDACTED}"
    assert scrubbed["extra"]["nested"]["deeper"][0] == f"key={REDACTED};"
    assert scrubbed["exception"]["values"][0]["value"] == f"bad key {REDACTED} in settings"
    assert scrubbed["tags"] == {"agent": "prove", "tenant": "acme"}


def test_a_key_line_alone_is_redacted_too() -> None:
    scrubbed = scrub_event({"extra": {"line": repr(PEM)}}, [PEM])
    assert PEM_BODY not in text_of(scrubbed)


@given(
    secret=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/", min_size=6, max_size=40),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_no_secret_survives_in_any_surrounding_text(secret: str, before: str, after: str) -> None:
    event: Any = {"extra": {"a": [{"b": before + secret + after}]}, "tags": {"t": secret}}
    assert secret not in text_of(scrub_event(event, [secret]))


ODD_SECRET = "pa55/word +&'quoted\" ünï\tcode"


@pytest.mark.parametrize(
    "spelling",
    [
        repr(ODD_SECRET),
        repr(f"both quotes ' and \" around {ODD_SECRET}"),
        json.dumps({"password": ODD_SECRET}),
        json.dumps({"password": ODD_SECRET}, ensure_ascii=False),
        quote(ODD_SECRET, safe=""),
        quote(ODD_SECRET, safe="").lower(),
        quote_plus(ODD_SECRET),
        f"https://user:{quote(ODD_SECRET, safe='')}@host.test/path",
    ],
    ids=[
        "repr",
        "repr-both-quotes",
        "json",
        "json-unicode",
        "percent",
        "percent-lower-hex",
        "form-encoded",
        "url-userinfo",
    ],
)
def test_a_secret_is_redacted_however_the_text_escaped_it(spelling: str) -> None:
    scrubbed = text_of(scrub_event({"message": f"failed with {spelling}"}, [ODD_SECRET]))

    assert REDACTED in scrubbed
    assert "pa55" not in scrubbed


def test_secrets_too_short_to_be_told_from_text_are_not_matched() -> None:
    scrubbed = scrub_event({"message": "the key is abc"}, ["abc"])
    assert scrubbed["message"] == "the key is abc"


def test_bytes_and_image_data_in_any_form_are_removed() -> None:
    event: Any = {
        "extra": {
            "raw": IMAGE,
            "buffer": bytearray(NOISE),
            "as_base64": base64.b64encode(IMAGE).decode(),
            "as_hex": f"sha of {IMAGE.hex()}",
            "as_latin1": NOISE.decode("latin-1"),
            "as_repr": f"value={NOISE!r} at offset 3",
            "cut_short": repr(NOISE)[:300],
            "original_value": "any text under a payload field",
        },
        "exception": {"values": [{"type": "ImageRejected", "value": f"bad image {IMAGE!r}"}]},
        "logentry": {"message": "Crashed reason=%r", "params": [repr(NOISE)]},
    }
    scrubbed = scrub_event(event, SECRETS)
    text = text_of(scrubbed)
    for blob in (IMAGE, NOISE):
        for form in leaked_image_forms(blob):
            assert form not in text
    assert scrubbed["extra"]["as_latin1"] == "[redacted binary]"
    assert "any text under a payload field" not in text
    assert "value=[redacted bytes] at offset 3" in text


def test_tags_identifiers_and_ordinary_messages_are_kept() -> None:
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    event: Any = {
        "tags": {"event_id": "evt-0042", "tenant": "Zürich-株式会社", "stage": "fetch"},
        "message": f"image {sha256} of 1.2 MB rejected: not an image of an accepted format",
        "extra": {"uri": "s3://ingest-bucket/2026/01/01/cat.jpg", "run": "e" * 300},
        "exception": {"values": [{"type": "UriNotAllowed", "value": "ftp://x/y.jpg"}]},
    }
    assert scrub_event(event, SECRETS) == event


def test_request_bodies_cookies_and_frame_variables_are_dropped() -> None:
    frame = {"function": "prove", "lineno": 3, "vars": {"data": "local value"}}
    event: Any = {
        "request": {"url": "http://127.0.0.1/health", "data": "body", "cookies": "c=1"},
        "exception": {"values": [{"stacktrace": {"frames": [frame]}}]},
        "threads": {"values": [{"stacktrace": {"frames": [frame]}}]},
    }
    scrubbed = scrub_event(event, SECRETS)
    assert scrubbed["request"] == {"url": "http://127.0.0.1/health"}
    assert "local value" not in text_of(scrubbed)
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] == "prove"


def test_without_a_dsn_nothing_is_initialised() -> None:
    for dsn in (None, ""):
        assert init_error_reporting(dsn, environment="e", release="r", secrets=[]) is False
    assert not sentry_sdk.get_client().is_active()


def test_settings_secrets_are_every_secret_string_of_the_settings() -> None:
    settings = Settings(_env_file=None).updated(
        s3={"access_key_id": SecretStr("AKIAEXAMPLE"), "secret_access_key": SecretStr(S3_SECRET)},
        signing={"key_pem": SecretStr(PEM)},
        monitoring={"sentry_dsn": SecretStr(DSN)},
    )
    assert sorted(settings_secrets(settings)) == sorted(["AKIAEXAMPLE", S3_SECRET, PEM, DSN])


def test_a_dead_letter_is_an_event_with_its_tags_traceback_and_source(
    reported: Reported,
) -> None:
    error = raised(UriNotAllowed(f"host not allowed: https://evil.test/{S3_SECRET}"))
    value = b"\xc3\x01" + IMAGE
    SentryObserver().dead_lettered(failure_of(error, EVENT, value), error, EVENT)

    (event,) = reported
    assert event["tags"] == {
        "agent": "prove",
        "stage": "fetch",
        "error_class": "UriNotAllowed",
        "event_id": "evt-0042",
        "tenant": "acme",
    }
    assert event["contexts"]["kafka"] == {
        "topic": "images.submitted",
        "partition": 4,
        "offset": 1234,
        "attempts": 1,
    }
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "UriNotAllowed"
    assert exception["value"] == f"host not allowed: https://evil.test/{REDACTED}"
    frames = exception["stacktrace"]["frames"]
    assert frames[-1]["function"] == "raised"
    assert not any("vars" in frame for frame in frames)
    assert event["environment"] == "test"
    assert event["release"] == "credlink-streams@test"
    text = text_of(event)
    assert S3_SECRET not in text
    assert "evt-0042" in text
    for form in leaked_image_forms(value):
        assert form not in text


def test_an_undecodable_record_is_reported_without_event_id_or_tenant(
    reported: Reported,
) -> None:
    error = raised(DecodeFailed("not an Avro single-object message: starts with 0001"))
    SentryObserver().dead_lettered(failure_of(error, None, b"\x00\x01" + NOISE), error, None)

    (event,) = reported
    assert event["tags"] == {"agent": "prove", "stage": "decode", "error_class": "DecodeFailed"}


def test_a_retry_is_a_breadcrumb_of_the_next_event_not_an_event(reported: Reported) -> None:
    observer = SentryObserver()
    observer.retrying(TransientError(f"S3 throttled, key {S3_SECRET}"), attempt=2, delay=0.4)
    assert reported == []

    error = raised(UriNotAllowed("file:///etc/passwd"))
    observer.dead_lettered(failure_of(error, EVENT, b""), error, EVENT)
    (event,) = reported
    (crumb,) = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "retry"]
    assert crumb["data"]["attempt"] == 2
    assert crumb["data"]["error_class"] == "TransientError"
    assert S3_SECRET not in text_of(crumb)
    assert REDACTED in crumb["message"]


def test_the_observer_never_raises(reported: Reported, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the SDK broke")

    monkeypatch.setattr(sentry_sdk, "capture_exception", broken)
    monkeypatch.setattr(sentry_sdk, "add_breadcrumb", broken)
    error = raised(UriNotAllowed("file:///etc/passwd"))
    observer = SentryObserver()
    observer.dead_lettered(failure_of(error, EVENT, b""), error, EVENT)
    observer.retrying(TransientError("throttled"), attempt=1, delay=0.2)
    assert reported == []


def test_an_exception_escaping_an_agent_is_reported_tagged_with_the_agent(
    reported: Reported,
) -> None:
    # Faust logs an agent crash with `logger.exception`; no broker is contacted here.
    app = faust.App("error-reporting-test", broker="kafka://127.0.0.1:9", autodiscover=False)

    @app.agent(app.channel(), name="prove")
    async def prove(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            raise RuntimeError(f"bug while proving {value!r} with {S3_SECRET}")

    async def crash() -> None:
        async with prove.test_context() as agent:
            with pytest.raises(RuntimeError):
                await agent.put(IMAGE)

    asyncio.run(crash())

    (event,) = [e for e in reported if e.get("logger") == "faust.agents.actor"]
    assert event["level"] == "error"
    assert event["tags"]["agent"] == "prove"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["stacktrace"]["frames"][-1]["function"] == "prove"
    assert "Crashed reason=" in event["logentry"]["message"]
    text = text_of(event)
    assert S3_SECRET not in text
    for form in leaked_image_forms(IMAGE):
        assert form not in text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_one_error_class_is_reported_a_bounded_number_of_times_a_minute(
    reported: Reported,
) -> None:
    clock = Clock()
    observer = SentryObserver(reports_per_minute=3, clock=clock)
    for _ in range(10):
        rejected = raised(UriNotAllowed("file:///etc/passwd"))
        observer.dead_lettered(failure_of(rejected, EVENT, b""), rejected, EVENT)
        clock.now += 1
    undecodable = raised(DecodeFailed("not an Avro single-object message"))
    observer.dead_lettered(failure_of(undecodable, None, b"\x00"), undecodable, None)

    classes = [event["tags"]["error_class"] for event in reported]
    assert classes == ["UriNotAllowed"] * 3 + ["DecodeFailed"]
    assert all("unreported_since_last_report" not in e["contexts"]["kafka"] for e in reported)


def test_the_next_minute_reports_again_and_says_how_many_went_unreported(
    reported: Reported,
) -> None:
    clock = Clock()
    observer = SentryObserver(reports_per_minute=2, clock=clock)

    def dead_letter() -> None:
        # A new exception each time: the SDK drops an exception object it has sent before.
        error = raised(UriNotAllowed("file:///etc/passwd"))
        observer.dead_lettered(failure_of(error, EVENT, b""), error, EVENT)

    for _ in range(7):
        dead_letter()
    clock.now += 60
    dead_letter()
    dead_letter()

    assert len(reported) == 4
    assert reported[2]["contexts"]["kafka"]["unreported_since_last_report"] == 5
    assert "unreported_since_last_report" not in reported[3]["contexts"]["kafka"]
