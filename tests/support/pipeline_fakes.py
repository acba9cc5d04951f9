"""Fakes and samples shared by the specifications of the pipeline and its processor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from streams.core.codecs import ImageReference
from streams.core.fetching import ImageFetcher
from streams.core.memory_budget import MemoryBudget
from streams.core.pipeline import ImageLimits, ProofPipeline
from streams.core.signing import KeySet, Signer
from streams.core.stores.base import ProofNotFound, ProofStore, StoredObject, StoredProof
from tests.support.images import encode, photo

SUBMITTED_AT_MS = 1_718_000_000_123  # 2024-06-10T06:13:20.123Z
KEY_PREFIX = "proofs/"
RETENTION_DAYS = 30
LIMITS = ImageLimits(max_bytes=1024 * 1024, max_pixels=1_000_000)

SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
KEY_SET = KeySet([SIGNER.public_key])

IMAGES = {
    "JPEG": (encode(photo(96, 64, seed=1), "JPEG", quality=90), (96, 64)),
    "PNG": (encode(photo(80, 120, seed=2), "PNG"), (80, 120)),
    "WEBP": (encode(photo(72, 48, seed=3), "WEBP", quality=80), (72, 48)),
}
PNG = IMAGES["PNG"][0]

EVENT = ImageReference(
    event_id="evt-0001",
    tenant="acme",
    uri="https://images.example.com/cat.png",
    inline_bytes=PNG,
    content_type="image/png",
    submitted_at=SUBMITTED_AT_MS,
)


P = ParamSpec("P")
T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each call as it is submitted, on the caller's thread: a pool with no threads."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


class MemoryStore(ProofStore):
    """An in-memory store that keeps what it is given, metadata included."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.metadata: dict[str, dict[str, str]] = {}
        self.content_types: dict[str, str] = {}

    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof:
        self.objects[key] = data
        self.metadata[key] = dict(metadata)
        self.content_types[key] = content_type
        return StoredProof(store="memory", key=key)

    def _get(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise ProofNotFound(key) from None

    def _exists(self, key: str) -> bool:
        return key in self.objects

    def _stat(self, key: str) -> StoredObject | None:
        if key not in self.objects:
            return None
        return StoredObject(
            StoredProof(store="memory", key=key), len(self.objects[key]), self.metadata[key]
        )


class FailingStore(MemoryStore):
    """A store whose writes raise `errors` in turn, then succeed."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__()
        self.pending = list(errors)

    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof:
        if self.pending:
            raise self.pending.pop(0)
        return super()._put(key, data, metadata, content_type)


def make_pipeline(
    store: ProofStore,
    fetcher: ImageFetcher,
    limits: ImageLimits = LIMITS,
    decode_budget: MemoryBudget | None = None,
) -> ProofPipeline:
    return ProofPipeline(
        fetcher=fetcher,
        signer=SIGNER,
        store=store,
        limits=limits,
        key_prefix=KEY_PREFIX,
        retention_days=RETENTION_DAYS,
        hashing=InlineExecutor(),
        decode_budget=decode_budget,
    )


class RecordingBudget(MemoryBudget):
    """A roomy budget that remembers every reservation."""

    def __init__(self) -> None:
        super().__init__(1 << 40)
        self.reserved: list[int] = []

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        self.reserved.append(amount)
        with super().reserve(amount):
            yield
