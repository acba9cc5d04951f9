"""Hostile input, property by property: whatever arrives, the worker answers with one outcome.

Arbitrary, truncated and bit-flipped records, events of another schema, arbitrary and mutated
image bytes, URIs aimed past the allow-list and tenants in odd Unicode go through the real
decoder, pipeline and fetcher policy (no network: HTTP goes to a mock transport, S3 to moto in
process). Each must end as a proof or as a dead letter with a clear reason, never as an
exception that would stop the agent, and no URI outside the allow-list may ever be requested.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from streams.core.codecs import (
    Codec,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
    SchemaSet,
    SingleObjectCodec,
)
from streams.core.dead_letters import MAX_MESSAGE_CHARS, InputEvent, SourceMessage, dead_letter
from streams.core.errors import (
    DecodeFailed,
    FetchFailed,
    ImageRejected,
    ImageTooLarge,
    InputRejected,
    UnexpectedFailure,
    UriNotAllowed,
)
from streams.core.fetching import MAX_REDIRECTS, FetchPolicy, ImageFetcher
from streams.core.imaging import ImageFacts, inspect_image
from streams.core.observing import PipelineObserver, Stage
from streams.core.pipeline import MAX_ID_CHARS
from streams.core.processor import DeadLettered, EventProcessor, ProcessingResult, Proved
from streams.core.retry import RetryPolicy
from streams.core.stores.s3 import make_s3_client
from tests.support.codec_samples import PROCESSING_FAILED, PROOF_CREATED
from tests.support.hostile_uris import HOSTILE_URIS, hostile_uri
from tests.support.http_fakes import Recorder, redirects_to
from tests.support.images import encode, photo
from tests.support.pipeline_fakes import EVENT, FailingStore, MemoryStore, make_pipeline

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TOPIC = "images.submitted"
KEY = b"hostile"
HOST = "allowed.host"
BUCKET = "allowed-bucket"
IMAGE_MAX_BYTES = 1024 * 1024
IMAGE_MAX_PIXELS = 1_000_000

# The rejections a record may end in: a dead letter of any other class (`UnexpectedFailure`)
# means some input reached code that did not expect it.
REJECTIONS = {
    "DecodeFailed",
    "InvalidEvent",
    "UriNotAllowed",
    "FetchFailed",
    "ImageRejected",
    "ImageTooLarge",
}

# Pillow warns about the corrupt data it is fed here, which is the point of feeding it.
CORRUPT_IMAGE_WARNINGS = pytest.mark.filterwarnings("ignore::UserWarning:PIL")

# Bounded so that the whole file runs in seconds; `deadline=None` because the first examples
# pay for imports and decoder set-up.
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the processor: records in, one outcome out ---------------------------------------------


@dataclass(frozen=True)
class Worker:
    """A processor on the real decoder and pipeline; its fetcher allows no URI at all."""

    processor: EventProcessor
    store: MemoryStore
    codec: Codec

    def process(self, value: bytes | None, key: bytes | None = KEY) -> ProcessingResult:
        source = SourceMessage(topic=TOPIC, partition=0, offset=7, key=key, value=value)
        return asyncio.run(self.processor.process(source))

    def encode(self, event: ImageReference) -> bytes:
        return self.codec.encode(event.to_avro())


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    store = MemoryStore()
    codec = SingleObjectCodec(SchemaSet.load(), ImageReference.SCHEMA)
    with ImageFetcher(FetchPolicy()) as fetcher, ThreadPoolExecutor(max_workers=1) as executor:
        processor = EventProcessor(
            pipeline=make_pipeline(store, fetcher),
            input_codec=codec,
            executor=executor,
            retry=RetryPolicy(),
        )
        yield Worker(processor, store, codec)


def assert_one_clear_outcome(outcome: ProcessingResult, value: bytes | None) -> None:
    """A proof, or a dead letter of a known rejection whose reason is one printable line of
    bounded length, with the original record kept for replay."""
    if isinstance(outcome, Proved):
        return
    failure = outcome.failure
    assert failure.error_class in REJECTIONS, (failure.error_class, failure.message)
    assert 0 < len(failure.message) <= MAX_MESSAGE_CHARS
    assert failure.message.isprintable(), failure.message  # hence a single line
    assert (failure.original_key, failure.original_value) == (KEY, value)


def dead_letter_for(worker: Worker, value: bytes | None) -> ProcessingFailed:
    """The dead letter `value` must end in, checked by `assert_one_clear_outcome`."""
    outcome = worker.process(value)
    assert_one_clear_outcome(outcome, value)
    assert isinstance(outcome, DeadLettered), outcome
    return outcome.failure


@pytest.fixture(scope="module")
def valid_record(worker: Worker) -> bytes:
    return worker.encode(EVENT)


@CORRUPT_IMAGE_WARNINGS
@PROPERTY
@given(value=st.binary(max_size=2048))
def test_arbitrary_bytes_as_the_record_value_end_in_one_clear_outcome(
    worker: Worker, value: bytes
) -> None:
    outcome = worker.process(value)

    assert_one_clear_outcome(outcome, value)


@PROPERTY
@given(data=st.data())
def test_a_truncated_event_is_dead_lettered_as_undecodable(
    worker: Worker, valid_record: bytes, data: st.DataObject
) -> None:
    value = valid_record[: data.draw(st.integers(0, len(valid_record) - 1), label="length")]

    failure = dead_letter_for(worker, value)

    assert (failure.stage, failure.error_class) == ("decode", "DecodeFailed")


@CORRUPT_IMAGE_WARNINGS
@PROPERTY
@given(data=st.data())
def test_an_event_with_flipped_bits_ends_in_one_clear_outcome(
    worker: Worker, valid_record: bytes, data: st.DataObject
) -> None:
    flips = data.draw(
        st.lists(st.integers(0, len(valid_record) * 8 - 1), min_size=1, max_size=8), label="bits"
    )
    value = bytearray(valid_record)
    for bit in flips:
        value[bit // 8] ^= 1 << (bit % 8)

    outcome = worker.process(bytes(value))

    assert_one_clear_outcome(outcome, bytes(value))


@CORRUPT_IMAGE_WARNINGS
@PROPERTY
@given(data=st.data())
def test_an_event_with_spliced_in_bytes_ends_in_one_clear_outcome(
    worker: Worker, valid_record: bytes, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(valid_record)), label="at")
    cut = data.draw(st.integers(0, 16), label="removed")
    value = valid_record[:at] + data.draw(st.binary(max_size=32)) + valid_record[at + cut :]

    outcome = worker.process(value)

    assert_one_clear_outcome(outcome, value)


@pytest.mark.parametrize(
    ("schema", "record"),
    [
        (ProcessingFailed.SCHEMA, PROCESSING_FAILED.to_avro()),
        (ProofCreated.SCHEMA, PROOF_CREATED.to_avro()),
    ],
    ids=["ProcessingFailed", "ProofCreated"],
)
def test_a_valid_event_of_another_schema_is_dead_lettered_naming_both_schemas(
    worker: Worker, schema: str, record: dict[str, Any]
) -> None:
    value = SingleObjectCodec(SchemaSet.load(), schema).encode(record)

    failure = dead_letter_for(worker, value)

    assert failure.error_class == "DecodeFailed"
    assert schema.rsplit(".", 1)[1] in failure.message
    assert "ImageReference" in failure.message


def test_a_tombstone_is_dead_lettered_as_undecodable(worker: Worker) -> None:
    failure = dead_letter_for(worker, None)

    assert failure.error_class == "DecodeFailed"


# --- image bytes -------------------------------------------------------------------------------


def _inspect(data: bytes) -> ImageFacts:
    return inspect_image(data, max_bytes=IMAGE_MAX_BYTES, max_pixels=IMAGE_MAX_PIXELS)


SAMPLE_IMAGES = {
    image_format: encode(photo(48, 40, seed=index), image_format)
    for index, image_format in enumerate(("JPEG", "PNG", "GIF", "TIFF", "WEBP", "BMP"))
}


def assert_facts_or_rejection(data: bytes) -> None:
    """Hashing `data` gives facts of exactly these bytes, or an image rejection; nothing else."""
    try:
        facts = _inspect(data)
    except ImageRejected as error:
        message = str(error)
    else:
        assert facts.byte_size == len(data)
        assert 0 < facts.width * facts.height <= IMAGE_MAX_PIXELS
        return
    assert message


@CORRUPT_IMAGE_WARNINGS
@PROPERTY
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_are_hashed_or_rejected_as_an_image(data: bytes) -> None:
    assert_facts_or_rejection(data)


@CORRUPT_IMAGE_WARNINGS
@PROPERTY
@given(image_format=st.sampled_from(sorted(SAMPLE_IMAGES)), data=st.data())
def test_a_mutated_image_is_hashed_or_rejected(image_format: str, data: st.DataObject) -> None:
    image = bytearray(SAMPLE_IMAGES[image_format])
    for _ in range(data.draw(st.integers(1, 6), label="writes")):
        at = data.draw(st.integers(0, len(image) - 1), label="at")
        patch = data.draw(st.binary(min_size=1, max_size=8), label="patch")
        image[at : at + len(patch)] = patch
    cut = data.draw(st.integers(1, len(image)), label="kept")

    assert_facts_or_rejection(bytes(image[:cut]))


@CORRUPT_IMAGE_WARNINGS
@PROPERTY
@given(image_format=st.sampled_from(sorted(SAMPLE_IMAGES)), data=st.data())
def test_a_header_of_a_valid_image_with_any_dimensions_is_hashed_or_rejected(
    image_format: str, data: st.DataObject
) -> None:
    # The first 32 bytes hold each format's declared width and height: overwrite them with
    # extreme values (0, 1, 0xffff, 0xffffffff, ...) as a decompression bomb would.
    image = bytearray(SAMPLE_IMAGES[image_format])
    extreme = st.sampled_from([b"\x00", b"\x01", b"\x7f", b"\x80", b"\xff"])
    for _ in range(data.draw(st.integers(1, 4), label="writes")):
        at = data.draw(st.integers(0, 31), label="at")
        image[at : at + 4] = data.draw(extreme, label="byte") * 4

    assert_facts_or_rejection(bytes(image))


# --- URIs: the fetcher's allow-list ------------------------------------------------------------


@dataclass
class Fetching:
    """A fetcher allowing `s3://allowed-bucket`, files under `root` and `https://allowed.host`,
    with every HTTP request and S3 call it makes recorded."""

    fetcher: ImageFetcher
    http: Recorder
    s3_calls: list[dict[str, Any]]
    root: Path

    def requests_made(self) -> int:
        return len(self.http.requests) + len(self.s3_calls)


@pytest.fixture(scope="module")
def fetching(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fetching]:
    base = tmp_path_factory.mktemp("fetching")
    root, outside = base / "images", base / "private"
    root.mkdir()
    outside.mkdir()
    (root / "cat.png").write_bytes(SAMPLE_IMAGES["PNG"])
    (outside / "passwd").write_bytes(b"root:x:0:0:secret")
    recorder = Recorder()
    s3_calls: list[dict[str, Any]] = []
    with mock_aws():
        s3: S3Client = make_s3_client(None, "us-east-1", "testing", "testing", max_attempts=1)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="cat.png", Body=SAMPLE_IMAGES["PNG"])
        s3.meta.events.register(
            "provide-client-params.s3.GetObject", lambda params, **_: s3_calls.append(params)
        )
        policy = FetchPolicy(
            allowed_s3_buckets=frozenset({BUCKET}),
            file_roots=(root,),
            allowed_https_hosts=frozenset({HOST}),
            max_bytes=IMAGE_MAX_BYTES,
            attempts=1,
        )
        http = httpx.Client(transport=recorder.transport(lambda _: httpx.Response(404)))
        with ImageFetcher(policy, s3, http) as fetcher:
            yield Fetching(fetcher, recorder, s3_calls, root)


@pytest.fixture
def fresh(fetching: Fetching) -> Fetching:
    fetching.http.requests.clear()
    fetching.s3_calls.clear()
    return fetching


@pytest.mark.parametrize("uri", HOSTILE_URIS)
def test_a_hostile_uri_is_refused_before_any_request(fresh: Fetching, uri: str) -> None:
    with pytest.raises(UriNotAllowed) as raised:
        fresh.fetcher.fetch(hostile_uri(uri, host=HOST, bucket=BUCKET, root=fresh.root))

    assert fresh.requests_made() == 0
    assert str(raised.value).isprintable()
    assert len(str(raised.value)) <= MAX_MESSAGE_CHARS


def test_the_allowed_sources_are_fetched(fresh: Fetching) -> None:
    image = SAMPLE_IMAGES["PNG"]

    assert fresh.fetcher.fetch(f"s3://{BUCKET}/cat.png") == image
    assert fresh.fetcher.fetch((fresh.root / "cat.png").as_uri()) == image
    with pytest.raises(FetchFailed, match="HTTP 404"):
        fresh.fetcher.fetch(f"https://{HOST}/cat.png")
    assert [call["Bucket"] for call in fresh.s3_calls] == [BUCKET]
    assert [str(request.url) for request in fresh.http.requests] == [f"https://{HOST}/cat.png"]


def urls_requested_following(location: str, error: type[Exception]) -> list[str]:
    """The URLs requested when fetching from the allowed host, which redirects every request
    to `location`; the fetch must fail with `error`."""
    recorder = Recorder()
    policy = FetchPolicy(allowed_https_hosts=frozenset({HOST}), attempts=1)
    http = httpx.Client(transport=recorder.transport(redirects_to(location)))
    with ImageFetcher(policy, http_client=http) as fetcher, pytest.raises(error):
        fetcher.fetch(f"https://{HOST}/image.png")
    return [str(request.url) for request in recorder.requests]


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/",
        "https://127.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://2130706433/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:a9fe:a9fe]/latest/meta-data/",
        f"https://{HOST}@169.254.169.254/",
        "//169.254.169.254/latest/meta-data/",
        "https:/\\169.254.169.254/",
        "file:///etc/passwd",
        f"s3://{BUCKET}/cat.png",
        f"https://{HOST}:8443/image.png",
    ],
)
def test_a_redirect_to_a_disallowed_target_is_refused_without_following_it(
    location: str,
) -> None:
    requested = urls_requested_following(location, UriNotAllowed)

    assert requested == [f"https://{HOST}/image.png"]


def test_a_redirect_with_a_malformed_location_is_not_followed() -> None:
    location = "https://169.254.169.254/\r\nX-Injected: 1"

    requested = urls_requested_following(location, InputRejected)

    assert requested == [f"https://{HOST}/image.png"]


def test_a_redirect_loop_within_the_allow_list_ends_after_the_bounded_number_of_hops() -> None:
    requested = urls_requested_following(f"https://{HOST}/loop", FetchFailed)

    assert len(requested) == MAX_REDIRECTS + 1


_URI_PARTS = st.sampled_from(
    ["/", "\\", ".", "..", "%2e", "%2f", "%00", "%", "@", ":", "#", "?", "[", "]", "::1", "~"]
)
_AUTHORITIES = st.sampled_from(
    [
        HOST,
        BUCKET,
        "",
        "localhost",
        "127.0.0.1",
        "169.254.169.254",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0x7f.1",
        f"{HOST}@169.254.169.254",
        f"169.254.169.254@{HOST}",
        f"{HOST}:443",
        f"{HOST}:0",
        "other-bucket",
    ]
)
_SCHEMES = st.sampled_from(["https://", "http://", "s3://", "file://", "HTTPS://", "S3://", ""])
_URIS = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda scheme, authority, parts, tail: scheme + authority + "".join(parts) + tail,
        _SCHEMES,
        _AUTHORITIES,
        st.lists(st.one_of(_URI_PARTS, st.text(max_size=6)), max_size=12),
        st.sampled_from(["", "cat.png", "/cat.png", "/../private/passwd"]),
    ),
)


@PROPERTY
@given(uri=_URIS)
def test_any_uri_is_refused_or_fetched_only_from_the_allow_list(
    fetching: Fetching, uri: str
) -> None:
    fetching.http.requests.clear()
    fetching.s3_calls.clear()
    try:
        data = fetching.fetcher.fetch(uri)
    except (UriNotAllowed, FetchFailed, ImageTooLarge) as error:
        message = str(error)
    else:
        # Only the allowed file and the allowed object hold these bytes; the private file and
        # the 404 of the HTTP stand-in never arrive as an image.
        message = "fetched"
        assert data == SAMPLE_IMAGES["PNG"]
    assert message.isprintable()
    for request in fetching.http.requests:
        assert (request.url.scheme, request.url.host, request.url.port) == ("https", HOST, None)
    assert all(call["Bucket"] == BUCKET for call in fetching.s3_calls)


@pytest.mark.parametrize("uri", ["http://127.0.0.1/x.png", "https://169.254.169.254/"])
def test_a_disallowed_uri_is_dead_lettered_at_the_fetch_stage(worker: Worker, uri: str) -> None:
    value = worker.encode(replace(EVENT, uri=uri, inline_bytes=None))

    failure = dead_letter_for(worker, value)

    assert (failure.stage, failure.error_class) == ("fetch", "UriNotAllowed")


# --- tenants -----------------------------------------------------------------------------------


def _stored_tenant(worker: Worker, proof: ProofCreated) -> str:
    envelope = json.loads(worker.store.objects[proof.location.key])
    return str(envelope["proof"]["tenant"])


@pytest.mark.parametrize(
    "tenant",
    [
        "שלום-עולם",  # right-to-left script, no direction marks
        "مرحبا",
        "école",
        "e\u0301cole",  # the same word with a combining acute accent: a different tenant
        "Zürich-株式会社",
        "🦊-tenant",
        "❤\ufe0f",  # emoji with a variation selector (a mark, not a format character)
        "a b",
        "t" * MAX_ID_CHARS,
    ],
)
def test_a_tenant_in_any_script_is_proved_and_kept_exactly(worker: Worker, tenant: str) -> None:
    value = worker.encode(replace(EVENT, tenant=tenant))

    outcome = worker.process(value)

    assert isinstance(outcome, Proved), outcome
    assert outcome.proof.tenant == tenant
    assert _stored_tenant(worker, outcome.proof) == tenant


def test_tenants_differing_only_in_unicode_normalisation_get_different_proofs(
    worker: Worker,
) -> None:
    composed = worker.process(worker.encode(replace(EVENT, tenant="école")))
    decomposed = worker.process(worker.encode(replace(EVENT, tenant="e\u0301cole")))

    assert isinstance(composed, Proved)
    assert isinstance(decomposed, Proved)
    assert composed.proof.proof_id != decomposed.proof.proof_id


@pytest.mark.parametrize(
    "tenant",
    [
        "",
        "t" * (MAX_ID_CHARS + 1),
        "ac\x00me",
        "acme\n",
        "\u200facme",  # right-to-left mark
        "acme\u202egpj.exe",  # right-to-left override
        "ac\u200dme",  # zero-width joiner
        "👩\u200d💻",  # an emoji sequence joined by a zero-width joiner
        "\ufeffacme",  # byte-order mark
        " acme",
        "acme\u3000",  # ideographic space
        "\ue000acme",  # private use
        "acme\U000e0001",  # language tag (a format character)
        "\U0010ffff",  # a noncharacter, unassigned
    ],
)
def test_a_tenant_with_invisible_control_or_unassigned_characters_is_an_invalid_event(
    worker: Worker, tenant: str
) -> None:
    value = worker.encode(replace(EVENT, tenant=tenant))

    failure = dead_letter_for(worker, value)

    assert (failure.stage, failure.error_class) == ("validate", "InvalidEvent")
    assert failure.tenant == tenant


def test_a_tenant_that_is_no_utf8_is_an_undecodable_event(worker: Worker) -> None:
    marker = "T" * 8
    value = worker.encode(replace(EVENT, tenant=marker)).replace(
        marker.encode(),
        b"\xed\xa0\x80\xff\xfe\xc0\xaf\x80",  # a UTF-16 surrogate, then junk
    )

    failure = dead_letter_for(worker, value)

    assert failure.error_class == "DecodeFailed"


@PROPERTY
@given(tenant=st.text(max_size=MAX_ID_CHARS + 8))
def test_any_tenant_is_proved_unchanged_or_dead_lettered_as_an_invalid_event(
    worker: Worker, tenant: str
) -> None:
    value = worker.encode(replace(EVENT, tenant=tenant))

    outcome = worker.process(value)

    assert_one_clear_outcome(outcome, value)
    if isinstance(outcome, Proved):
        assert outcome.proof.tenant == tenant
        assert _stored_tenant(worker, outcome.proof) == tenant
    else:
        assert (outcome.failure.error_class, outcome.failure.tenant) == ("InvalidEvent", tenant)


# --- reasons of dead letters -------------------------------------------------------------------


class RecordingObserver(PipelineObserver):
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def dead_lettered(
        self, failure: ProcessingFailed, error: BaseException, event: InputEvent | None
    ) -> None:
        self.errors.append(error)


SECRET = "AKIAHOSTILE0123456789"


def test_an_unexpected_error_is_dead_lettered_by_class_without_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cause = RuntimeError(f"request signed with {SECRET} failed\nsecret={SECRET}")
    observer = RecordingObserver()
    with ImageFetcher(FetchPolicy()) as fetcher, ThreadPoolExecutor(max_workers=1) as executor:
        processor = EventProcessor(
            pipeline=make_pipeline(FailingStore(cause), fetcher),
            input_codec=SingleObjectCodec(SchemaSet.load(), ImageReference.SCHEMA),
            executor=executor,
            retry=RetryPolicy(),
            observer=observer,
        )
        value = SingleObjectCodec(SchemaSet.load(), ImageReference.SCHEMA).encode(EVENT.to_avro())
        source = SourceMessage(topic=TOPIC, partition=0, offset=1, key=KEY, value=value)
        with caplog.at_level(logging.DEBUG):
            outcome = asyncio.run(processor.process(source))

    assert isinstance(outcome, DeadLettered)
    failure = outcome.failure
    assert (failure.stage, failure.error_class) == ("store", "UnexpectedFailure")
    assert "RuntimeError" in failure.message
    assert SECRET not in failure.message
    assert SECRET not in caplog.text
    # The error report (scrubbed of configured secrets) still gets the whole chain.
    (reported,) = observer.errors
    assert reported.__cause__ is cause


@pytest.mark.parametrize(
    "error",
    [
        ImageRejected("first line\nsecond line\r\n\x1b[31mred\x1b[0m \u202eevil\x00"),
        DecodeFailed("\t" * 5000),
        UriNotAllowed("x" * 5000),
        FetchFailed(""),
        UnexpectedFailure(Stage.SIGN, ValueError("\n".join(["trace"] * 500))),
    ],
    ids=["control-characters", "tabs", "long", "empty", "unexpected"],
)
def test_a_dead_letter_reason_is_one_printable_bounded_line(error: InputRejected) -> None:
    source = SourceMessage(topic=TOPIC, partition=0, offset=0, key=KEY, value=b"v")

    failure = dead_letter(source, error, attempts=1, failed_at_ms=0)

    assert 0 < len(failure.message) <= MAX_MESSAGE_CHARS
    assert failure.message.isprintable()
    assert failure.error_class == type(error).__name__
