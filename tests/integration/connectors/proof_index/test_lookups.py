"""The proof index's lookups for the verifier, against a real PostgreSQL server: proofs filed
under their pHash bands with every write, searched by Hamming radius through the multi-index
hashing probe set only, and found by SHA-256 and by id."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence

import psycopg
import pytest
from psycopg.rows import dict_row

from connectors.proof_index import ProofIndex, SourcePosition
from streams.core.codecs.records import ProofCreated, ProofLocation
from streams.core.perceptual_index import (
    IndexEntry,
    PerceptualIndex,
    band_values,
    probe_count,
    probe_set,
)
from tests.support.access_counters import settled_counters

pytestmark = pytest.mark.integration

ISSUED_AT = 1_767_225_600_000
TENANTS = ("acme", "globex", "initech")


def hex64(value: int) -> str:
    return f"{value:016x}"


def proof(
    number: int,
    phash: int,
    *,
    tenant: str = "acme",
    dhash: int = 0,
    sha256: str | None = None,
    issued_at: int = ISSUED_AT,
) -> ProofCreated:
    return ProofCreated(
        proof_id=f"{number:032x}",
        event_id=f"event-{number}",
        tenant=tenant,
        sha256=sha256 or f"{number:064x}",
        phash=hex64(phash),
        dhash=hex64(dhash),
        width=64,
        height=48,
        format="JPEG",
        byte_size=1000,
        key_id="key-1",
        algorithm="Ed25519",
        signature=f"sig-{number}",
        location=ProofLocation(bucket="credlink-proofs", key=f"proofs/2026/01/01/{number}.json"),
        issued_at=issued_at,
    )


def write(index: ProofIndex, proofs: Sequence[ProofCreated]) -> int:
    return index.upsert_many(
        proofs, [SourcePosition("proofs.created", 0, offset) for offset in range(len(proofs))]
    )


def filed(dsn: str) -> set[tuple[int, int, str]]:
    with psycopg.connect(dsn) as connection:
        return {
            (band, value, proof_id)
            for band, value, proof_id in connection.execute(
                "SELECT band, value, proof_id FROM proof_phash_bands"
            )
        }


def bands_of(item: ProofCreated) -> set[tuple[int, int, str]]:
    return {(band, value, item.proof_id) for band, value in band_values(int(item.phash, 16))}


def flipped(value: int, bits: Sequence[int]) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


class TestFiling:
    def test_each_proof_is_filed_under_its_four_bands_and_a_replay_files_nothing_new(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        batch = [proof(number, number * 0x0101_0101_0101_0101) for number in range(10)]

        assert write(index, batch) == 10
        assert write(index, batch) == 0

        assert filed(index_dsn) == set().union(*(bands_of(item) for item in batch))
        assert len(filed(index_dsn)) == 40

    def test_a_proof_whose_phash_changed_leaves_the_buckets_of_the_old_one(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        before = proof(1, 0x1111_2222_3333_4444)
        after = proof(1, 0x1111_2222_3333_5555)
        write(index, [before, proof(2, 0x1111_2222_3333_4444)])

        write(index, [after])

        assert filed(index_dsn) == bands_of(after) | bands_of(proof(2, 0x1111_2222_3333_4444))

    def test_the_last_of_one_proof_in_a_batch_is_what_is_filed(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        write(index, [proof(1, 0xAAAA), proof(1, 0xBBBB)])

        assert filed(index_dsn) == bands_of(proof(1, 0xBBBB))

    def test_a_proof_not_in_the_pipelines_form_is_indexed_but_never_found_by_similarity(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        odd = ProofCreated(**{**proof(1, 0xABC).__dict__, "proof_id": "resubmitted"})

        assert write(index, [odd]) == 1

        assert index.by_proof_id("resubmitted") is not None
        assert filed(index_dsn) == set()
        assert index.nearest(hex64(0xABC), 8) == []

    def test_proofs_indexed_before_the_band_table_existed_are_filed_when_it_is_created(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        batch = [proof(number, number * 0x1234_5678_9ABC) for number in range(25)]
        write(index, batch)
        with psycopg.connect(index_dsn, autocommit=True) as connection:
            connection.execute("DROP TABLE proof_phash_bands")

        index.create_schema()
        index.create_schema()

        assert filed(index_dsn) == set().union(*(bands_of(item) for item in batch))


class TestNearest:
    def test_finds_what_the_in_memory_index_finds_in_the_same_order(
        self, index: ProofIndex
    ) -> None:
        rng = random.Random(7)
        centres = [rng.getrandbits(64) for _ in range(6)]
        batch = []
        for number in range(400):
            centre = rng.choice(centres)
            phash = flipped(centre, rng.sample(range(64), rng.randrange(0, 14)))
            dhash = rng.getrandbits(64)
            batch.append(proof(number, phash, tenant=TENANTS[number % 3], dhash=dhash))
        write(index, batch)
        memory = PerceptualIndex()
        for item in batch:
            memory.add(IndexEntry(item.proof_id, item.tenant, item.phash, item.dhash))

        for query_number in range(30):
            query = flipped(rng.choice(centres), rng.sample(range(64), rng.randrange(0, 6)))
            radius = rng.choice([0, 2, 4, 8, 10, 12])
            tenant = rng.choice([None, *TENANTS])
            near = rng.choice([None, hex64(rng.getrandbits(64))])

            found = index.nearest(hex64(query), radius, tenant, dhash=near)

            assert found == memory.nearest(hex64(query), radius, tenant, dhash=near), query_number
            assert all(match.distance <= radius for match in found)

    def test_a_malformed_query_hash_is_refused(self, index: ProofIndex) -> None:
        with pytest.raises(ValueError, match="phash"):
            index.nearest("ABCDEF0123456789", 8)
        with pytest.raises(ValueError, match="dhash"):
            index.nearest(hex64(1), 8, dhash="xyz")
        with pytest.raises(ValueError, match="max_distance"):
            index.nearest(hex64(1), 65)

    def test_reads_only_the_rows_of_the_probed_buckets_never_a_whole_table(
        self, index: ProofIndex, index_dsn: str
    ) -> None:
        """Counted by PostgreSQL itself: rows read through each index, sequential scans."""
        rng = random.Random(11)
        hashes = [rng.getrandbits(64) for _ in range(50_000)]
        for start in range(0, len(hashes), 5_000):
            write(
                index,
                [
                    proof(number, hashes[number], tenant=TENANTS[number % 3])
                    for number in range(start, min(start + 5_000, len(hashes)))
                ],
            )
        index.close()
        query = flipped(hashes[123], [3, 17, 40])
        with psycopg.connect(index_dsn, autocommit=True, row_factory=dict_row) as monitor:
            for table in ("proofs", "proof_phash_bands"):
                monitor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
                monitor.execute(f"ANALYZE {table}")
            before = settled_counters(monitor, _TABLES, _INDEXES)

            with ProofIndex(index_dsn) as reader:
                started = time.perf_counter()
                found = reader.nearest(hex64(query), 8)
                elapsed = time.perf_counter() - started

            after = settled_counters(monitor, _TABLES, _INDEXES, changed_from=before)
            size = monitor.execute(
                "SELECT pg_total_relation_size('proof_phash_bands') AS bytes"
            ).fetchone()
        assert size is not None

        population = Counter(pair for phash in hashes for pair in band_values(phash))
        in_probed_buckets = sum(population[probe] for probe in probe_set(query, 8))
        read = {name: after[name] - before[name] for name in before}
        print(
            f"\n{len(hashes)} proofs, {4 * len(hashes)} band rows: {probe_count(8)} buckets "
            f"probed, {read['proof_phash_bands_pkey.idx_tup_read']} band rows read, "
            f"{len(found)} matches, "
            f"{elapsed * 1000:.1f} ms (first query of a new connection); bands table and index: "
            f"{size['bytes'] / len(hashes):.0f} bytes per proof"
        )
        assert [match.entry.proof_id for match in found][:1] == [f"{123:032x}"]
        assert read["proof_phash_bands_pkey.idx_tup_read"] == in_probed_buckets
        assert in_probed_buckets < 0.01 * 4 * len(hashes)
        assert read["proof_phash_bands.seq_scan"] == 0
        assert read["proofs.seq_scan"] == 0
        assert read["proofs_pkey.idx_tup_read"] <= in_probed_buckets


_TABLES = ("proofs", "proof_phash_bands")
_INDEXES = ("proofs_pkey", "proof_phash_bands_pkey")


class TestExactAndLocation:
    def test_the_oldest_proof_of_the_bytes_is_the_exact_match_of_the_tenant_or_of_any(
        self, index: ProofIndex
    ) -> None:
        sha256 = "ab" * 32
        write(
            index,
            [
                proof(1, 1, tenant="globex", sha256=sha256, issued_at=ISSUED_AT),
                proof(2, 1, tenant="acme", sha256=sha256, issued_at=ISSUED_AT + 5),
                proof(3, 1, tenant="acme", sha256=sha256, issued_at=ISSUED_AT + 9),
            ],
        )

        assert index.proof_of_image("acme", sha256.upper()) == f"{2:032x}"
        assert index.proof_of_image(None, sha256) == f"{1:032x}"
        assert index.proof_of_image("initech", sha256) is None
        assert index.proof_of_image(None, "cd" * 32) is None

    def test_the_location_of_a_proof_is_its_object_key(self, index: ProofIndex) -> None:
        write(index, [proof(7, 1)])

        assert index.location(f"{7:032x}") == "proofs/2026/01/01/7.json"
        assert index.location(f"{8:032x}") is None
