"""An in-memory LRU cache in front of another proof store, for repeated reads of hot proofs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from streams.core.stores.base import ProofStore, StoredObject, StoredProof

__all__ = ["CachedProofStore"]


class CachedProofStore(ProofStore):
    """Serves `get` from memory when it can; writes go through to `inner` and fill the cache.

    Holds at most `max_entries` proofs, evicting the least recently used. Safe to share between
    threads. Only this process's writes are seen: a proof rewritten elsewhere stays stale here
    until evicted.
    """

    def __init__(self, inner: ProofStore, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._inner = inner
        self._max_entries = max_entries
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CachedProofStore({self._inner!r}, max_entries={self._max_entries})"

    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof:
        stored = self._inner.put(key, data, metadata, content_type=content_type)
        self._remember(key, data)
        return stored

    def _get(self, key: str) -> bytes:
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
                return data
        # The inner read happens outside the lock so one slow miss does not stall every reader.
        data = self._inner.get(key)
        self._remember(key, data)
        return data

    def _exists(self, key: str) -> bool:
        with self._lock:
            if key in self._entries:
                return True
        return self._inner.exists(key)

    def _stat(self, key: str) -> StoredObject | None:
        # Only the bytes are cached: the metadata comes from the store that has it.
        return self._inner.stat(key)

    def _remember(self, key: str, data: bytes) -> None:
        with self._lock:
            self._entries[key] = data
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
