"""Proofs by the hashes of their canonical windows, searched by pHash radius.

A copy that a CDN cropped, padded or overlaid matches some window of its picture
(`streams.core.window_hashes`); this is the search that finds those windows without comparing
the copy with every proof. A window is found when its pHash or its dHash is within the radius:
a copy whose overlay moves one hash often leaves the other close (docs/verification.md).
`WindowIndex` keeps two `PerceptualIndex`es (multi-index hashing) per window name, one by pHash
and one by dHash, so a query reads only buckets, never every entry; the proof index in PostgreSQL
answers the same question from its own indexes (`connectors.proof_index`). What they return
only proposes proofs: a verifier compares the copy with the windows the proof signs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from streams.core.perceptual_index import IndexEntry, PerceptualIndex
from streams.core.window_hashes import (
    Window,
    WindowComparison,
    WindowHash,
    comparable_windows,
    compare_windows,
    hash_hex,
)

__all__ = [
    "WINDOW_SEARCH_DISTANCE",
    "WindowIndex",
    "WindowMatch",
    "WindowSearch",
    "window_comparisons",
]

# Bits of pHash or of dHash within which a window search returns a proof's window: the window
# rule's own pHash threshold (`WINDOW_PHASH_THRESHOLD`), so the search finds every window match
# and the nearest of the geometric check's candidates. docs/verification.md measures what wider
# radii would add, and what they would cost an index of a million proofs.
WINDOW_SEARCH_DISTANCE = 8


@dataclass(frozen=True, slots=True)
class WindowMatch:
    """A window of an indexed proof within the search radius of a window of the copy."""

    proof_id: str
    window: WindowHash


class WindowSearch(Protocol):
    """Proofs' windows near a copy's: a `WindowIndex` in memory, or the proof index in
    PostgreSQL (`connectors.proof_index.ProofIndex`)."""

    def near_windows(
        self, query: Sequence[WindowHash], max_distance: int, tenant: str | None = None
    ) -> Sequence[WindowMatch]:
        """Every indexed window (of a proof of `tenant`, when given) within `max_distance` bits
        in pHash or in dHash of a window of `query` it is comparable with
        (`comparable_windows`), each once, ordered by proof id and window."""
        ...


class WindowIndex:
    """Window hashes of proofs in memory: per window name, a multi-index hashing index by
    pHash and one by dHash.

    Safe to share between a thread that adds and threads that search, as `PerceptualIndex` is;
    adding the same windows of a proof again (a replayed event) changes nothing.
    """

    def __init__(self) -> None:
        # Entries of the dHash indexes hold the dHash where a pHash index holds the pHash.
        self._by_phash = {window: PerceptualIndex() for window in Window}
        self._by_dhash = {window: PerceptualIndex() for window in Window}

    def add(self, proof_id: str, tenant: str, windows: Iterable[WindowHash]) -> None:
        for window in windows:
            phash, dhash = hash_hex(window.phash), hash_hex(window.dhash)
            self._by_phash[window.window].add(IndexEntry(proof_id, tenant, phash, dhash))
            self._by_dhash[window.window].add(IndexEntry(proof_id, tenant, dhash, phash))

    def near_windows(
        self, query: Sequence[WindowHash], max_distance: int, tenant: str | None = None
    ) -> list[WindowMatch]:
        found: dict[tuple[str, Window], WindowMatch] = {}
        for copy_window in query:
            for window in Window:
                if not comparable_windows(copy_window.window, window):
                    continue
                searches = (
                    (self._by_phash[window], copy_window.phash, False),
                    (self._by_dhash[window], copy_window.dhash, True),
                )
                for index, value, by_dhash in searches:
                    for match in index.nearest(hash_hex(value), max_distance, tenant):
                        first, second = int(match.entry.phash, 16), int(match.entry.dhash, 16)
                        phash, dhash = (second, first) if by_dhash else (first, second)
                        found[match.entry.proof_id, window] = WindowMatch(
                            match.entry.proof_id, WindowHash(window, phash, dhash)
                        )
        return [found[key] for key in sorted(found)]


def window_comparisons(
    query: Sequence[WindowHash], matches: Iterable[WindowMatch]
) -> Mapping[str, WindowComparison]:
    """How close the copy comes to each proof a window search returned, over the windows it
    returned (`compare_windows`), by proof id."""
    by_proof: dict[str, list[WindowHash]] = defaultdict(list)
    for match in matches:
        by_proof[match.proof_id].append(match.window)
    comparisons = {}
    for proof_id, windows in by_proof.items():
        comparison = compare_windows(query, windows)
        if comparison is not None:
            comparisons[proof_id] = comparison
    return comparisons

