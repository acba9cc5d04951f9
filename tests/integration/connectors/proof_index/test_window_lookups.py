"""The proof index's window search, against a real PostgreSQL server: the windows of each proof
event filed with it and replaced by its last event, searched by pHash or dHash radius as the
in-memory `WindowIndex` searches them, through the band indexes only."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest
from PIL import Image

from connectors.proof_index import ProofIndex
from connectors.proof_index.rows import unsigned64
from connectors.proof_index.schema import WINDOW_BANDS, WINDOW_CODES
from streams.core.codecs.records import ProofCreated, ProofWindow
from streams.core.perceptual_index import band_values, probe_set
from streams.core.window_hashes import Window, WindowHash, query_windows
from streams.core.window_index import WINDOW_SEARCH_DISTANCE, WindowIndex, WindowMatch
from tests.support.access_counters import settled_counters
from tests.support.index_proofs import TENANTS, at, proof

pytestmark = pytest.mark.integration

# The windows a copy is hashed in.
COPY_WINDOWS = tuple(hashed.window for hashed in query_windows(Image.new("L", (96, 96))))


def flipped(value: int, rng: random.Random, bits: int) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def with_windows(item: ProofCreated, windows: Sequence[WindowHash] | None) -> ProofCreated:
    """`item` as proof format 2, carrying `windows` (format 1 when None)."""
    return dataclasses.replace(
        item,
        schema_version=1 if windows is None else 2,
        windows=None
        if windows is None
        else tuple(
            ProofWindow(window=w.window.value, phash=f"{w.phash:016x}", dhash=f"{w.dhash:016x}")
            for w in windows
        ),
    )


def related_windows(
    rng: random.Random, phash: int, dhash: int, windows: Sequence[Window]
) -> list[WindowHash]:
    """`windows` of one picture: its global hashes, the others a few to a dozen bits away."""
    return [
        WindowHash(Window.GLOBAL, phash, dhash),
        *(
            WindowHash(window, flipped(phash, rng, rng.randrange(2, 13)), flipped(dhash, rng, 6))
            for window in windows
            if window is not Window.GLOBAL
        ),
    ]


def write(index: ProofIndex, proofs: Sequence[ProofCreated]) -> int:
    return index.upsert_many(proofs, [at(offset) for offset in range(len(proofs))])


def filed(dsn: str) -> list[tuple[Any, ...]]:
    """Every row of `proof_windows`, with the row version it is in (`xmin`, `ctid`)."""
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT xmin::text, ctid::text, proof_id, window_code, phash, dhash "
            "FROM proof_windows ORDER BY proof_id, window_code"
        ).fetchall()


def filed_windows(dsn: str) -> set[tuple[str, WindowHash]]:
    """Every window of `proof_windows` with its proof id, its hashes read back unsigned."""
    window_of = {code: window for window, code in WINDOW_CODES.items()}
    return {
        (proof_id, WindowHash(window_of[code], unsigned64(phash), unsigned64(dhash)))
        for _, _, proof_id, code, phash, dhash in filed(dsn)
    }


def windows_in(item: ProofCreated) -> set[tuple[str, WindowHash]]:
    return {
        (item.proof_id, WindowHash(Window(w.window), int(w.phash, 16), int(w.dhash, 16)))
        for w in item.windows or ()
    }


class TestFiling:
    def test_each_window_is_filed_and_a_replayed_event_writes_nothing(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        rng = random.Random(3)
        batch = [
            with_windows(proof(n), related_windows(rng, rng.getrandbits(64), n, list(Window)))
            for n in range(5)
        ]
        write(index, batch)
        before = filed(index_dsn)

        assert write(index, batch) == 0

        assert filed(index_dsn) == before
        assert len(before) == 5 * len(Window)
        assert filed_windows(index_dsn) == set().union(*(windows_in(item) for item in batch))

    def test_a_proofs_last_event_replaces_the_windows_it_had(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        rng = random.Random(5)
        first = with_windows(proof(1), related_windows(rng, 0x0F0F, 0xF0F0, list(Window)))
        last = with_windows(
            proof(1), related_windows(rng, 0x1234, 0x5678, [Window.GLOBAL, Window.CENTRE_90])
        )
        write(index, [first])

        write(index, [last])

        assert filed_windows(index_dsn) == windows_in(last)

    def test_a_format_1_proof_is_indexed_without_windows(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        rng = random.Random(7)
        item = with_windows(proof(1), related_windows(rng, 1, 2, list(Window)))
        write(index, [item])

        assert write(index, [with_windows(proof(1), None)]) == 1

        assert index.by_proof_id(item.proof_id) is not None
        assert filed(index_dsn) == []

    @pytest.mark.parametrize(
        ("window", "phash"),
        [("c75", "00000000000000ff"), ("c90", "00000000000000FF"), ("c90", "ff")],
    )
    def test_malformed_windows_leave_the_proof_indexed_without_them_and_are_logged_once(
        self,
        index: ProofIndex,
        index_dsn: str,
        caplog: pytest.LogCaptureFixture,
        window: str,
        phash: str,
    ) -> None:
        rng = random.Random(9)
        good = with_windows(proof(1), related_windows(rng, 1, 2, list(Window)))
        bad = with_windows(proof(2), related_windows(rng, 3, 4, [Window.GLOBAL]))
        bad = dataclasses.replace(
            bad,
            windows=(*(bad.windows or ()), ProofWindow(window=window, phash=phash, dhash=phash)),
        )

        with caplog.at_level(logging.WARNING, logger="connectors.proof_index.store"):
            assert write(index, [good, bad]) == 2

        assert index.by_proof_id(bad.proof_id) is not None
        assert {row[2] for row in filed(index_dsn)} == {good.proof_id}
        warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert bad.proof_id in warnings[0].getMessage()

    def test_a_window_given_twice_leaves_the_proof_without_windows(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        twice = with_windows(proof(1), [WindowHash(Window.GLOBAL, 1, 2)] * 2)

        assert write(index, [twice]) == 1

        assert filed(index_dsn) == []


class TestNearWindows:
    def test_finds_what_the_in_memory_index_finds_in_the_same_order(
        self, index: ProofIndex
    ) -> None:
        rng = random.Random(13)
        centres = [(rng.getrandbits(64), rng.getrandbits(64)) for _ in range(6)]
        memory = WindowIndex()
        batch = []
        for number in range(300):
            phash, dhash = rng.choice(centres)
            names = [Window.GLOBAL, *rng.sample(list(Window)[1:], rng.randrange(0, 18))]
            windows = related_windows(
                rng,
                flipped(phash, rng, rng.randrange(0, 10)),
                flipped(dhash, rng, rng.randrange(0, 10)),
                names,
            )
            item = with_windows(proof(number, TENANTS[number % 3]), windows)
            batch.append(item)
            memory.add(item.proof_id, item.tenant, windows)
        write(index, batch)
        found_at: dict[int, int] = {}

        for radius in range(13):
            for tenant in (None, TENANTS[radius % 3]):
                phash, dhash = rng.choice(centres)
                query = [
                    WindowHash(
                        window,
                        flipped(phash, rng, rng.randrange(0, 8)),
                        flipped(dhash, rng, rng.randrange(0, 8)),
                    )
                    for window in COPY_WINDOWS
                ]

                found = index.near_windows(query, radius, tenant)

                assert found == memory.near_windows(query, radius, tenant), (radius, tenant)
                found_at[radius] = found_at.get(radius, 0) + len(found)
        assert all(found_at[radius] for radius in range(6, 13)), found_at

    def test_a_window_of_a_code_this_version_does_not_know_is_not_returned(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        item = with_windows(proof(1), [WindowHash(Window.GLOBAL, 5, 6)])
        write(index, [item])
        with psycopg.connect(index_dsn, autocommit=True) as connection:
            connection.execute("INSERT INTO proof_windows VALUES (%s, 99, 5, 6)", (item.proof_id,))

        found = index.near_windows([WindowHash(Window.GLOBAL, 5, 6)], 0)

        assert found == [WindowMatch(item.proof_id, WindowHash(Window.GLOBAL, 5, 6))]

    def test_reads_only_the_rows_of_the_probed_buckets_never_a_whole_table(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        """Counted by PostgreSQL itself: entries read through each band index, sequential
        scans."""
        rng = random.Random(17)
        proofs = 20_000
        every: list[tuple[str, WindowHash]] = []
        for start in range(0, proofs, 2_000):
            batch = []
            for number in range(start, start + 2_000):
                windows = related_windows(
                    rng, rng.getrandbits(64), rng.getrandbits(64), list(Window)
                )
                batch.append(with_windows(proof(number, TENANTS[number % 3]), windows))
                every.extend((batch[-1].proof_id, window) for window in windows)
            write(index, batch)
        index.close()
        target = next(w for proof_id, w in every if proof_id == proof(123).proof_id)
        query = [
            WindowHash(window, flipped(target.phash, rng, 3), target.dhash)
            for window in COPY_WINDOWS
        ]
        band_indexes = [
            f"proof_windows_{column}_{band}"
            for column in ("phash", "dhash")
            for band in range(WINDOW_BANDS)
        ]
        with psycopg.connect(index_dsn, autocommit=True) as monitor:
            for table in ("proofs", "proof_windows"):
                monitor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
                monitor.execute(f"ANALYZE {table}")
            tables, indexes = ("proofs", "proof_windows"), (*band_indexes, "proofs_pkey")
            before = settled_counters(monitor, tables, indexes)

            with ProofIndex(index_dsn) as reader:
                found = reader.near_windows(query, WINDOW_SEARCH_DISTANCE, TENANTS[123 % 3])

            after = settled_counters(monitor, tables, indexes, changed_from=before)

        read = {name: after[name] - before[name] for name in before}
        in_probed_buckets = probed_rows(every, query, WINDOW_SEARCH_DISTANCE)
        band_rows_read = sum(read[f"{name}.idx_tup_read"] for name in band_indexes)
        print(
            f"\n{proofs} proofs, {len(every)} windows: {band_rows_read} band index entries read, "
            f"{len(found)} matches"
        )
        assert proof(123).proof_id in {match.proof_id for match in found}
        assert band_rows_read == in_probed_buckets
        assert in_probed_buckets < 0.05 * len(every)
        assert read["proof_windows.seq_scan"] == 0
        assert read["proofs.seq_scan"] == 0


def probed_rows(
    every: Sequence[tuple[str, WindowHash]], query: Sequence[WindowHash], radius: int
) -> int:
    """How many index entries the buckets of the probe set of `query` hold: per band index, the
    windows whose band value a probe names (of the probing window's name, unless global)."""
    population: Counter[tuple[str, int, int, Window | None]] = Counter()
    for _, window in every:
        for column, value in (("phash", window.phash), ("dhash", window.dhash)):
            for band, band_value in band_values(value, WINDOW_BANDS):
                population[column, band, band_value, None] += 1
                population[column, band, band_value, window.window] += 1
    probes = {
        (column, band, band_value, None if copy.window is Window.GLOBAL else copy.window)
        for copy in query
        for column, value in (("phash", copy.phash), ("dhash", copy.dhash))
        for band, band_value in probe_set(value, radius, WINDOW_BANDS)
    }
    return sum(population[probe] for probe in probes)
