"""The caching proof store: an LRU in front of another store, for reads."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import pytest

from streams.core.stores.base import (
    InvalidProofKey,
    ProofNotFound,
    ProofStore,
    StoredObject,
    StoredProof,
)
from streams.core.stores.cache import CachedProofStore

METADATA = {"proof-id": "p"}


class CountingStore(ProofStore):
    """An in-memory store that counts how often it is asked."""

    def __init__(self) -> None:
        self.proofs: dict[str, bytes] = {}
        self.gets = 0
        self.puts = 0

    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof:
        self.puts += 1
        self.proofs[key] = data
        return StoredProof(store="memory", key=key)

    def _get(self, key: str) -> bytes:
        self.gets += 1
        try:
            return self.proofs[key]
        except KeyError:
            raise ProofNotFound(key) from None

    def _exists(self, key: str) -> bool:
        return key in self.proofs

    def _stat(self, key: str) -> StoredObject | None:
        if key not in self.proofs:
            return None
        return StoredObject(StoredProof(store="memory", key=key), len(self.proofs[key]), {})


@pytest.fixture
def inner() -> CountingStore:
    store = CountingStore()
    store.proofs.update({"a": b"A", "b": b"B", "c": b"C"})
    return store


def test_repeated_reads_are_served_without_asking_the_inner_store(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)

    assert [cache.get("a") for _ in range(3)] == [b"A", b"A", b"A"]
    assert inner.gets == 1


def test_least_recently_used_entry_is_evicted_first(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)
    cache.get("a")
    cache.get("b")
    cache.get("a")

    cache.get("c")

    assert inner.gets == 3
    cache.get("a")
    assert inner.gets == 3
    cache.get("b")
    assert inner.gets == 4


def test_writes_go_through_and_fill_the_cache(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)

    stored = cache.put("d", b"D", METADATA)

    assert stored == StoredProof(store="memory", key="d")
    assert inner.proofs["d"] == b"D"
    assert cache.get("d") == b"D"
    assert inner.gets == 0


def test_rewrite_replaces_the_cached_bytes(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)
    cache.get("a")

    cache.put("a", b"A2", METADATA)

    assert cache.get("a") == b"A2"


def test_missing_proofs_are_not_cached(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)

    for _ in range(2):
        with pytest.raises(ProofNotFound):
            cache.get("missing")

    assert inner.gets == 2


def test_exists_answers_from_the_cache_or_the_inner_store(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)
    cache.put("d", b"D", METADATA)

    assert cache.exists("d")
    assert cache.exists("a")
    assert not cache.exists("missing")


def test_unsafe_keys_are_refused_by_the_cache_too(inner: CountingStore) -> None:
    cache = CachedProofStore(inner, max_entries=2)

    with pytest.raises(InvalidProofKey):
        cache.get("../a")


def test_concurrent_readers_see_consistent_bytes_and_a_bounded_cache() -> None:
    inner = CountingStore()
    inner.proofs.update({f"p-{n}": f"proof {n}".encode() for n in range(50)})
    cache = CachedProofStore(inner, max_entries=10)
    keys = [f"p-{n % 50}" for n in range(2000)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(cache.get, keys))

    assert results == [inner.proofs[key] for key in keys]
    inner.gets = 0
    for n in range(50):
        cache.get(f"p-{n}")
    assert inner.gets >= 40


def test_cache_needs_room_for_at_least_one_entry(inner: CountingStore) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        CachedProofStore(inner, max_entries=0)
