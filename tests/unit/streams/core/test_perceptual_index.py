"""Specification of `streams.core.perceptual_index`: radius search over pHashes without a scan."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, MutableMapping

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from streams.core.perceptual_index import (
    DEFAULT_BANDS,
    IndexEntry,
    Match,
    PerceptualIndex,
    band_values,
    probe_count,
    probe_set,
)

HASHES = st.integers(min_value=0, max_value=2**64 - 1)


def hex64(value: int) -> str:
    return f"{value:016x}"


def entry(number: int, phash: int, *, tenant: str = "acme", dhash: int = 0) -> IndexEntry:
    return IndexEntry(
        proof_id=f"{number:032x}", tenant=tenant, phash=hex64(phash), dhash=hex64(dhash)
    )


def flipped(value: int, bits: set[int]) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def ids(matches: list[Match]) -> list[str]:
    return [match.entry.proof_id for match in matches]


class CountingBuckets(MutableMapping[str, list[str]]):
    """A dict backend that counts how many buckets queries read."""

    def __init__(self) -> None:
        self.data: dict[str, list[str]] = {}
        self.reads = 0

    def __getitem__(self, key: str) -> list[str]:
        self.reads += 1
        return self.data[key]

    def __setitem__(self, key: str, value: list[str]) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class SerialisedBuckets(MutableMapping[str, list[str]]):
    """A backend that keeps JSON text, as a Faust table or a database does: reads are copies."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def __getitem__(self, key: str) -> list[str]:
        value: list[str] = json.loads(self.data[key])
        return value

    def __setitem__(self, key: str, value: list[str]) -> None:
        self.data[key] = json.dumps(value)

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


# Entries near the query (a few flipped bits) and anywhere at all, so that both sides of the
# radius are exercised: uniformly random hashes are almost never within 16 bits of each other.
NEAR = st.sets(st.integers(min_value=0, max_value=63), max_size=20).map(frozenset)


class TestRadiusSearch:
    @settings(max_examples=150, deadline=None)
    @given(
        query=HASHES,
        near=st.lists(NEAR, max_size=40),
        far=st.lists(HASHES, max_size=20),
        radius=st.integers(min_value=0, max_value=20),
        bands=st.sampled_from([2, 3, 4, 5, 8]),
    )
    def test_finds_exactly_the_entries_a_full_scan_finds(
        self,
        query: int,
        near: list[frozenset[int]],
        far: list[int],
        radius: int,
        bands: int,
    ) -> None:
        hashes = [flipped(query, set(bits)) for bits in near] + far
        index = PerceptualIndex(bands=bands)
        assume(index.probe_count(radius) <= 20_000)
        for number, phash in enumerate(hashes):
            index.add(entry(number, phash))

        found = index.nearest(hex64(query), radius)

        scan = {
            f"{number:032x}": (phash ^ query).bit_count()
            for number, phash in enumerate(hashes)
            if (phash ^ query).bit_count() <= radius
        }
        assert {match.entry.proof_id: match.distance for match in found} == scan
        assert len(found) == len(scan)

    @settings(max_examples=50, deadline=None)
    @given(query=HASHES, near=st.lists(NEAR, min_size=1, max_size=30), seed=st.integers())
    def test_results_are_nearest_first_whatever_the_order_of_additions(
        self, query: int, near: list[frozenset[int]], seed: int
    ) -> None:
        entries = [entry(number, flipped(query, set(bits))) for number, bits in enumerate(near)]
        shuffled = entries.copy()
        random.Random(seed).shuffle(shuffled)
        forwards, backwards = PerceptualIndex(), PerceptualIndex()
        for item in entries:
            forwards.add(item)
        for item in shuffled:
            backwards.add(item)

        found = forwards.nearest(hex64(query), 20)

        assert found == backwards.nearest(hex64(query), 20)
        assert [match.distance for match in found] == sorted(match.distance for match in found)

    def test_equal_distances_are_ordered_by_dhash_distance_when_the_query_gives_one(self) -> None:
        index = PerceptualIndex()
        index.add(entry(1, 0b11, dhash=0xFF))
        index.add(entry(2, 0b11, dhash=0x01))

        found = index.nearest(hex64(0), 4, dhash=hex64(0))

        assert ids(found) == [f"{2:032x}", f"{1:032x}"]
        assert [(m.distance, m.dhash_distance) for m in found] == [(2, 1), (2, 8)]
        assert [m.dhash_distance for m in index.nearest(hex64(0), 4)] == [None, None]

    def test_an_empty_index_finds_nothing(self) -> None:
        assert PerceptualIndex().nearest(hex64(12345), 8) == []

    @pytest.mark.parametrize("radius", [-1, 65])
    def test_a_radius_outside_0_to_64_is_refused(self, radius: int) -> None:
        with pytest.raises(ValueError, match="max_distance"):
            PerceptualIndex().nearest(hex64(0), radius)

    @pytest.mark.parametrize("phash", ["", "123", "C3E1F0B09C8C8E1F", "c3e1f0b09c8c8e1g"])
    def test_a_query_that_is_not_16_lowercase_hex_digits_is_refused(self, phash: str) -> None:
        with pytest.raises(ValueError, match="phash"):
            PerceptualIndex().nearest(phash, 8)


class TestTenants:
    def test_a_tenant_sees_only_its_own_entries(self) -> None:
        index = PerceptualIndex()
        index.add(entry(1, 0xF0, tenant="acme"))
        index.add(entry(2, 0xF1, tenant="globex"))

        assert ids(index.nearest(hex64(0xF0), 4, tenant="globex")) == [f"{2:032x}"]
        assert ids(index.nearest(hex64(0xF0), 4, tenant="initech")) == []
        assert ids(index.nearest(hex64(0xF0), 4)) == [f"{1:032x}", f"{2:032x}"]

    def test_a_tenant_holding_the_record_separator_round_trips(self) -> None:
        index = PerceptualIndex(SerialisedBuckets())
        index.add(entry(1, 0xABC, tenant="a:b:c"))

        (match,) = index.nearest(hex64(0xABC), 0, tenant="a:b:c")

        assert match.entry == entry(1, 0xABC, tenant="a:b:c")


class TestAddingAndRemoving:
    def test_a_removed_entry_is_no_longer_found_and_its_buckets_are_dropped(self) -> None:
        buckets: dict[str, list[str]] = {}
        index = PerceptualIndex(buckets)
        index.add(entry(1, 0x1234))
        index.add(entry(2, 0x1235))

        assert index.remove(f"{1:032x}", hex64(0x1234)) is True

        assert ids(index.nearest(hex64(0x1234), 8)) == [f"{2:032x}"]
        assert index.remove(f"{2:032x}", hex64(0x1235)) is True
        assert buckets == {}

    def test_removing_what_is_not_there_says_so(self) -> None:
        index = PerceptualIndex()
        index.add(entry(1, 0x1234))

        assert index.remove(f"{2:032x}", hex64(0x1234)) is False
        assert index.remove(f"{1:032x}", hex64(0x9999)) is False
        assert ids(index.nearest(hex64(0x1234), 0)) == [f"{1:032x}"]

    def test_adding_the_same_proof_again_does_not_duplicate_it(self) -> None:
        index = PerceptualIndex()
        index.add(entry(1, 0x1234, dhash=1))
        index.add(entry(1, 0x1234, dhash=2))

        (match,) = index.nearest(hex64(0x1234), 8)

        assert match.entry.dhash == hex64(2)

    @settings(max_examples=100, deadline=None)
    @given(
        query=HASHES,
        operations=st.lists(
            st.tuples(st.booleans(), st.integers(min_value=0, max_value=5), NEAR), max_size=40
        ),
    )
    def test_after_any_additions_and_removals_finds_what_a_scan_of_the_rest_finds(
        self, query: int, operations: list[tuple[bool, int, frozenset[int]]]
    ) -> None:
        index = PerceptualIndex()
        filed: set[tuple[int, int]] = set()
        for adding, number, bits in operations:
            phash = flipped(query, set(bits))
            if adding:
                index.add(entry(number, phash))
                filed.add((number, phash))
            else:
                assert index.remove(f"{number:032x}", hex64(phash)) is ((number, phash) in filed)
                filed.discard((number, phash))

        found = index.nearest(hex64(query), 12)

        assert sorted((m.entry.proof_id, m.distance) for m in found) == sorted(
            (f"{number:032x}", (phash ^ query).bit_count())
            for number, phash in filed
            if (phash ^ query).bit_count() <= 12
        )

    def test_a_backend_that_stores_copies_sees_every_change(self) -> None:
        index = PerceptualIndex(SerialisedBuckets())
        for number in range(5):
            index.add(entry(number, 0xCAFE + number))
        index.remove(f"{3:032x}", hex64(0xCAFE + 3))

        assert sorted(ids(index.nearest(hex64(0xCAFE), 8))) == [
            f"{number:032x}" for number in (0, 1, 2, 4)
        ]

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("proof_id", "not-a-proof-id", "not a proof id"),
            ("tenant", "", "tenant"),
            ("phash", "xyz", "phash"),
            ("dhash", "1" * 17, "dhash"),
        ],
    )
    def test_an_entry_with_a_malformed_field_is_refused(
        self, field: str, value: str, message: str
    ) -> None:
        fields = {"proof_id": "0" * 32, "tenant": "acme", "phash": "0" * 16, "dhash": "0" * 16}
        with pytest.raises(ValueError, match=message):
            IndexEntry(**{**fields, field: value})


class TestProbes:
    @pytest.mark.parametrize(
        ("radius", "probes"),
        [(0, 1), (1, 2), (3, 4), (4, 20), (6, 52), (8, 188), (10, 428), (12, 1108)],
    )
    def test_the_documented_bucket_reads_per_query_with_four_bands(
        self, radius: int, probes: int
    ) -> None:
        assert PerceptualIndex().probe_count(radius) == probes

    def test_a_radius_that_needs_too_many_reads_for_the_bands_is_refused(self) -> None:
        index = PerceptualIndex(bands=1)

        assert index.nearest(hex64(0), 1) == []
        with pytest.raises(ValueError, match="more bands or a smaller radius"):
            index.nearest(hex64(0), 8)

    def test_four_bands_answer_every_radius(self) -> None:
        index = PerceptualIndex()
        index.add(entry(1, 2**64 - 1))

        assert ids(index.nearest(hex64(0), 64)) == [f"{1:032x}"]

    @pytest.mark.parametrize("size", [1, 100, 5000])
    def test_a_query_reads_the_same_number_of_buckets_whatever_the_index_size(
        self, size: int
    ) -> None:
        rng = random.Random(size)
        buckets = CountingBuckets()
        index = PerceptualIndex(buckets)
        for number in range(size):
            index.add(entry(number, rng.getrandbits(64)))
        buckets.reads = 0

        for _ in range(10):
            index.nearest(hex64(rng.getrandbits(64)), 8)

        assert buckets.reads == 10 * index.probe_count(8) == 10 * 188


class RecordingBuckets(dict[str, list[str]]):
    """A dict backend that records which buckets queries read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def get(self, key: str, default: object = None) -> list[str]:
        self.read.append(key)
        return super().get(key, [])


class TestTheSharedLayout:
    """`band_values` and `probe_set` are the layout other backends (the proof index's
    `proof_phash_bands` table) file and probe with; the in-memory index uses the same."""

    @settings(max_examples=300, deadline=None)
    @given(
        query=HASHES,
        bits=st.sets(st.integers(min_value=0, max_value=63), max_size=12),
        bands=st.sampled_from([2, 3, 4, 5, 8]),
    )
    def test_a_hash_within_the_radius_is_filed_in_a_bucket_of_the_probe_set(
        self, query: int, bits: set[int], bands: int
    ) -> None:
        radius = len(bits)
        assume(probe_count(radius, bands) <= 20_000)
        filed = set(band_values(flipped(query, bits), bands))

        assert filed & set(probe_set(query, radius, bands))

    @pytest.mark.parametrize("radius", range(13))
    def test_the_probe_set_names_probe_count_distinct_buckets(self, radius: int) -> None:
        probes = probe_set(0x0123_4567_89AB_CDEF, radius)

        assert len(probes) == len(set(probes)) == probe_count(radius)
        assert {band for band, _ in probes} <= set(range(DEFAULT_BANDS))
        assert all(0 <= value < 2**16 for _, value in probes)

    def test_band_values_cut_the_hash_into_bands_high_bits_first(self) -> None:
        assert band_values(0x0123_4567_89AB_CDEF) == [
            (0, 0x0123),
            (1, 0x4567),
            (2, 0x89AB),
            (3, 0xCDEF),
        ]
        assert band_values(2**64 - 1, 3) == [(0, 2**21 - 1), (1, 2**21 - 1), (2, 2**22 - 1)]

    def test_the_index_files_under_band_values_and_reads_exactly_the_probe_set(self) -> None:
        buckets = RecordingBuckets()
        index = PerceptualIndex(buckets)
        phash = 0xFEDC_BA98_7654_3210
        index.add(entry(1, phash))
        buckets.read.clear()

        index.nearest(hex64(phash ^ 0b1011), 8)

        def band_and_value(key: str) -> tuple[int, int]:
            band, value = key.split(":")
            return int(band), int(value, 16)

        assert {band_and_value(key) for key in buckets} == set(band_values(phash))
        assert [band_and_value(key) for key in buckets.read] == probe_set(phash ^ 0b1011, 8)

    def test_a_radius_that_needs_too_many_reads_is_refused_by_the_probe_set_itself(self) -> None:
        with pytest.raises(ValueError, match="more bands or a smaller radius"):
            probe_set(0, 8, bands=1)
        with pytest.raises(ValueError, match="max_distance"):
            probe_set(0, 65)
