"""An index from 64-bit perceptual hashes to proof ids, answering "every proof within r bits".

Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index
Hashing", CVPR 2012): the 64 bits are cut into `bands` contiguous bands, and every entry is
filed once per band, in the bucket of that band's value. Write r = s * bands + a with
0 <= a < bands. If a hash is within r bits of the query, then one of the first a + 1 bands is
within s bits of the query's band, or some other band is within s - 1 bits: otherwise the
distance would be at least (a + 1)(s + 1) + (bands - a - 1)s = r + 1. So a query reads, in the
first a + 1 bands, the buckets of every band value within s bits of the query's, and in the
other bands those within s - 1 bits; the union of what they hold is the candidate set, and the
full 64-bit distance of each candidate decides. No entry outside those buckets is looked at.

Cost, with b = 64 / bands bits per band and C(b, k) the binomial coefficient:

- bucket reads per query: (a + 1) * sum(C(b, k) for k <= s) + (bands - a - 1) *
  sum(C(b, k) for k <= s - 1), whatever the size of the index (`probe_count`). With the
  default 4 bands of 16 bits: 1 read at r = 0, 4 at r = 3, 188 at r = 8, 428 at r = 10.
- candidates per query: about reads * n / 2**b for n evenly spread hashes (188 * n / 65536,
  0.29 % of the index, at r = 8); clusters of similar pictures make more.
- storage: every entry is held `bands` times, as a string of 67 characters plus its tenant (in
  a dict the copies share one string: about 200 bytes per entry at a million entries).

The buckets live in any `MutableMapping[str, list[str]]`: a dict in memory (the default), a
Faust table, or a table in a database. Bucket lists are never mutated in place, only replaced,
so a backend whose values are copies (every persistent one) stores every change. A backend that
is a database table of its own (the proof index's `proof_phash_bands`) uses the same layout
through `band_values` (where an entry is filed) and `probe_set` (which buckets a query reads).
docs/verification.md has the measurements.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from math import comb

from streams.core.imaging import hamming_distance

__all__ = [
    "DEFAULT_BANDS",
    "HASH_BITS",
    "MAX_PROBES",
    "IndexEntry",
    "Match",
    "PerceptualIndex",
    "band_values",
    "nearest_first",
    "probe_count",
    "probe_set",
]

HASH_BITS = 64
DEFAULT_BANDS = 4
# Most bucket reads one query may take: every value of four 16-bit bands, so that the default
# layout answers any radius. Fewer, wider bands make the reads grow combinatorially (one 64-bit
# band would need C(64, 8) ~ 4.4e9 reads at radius 8); such a query is refused.
MAX_PROBES = 4 * 2**16

_PHASH = re.compile(r"[0-9a-f]{16}")
_PROOF_ID = re.compile(r"[0-9a-f]{32}")
_SEPARATOR = ":"
# Where the pHash sits in a stored record (see `_encode`), read without decoding the record.
_PHASH_FIELD = slice(33, 49)


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One indexed proof: its id, its tenant and the perceptual hashes of its image.

    `phash` and `dhash` are 16 lowercase hex digits, as `streams.core.imaging.inspect_image`
    writes them; `proof_id` is 32 lowercase hex digits, as
    `streams.core.proof_document.derive_proof_id` makes it.
    """

    proof_id: str
    tenant: str
    phash: str
    dhash: str

    def __post_init__(self) -> None:
        if not _PROOF_ID.fullmatch(self.proof_id):
            raise ValueError(f"not a proof id: {self.proof_id!r}")
        if not self.tenant:
            raise ValueError("tenant must be a non-empty string")
        _require_hash(self.phash, "phash")
        _require_hash(self.dhash, "dhash")


@dataclass(frozen=True, slots=True)
class Match:
    """An indexed proof near the query, `distance` pHash bits away.

    `dhash_distance` is the dHash distance when the query gave its dHash, else None.
    """

    entry: IndexEntry
    distance: int
    dhash_distance: int | None


class PerceptualIndex:
    """Proof ids by pHash, searched by Hamming radius without scanning every entry.

    Adding and removing are serialised by a lock, so one index may be shared between threads;
    queries take no lock. Adding an entry whose proof id is already filed under the same pHash
    replaces it, so replayed events do not create duplicates.
    """

    def __init__(
        self,
        buckets: MutableMapping[str, list[str]] | None = None,
        *,
        bands: int = DEFAULT_BANDS,
    ) -> None:
        self._bands = _band_layout(bands)
        self._buckets: MutableMapping[str, list[str]] = {} if buckets is None else buckets
        self._write_lock = threading.Lock()

    @property
    def bands(self) -> int:
        return len(self._bands)

    def add(self, entry: IndexEntry) -> None:
        """File `entry` under its pHash, replacing an entry with the same proof id there."""
        record = _encode(entry)
        prefix = _record_prefix(entry.proof_id, entry.phash)
        with self._write_lock:
            for key in self._keys_of(int(entry.phash, 16)):
                others = [
                    item for item in self._buckets.get(key, ()) if not item.startswith(prefix)
                ]
                self._buckets[key] = [*others, record]

    def remove(self, proof_id: str, phash: str) -> bool:
        """Remove the entry of `proof_id` filed under `phash`; whether there was one."""
        _require_hash(phash, "phash")
        prefix = _record_prefix(proof_id, phash)
        removed = False
        with self._write_lock:
            for key in self._keys_of(int(phash, 16)):
                bucket = self._buckets.get(key, [])
                kept = [item for item in bucket if not item.startswith(prefix)]
                if len(kept) == len(bucket):
                    continue
                removed = True
                if kept:
                    self._buckets[key] = kept
                else:
                    del self._buckets[key]
        return removed

    def nearest(
        self,
        phash: str,
        max_distance: int,
        tenant: str | None = None,
        *,
        dhash: str | None = None,
    ) -> list[Match]:
        """Every entry within `max_distance` pHash bits of `phash`, nearest first.

        Only entries of `tenant` when it is given. When the query's `dhash` is given, each
        match carries its dHash distance and equal pHash distances are ordered by it; remaining
        ties go by proof id and tenant, so the order never depends on the order of additions.
        """
        _require_hash(phash, "phash")
        if dhash is not None:
            _require_hash(dhash, "dhash")
        query = int(phash, 16)
        matches = []
        for record in self._candidates(query, max_distance):
            # The hot loop: most candidates are rejected here, before any decoding.
            distance = (int(record[_PHASH_FIELD], 16) ^ query).bit_count()
            if distance > max_distance:
                continue
            entry = _decode(record)
            if tenant is not None and entry.tenant != tenant:
                continue
            dhash_distance = None if dhash is None else hamming_distance(entry.dhash, dhash)
            matches.append(Match(entry, distance, dhash_distance))
        return nearest_first(matches)

    def probe_count(self, max_distance: int) -> int:
        """How many buckets a query with this radius reads, whatever the size of the index."""
        return probe_count(max_distance, self.bands)

    def _candidates(self, query: int, max_distance: int) -> set[str]:
        found: set[str] = set()
        for band, value in probe_set(query, max_distance, self.bands):
            found.update(self._buckets.get(_bucket_key(band, value, self._bands[band][1]), ()))
        return found

    def _keys_of(self, phash: int) -> Iterable[str]:
        for band, value in band_values(phash, self.bands):
            yield _bucket_key(band, value, self._bands[band][1])


def band_values(phash: int, bands: int = DEFAULT_BANDS) -> list[tuple[int, int]]:
    """(band, band value) of each band of `phash`: the buckets an entry is filed in."""
    return [
        (band, (phash >> shift) & ((1 << width) - 1))
        for band, (shift, width) in enumerate(_band_layout(bands))
    ]


def probe_set(phash: int, max_distance: int, bands: int = DEFAULT_BANDS) -> list[tuple[int, int]]:
    """(band, band value) of every bucket a query within `max_distance` bits of `phash` reads.

    Every entry within `max_distance` bits is filed in at least one of these buckets (see the
    module docstring); there are `probe_count(max_distance, bands)` of them. Raises
    `ValueError` for a radius outside 0..64, or one that needs more than `MAX_PROBES` reads.
    """
    if (probes := probe_count(max_distance, bands)) > MAX_PROBES:
        raise ValueError(
            f"a radius of {max_distance} bits takes {probes} bucket reads with "
            f"{bands} bands, above {MAX_PROBES}; use more bands or a smaller radius"
        )
    return [
        (band, value ^ flips)
        for (band, value), (width, radius) in zip(
            band_values(phash, bands), _plan(max_distance, bands), strict=True
        )
        for flips in _flip_masks(width, radius)
    ]


def probe_count(max_distance: int, bands: int = DEFAULT_BANDS) -> int:
    """How many buckets a query with this radius reads, whatever the size of the index."""
    return sum(
        comb(width, k) for width, radius in _plan(max_distance, bands) for k in range(radius + 1)
    )


def nearest_first(matches: Iterable[Match]) -> list[Match]:
    """`matches` ordered nearest first: by pHash distance, then dHash distance (when known),
    then proof id and tenant, so the order never depends on the order of storage."""
    return sorted(
        matches,
        key=lambda match: (
            match.distance,
            match.dhash_distance or 0,
            match.entry.proof_id,
            match.entry.tenant,
        ),
    )


def _plan(max_distance: int, bands: int) -> list[tuple[int, int]]:
    """(band width, search radius) per band; a radius of -1 means the band is not read."""
    if not 0 <= max_distance <= HASH_BITS:
        raise ValueError(f"max_distance must be between 0 and {HASH_BITS}, not {max_distance}")
    layout = _band_layout(bands)
    radius, remainder = divmod(max_distance, len(layout))
    return [
        (width, min(radius if band <= remainder else radius - 1, width))
        for band, (_, width) in enumerate(layout)
    ]


@cache
def _band_layout(bands: int) -> tuple[tuple[int, int], ...]:
    """(shift, width) of each band, band 0 holding the most significant bits."""
    if not 1 <= bands <= HASH_BITS:
        raise ValueError(f"bands must be between 1 and {HASH_BITS}, not {bands}")
    edges = [band * HASH_BITS // bands for band in range(bands + 1)]
    return tuple(
        (HASH_BITS - edges[band + 1], edges[band + 1] - edges[band]) for band in range(bands)
    )


@cache
def _flip_masks(width: int, radius: int) -> tuple[int, ...]:
    """Every `width`-bit mask with at most `radius` bits set (none when radius < 0)."""
    return tuple(
        sum(1 << bit for bit in bits)
        for k in range(radius + 1)
        for bits in combinations(range(width), k)
    )


def _bucket_key(band: int, value: int, width: int) -> str:
    return f"{band}{_SEPARATOR}{value:0{(width + 3) // 4}x}"


def _record_prefix(proof_id: str, phash: str) -> str:
    # The pHash is part of what identifies a record: entries with other pHashes share some of
    # its buckets, and must not lose their filing there.
    return f"{proof_id}{_SEPARATOR}{phash}{_SEPARATOR}"


def _encode(entry: IndexEntry) -> str:
    # Three fixed-width hex fields first, so a tenant holding the separator still decodes.
    return _SEPARATOR.join((entry.proof_id, entry.phash, entry.dhash, entry.tenant))


def _decode(record: str) -> IndexEntry:
    proof_id, phash, dhash, tenant = record.split(_SEPARATOR, 3)
    return IndexEntry(proof_id=proof_id, tenant=tenant, phash=phash, dhash=dhash)


def _require_hash(value: str, name: str) -> None:
    if not _PHASH.fullmatch(value):
        raise ValueError(f"{name} must be 16 lowercase hex digits, not {value!r}")
