"""Measure the proof index's similarity lookups in PostgreSQL at up to a million proofs.

Starts a PostgreSQL of its own (`LocalPostgres` with `SERVER_SETTINGS`, under --home, on a
free port; stopped by PID and deleted at the end unless --keep), creates the index's schema
(`ProofIndex.create_schema`), and fills it by COPY with synthetic proofs, growing through each
of --sizes: their `proofs` rows, pHash bands and 18 windows each. Indexes are dropped while a
step loads and created again from the schema's own definitions. At each size it times
--queries lookups of each kind through `ProofIndex` itself, after --warm-up untimed ones:
`nearest` (the global pHash at r = 8) and `near_windows` (the 7 windows of a copy at
`WINDOW_SEARCH_DISTANCE`), for copies of stored proofs and for unrelated pictures. It reads the
index entries and buffers of a sample of them from their plans (auto_explain), and the sizes
of the tables and their indexes. Prints a table, writes the figures and one plan of each kind
as JSON under bench/results/. docs/verification.md records the output.

What it generates, and why: a proof's global pHash and dHash are 64 random bits, except that
one proof in ten is a near-duplicate of an earlier one (its hashes 1 to 6 bits from that
proof's: re-uploads and series, which crowd buckets as real collections do); its other 17
windows (7 cover crops, 2 central, 8 corner windows; no untrimmed one) lie a few bits from the
global hashes (3 to 8 for the 90 % windows, 6 to 14 for the others), as windows of one picture
are related. A copy's 7 windows are the proof's global, central and corner 80 % windows,
each 0 to 4 bits away in pHash and in dHash; an unrelated picture's are 7 random pairs.

    .venv/bin/python bench/proof_index_scale.py [--sizes 100000,300000,1000000]
        [--queries 500] [--home /tmp/credlink-proof-index-scale] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from PIL import Image
from psycopg.conninfo import make_conninfo

from connectors.proof_index import ProofIndex
from connectors.proof_index.schema import WINDOW_CODES
from streams.core.perceptual_index import DEFAULT_BANDS, band_values
from streams.core.window_hashes import Window, WindowHash, query_windows
from streams.core.window_index import WINDOW_SEARCH_DISTANCE
from streams.devtools.benchmarking.results import percentile
from streams.devtools.devstack.postgres import LocalPostgres
from streams.devtools.devstack.processes import free_port

RESULTS = Path(__file__).parent / "results"
GLOBAL_RADIUS = 8
TENANTS = ("acme", "globex", "initech")
# Every window a proof of a picture with trimmed bars and no aspect ratio of its own has.
PROOF_WINDOWS = tuple(window for window in Window if window is not Window.UNTRIMMED)
# The windows a copy is hashed in.
COPY_WINDOWS = tuple(hashed.window for hashed in query_windows(Image.new("L", (96, 96))))
# The 90 % windows, closer to the whole picture than the others.
_WIDE_WINDOWS = {window for window in Window if window.value.endswith("90")}
NEAR_DUPLICATES = 0.1
# The server's settings: an index of a million proofs is a few GB; a production server would
# hold it in memory.
SERVER_SETTINGS = {
    "shared_buffers": "4GB",
    "max_wal_size": "16GB",
    "maintenance_work_mem": "1GB",
    "synchronous_commit": "off",
}
_TABLES = ("proofs", "proof_phash_bands", "proof_windows")
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


@dataclass
class Proofs:
    """The synthetic proofs loaded so far: ids and, per window, signed 64-bit hashes."""

    ids: list[str]
    phash: np.ndarray[Any, np.dtype[np.int64]]  # (proofs, windows)
    dhash: np.ndarray[Any, np.dtype[np.int64]]


def flips(rng: np.random.Generator, rows: int, low: int, high: int) -> np.ndarray[Any, Any]:
    """`rows` 64-bit masks of `low` to `high` bits each (fewer where two draws coincide)."""
    positions = rng.integers(0, 64, size=(rows, high), dtype=np.uint64)
    counts = rng.integers(low, high + 1, size=(rows, 1))
    bits = np.where(np.arange(high) < counts, np.uint64(1) << positions, np.uint64(0))
    masks: np.ndarray[Any, Any] = np.bitwise_or.reduce(bits, axis=1)
    return masks


def generate(rng: np.random.Generator, first: int, count: int, earlier: Proofs | None) -> Proofs:
    """`count` proofs numbered from `first` (see the module docstring)."""
    ids = [f"{int(value):032x}" for value in rng.integers(0, 2**63, size=count, dtype=np.int64)]
    ids = [f"{number:08x}{proof_id[8:]}" for number, proof_id in enumerate(ids, start=first)]
    hashes = []
    for _ in ("phash", "dhash"):
        base = rng.integers(0, 2**64, size=count, dtype=np.uint64)
        hashes.append(base)
    if earlier is not None or count > 1:
        duplicates = np.flatnonzero(rng.random(count) < NEAR_DUPLICATES)
        for column, of_earlier in enumerate(
            (earlier.phash if earlier else None, earlier.dhash if earlier else None)
        ):
            pool = (
                of_earlier[:, 0].view(np.uint64)
                if of_earlier is not None and len(of_earlier)
                else hashes[column]
            )
            originals = pool[rng.integers(0, len(pool), size=len(duplicates))]
            hashes[column][duplicates] = originals ^ flips(rng, len(duplicates), 1, 6)
    columns = []
    for base in hashes:
        windows = [base]
        for window in PROOF_WINDOWS[1:]:
            low, high = (3, 8) if window in _WIDE_WINDOWS else (6, 14)
            windows.append(base ^ flips(rng, count, low, high))
        columns.append(np.stack(windows, axis=1).view(np.int64))
    return Proofs(ids, columns[0], columns[1])


def binary_copy(fields: Sequence[tuple[str, np.ndarray[Any, Any]]]) -> bytes:
    """Rows of fixed-width fields in PostgreSQL's binary COPY format: each field a big-endian
    (`>i2`, `>i4`, `>i8`) or byte-string (`S<n>`) column of one array per field."""
    rows = len(fields[0][1])
    dtype = [("count", ">i2")]
    for name, values in fields:
        dtype += [(f"{name}_length", ">i4"), (name, values.dtype.newbyteorder(">"))]
    records = np.empty(rows, dtype=dtype)
    records["count"] = len(fields)
    for name, values in fields:
        records[f"{name}_length"] = values.dtype.itemsize
        records[name] = values
    return records.tobytes()


def copy_in(connection: psycopg.Connection[Any], table: str, columns: str, data: bytes) -> None:
    with connection.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(_COPY_SIGNATURE)
        for start in range(0, len(data), 1 << 24):
            copy.write(data[start : start + (1 << 24)])
        copy.write(_COPY_TRAILER)


def proof_rows(proofs: Proofs, first: int) -> bytes:
    """The `proofs` rows as COPY text: every column the indexer writes, in the form it does."""
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    lines = []
    for offset, proof_id in enumerate(proofs.ids):
        number = first + offset
        phash = int(proofs.phash[offset, 0]) % 2**64
        dhash = int(proofs.dhash[offset, 0]) % 2**64
        lines.append(
            f"{proof_id}\tevent-{number}\t{TENANTS[number % 3]}\t{proof_id * 2}\t{phash:016x}\t"
            f"{dhash:016x}\t1280\t720\tJPEG\t250000\tkey-1\tEd25519\tsig-{number}\t"
            f"credlink-proofs\tproofs/2026/01/01/{proof_id}.json\t\\N\t"
            f"{(issued + timedelta(milliseconds=number)).isoformat()}\t2\tproofs.created\t"
            f"{number % 3}\t{number}\n"
        )
    return "".join(lines).encode()


def load(connection: psycopg.Connection[Any], proofs: Proofs, first: int) -> None:
    """COPY `proofs` (numbered from `first`) into the three tables."""
    with connection.cursor().copy(
        "COPY proofs (proof_id, event_id, tenant, sha256, phash, dhash, width, height, format,"
        " byte_size, key_id, algorithm, signature, bucket, object_key, version_id, issued_at,"
        " schema_version, source_topic, source_partition, source_offset) FROM STDIN"
    ) as copy:
        copy.write(proof_rows(proofs, first))
    ids = np.array(proofs.ids, dtype="S32")
    unsigned = proofs.phash[:, 0].view(np.uint64)
    bands = [
        (band, np.array([band_values(int(h), DEFAULT_BANDS)[band][1] for h in unsigned]))
        for band in range(DEFAULT_BANDS)
    ]
    copy_in(
        connection,
        "proof_phash_bands",
        "band, value, proof_id",
        b"".join(
            binary_copy(
                [
                    ("band", np.full(len(ids), band, dtype=np.int16)),
                    ("value", values.astype(np.int32)),
                    ("proof_id", ids),
                ]
            )
            for band, values in bands
        ),
    )
    windows = len(PROOF_WINDOWS)
    copy_in(
        connection,
        "proof_windows",
        "proof_id, window_code, phash, dhash",
        binary_copy(
            [
                ("proof_id", np.repeat(ids, windows)),
                (
                    "window_code",
                    np.tile(np.array([WINDOW_CODES[w] for w in PROOF_WINDOWS], np.int16), len(ids)),
                ),
                ("phash", proofs.phash.reshape(-1)),
                ("dhash", proofs.dhash.reshape(-1)),
            ]
        ),
    )


@dataclass(frozen=True)
class Definitions:
    """The indexes and primary keys of the tables, as the schema creates them."""

    constraints: list[tuple[str, str, str]]  # (table, name, definition)
    indexes: list[tuple[str, str]]  # (name, definition)


def definitions(connection: psycopg.Connection[Any]) -> Definitions:
    constraints = connection.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'p' AND conrelid::regclass::text = ANY(%s)",
        (list(_TABLES),),
    ).fetchall()
    indexes = connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        (list(_TABLES),),
    ).fetchall()
    return Definitions(constraints, indexes)


def drop(connection: psycopg.Connection[Any], schema: Definitions) -> None:
    for name, _ in schema.indexes:
        connection.execute(f"DROP INDEX {name}")
    for table, name, _ in schema.constraints:
        connection.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")


def rebuild(connection: psycopg.Connection[Any], schema: Definitions) -> None:
    for table, name, definition in schema.constraints:
        connection.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for _, definition in schema.indexes:
        connection.execute(definition)
    for table in _TABLES:
        connection.execute(f"VACUUM ANALYZE {table}")


def sizes(connection: psycopg.Connection[Any], proofs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for table in _TABLES:
        row = connection.execute(
            "SELECT pg_table_size(%s), pg_indexes_size(%s)", (table, table)
        ).fetchone()
        assert row is not None
        figures[table] = {
            "table_bytes": row[0],
            "index_bytes": row[1],
            "bytes_per_proof": round((row[0] + row[1]) / proofs),
        }
    return figures


def copy_query(rng: random.Random, proofs: Proofs) -> list[WindowHash]:
    """The 7 windows of a copy of a stored proof, each 0 to 4 bits from the proof's."""
    number = rng.randrange(len(proofs.ids))
    query = []
    for window in COPY_WINDOWS:
        column = PROOF_WINDOWS.index(window)
        phash, dhash = (
            int(hashes[number, column]) % 2**64 for hashes in (proofs.phash, proofs.dhash)
        )
        for _ in range(rng.randrange(5)):
            phash ^= 1 << rng.randrange(64)
        for _ in range(rng.randrange(5)):
            dhash ^= 1 << rng.randrange(64)
        query.append(WindowHash(window, phash, dhash))
    return query


def unrelated_query(rng: random.Random) -> list[WindowHash]:
    return [WindowHash(window, rng.getrandbits(64), rng.getrandbits(64)) for window in COPY_WINDOWS]


def lookups(index: ProofIndex) -> dict[str, Callable[[list[WindowHash]], int]]:
    """Each kind of lookup, by name, of a copy's windows: how many it found."""
    return {
        "nearest": lambda query: len(
            index.nearest(f"{query[0].phash:016x}", GLOBAL_RADIUS, dhash=f"{query[0].dhash:016x}")
        ),
        "near_windows": lambda query: len(index.near_windows(query, WINDOW_SEARCH_DISTANCE)),
    }


def time_queries(
    conninfo: str, queries: dict[str, list[list[WindowHash]]], warm_up: list[list[WindowHash]]
) -> dict[str, dict[str, float]]:
    """p50/p95/p99 and mean in ms, the mean number found, and the machine's load average at the
    end, of each lookup on each kind of query, through one open connection, after each lookup
    ran the `warm_up` queries untimed: an index in service has its pages in memory, not those
    of an index just built."""
    figures = {}
    with ProofIndex(conninfo) as index:
        for run in lookups(index).values():
            for query in warm_up:
                run(query)
        for lookup, run in lookups(index).items():
            for kind, batch in queries.items():
                elapsed, found = [], []
                for query in batch:
                    started = time.perf_counter()
                    found.append(run(query))
                    elapsed.append((time.perf_counter() - started) * 1000)
                figures[f"{lookup}/{kind}"] = {
                    "p50_ms": round(percentile(elapsed, 0.5), 2),
                    "p95_ms": round(percentile(elapsed, 0.95), 2),
                    "p99_ms": round(percentile(elapsed, 0.99), 2),
                    "mean_ms": round(statistics.fmean(elapsed), 2),
                    "mean_found": round(statistics.fmean(found), 2),
                    # The machine is shared: a busy one stretches the tail.
                    "load_average": round(os.getloadavg()[0], 2),
                }
    return figures


def explained(
    server: LocalPostgres, queries: dict[str, list[list[WindowHash]]]
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Per lookup and kind of query, over its queries: mean index entries read and buffers
    touched (from the JSON plans auto_explain logs); and the text plan of its first query."""
    figures: dict[str, dict[str, float]] = {}
    plans: dict[str, str] = {}
    for plan_format in ("json", "text"):
        conninfo = make_conninfo(
            server.conninfo(),
            options="-c session_preload_libraries=auto_explain"
            " -c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on"
            f" -c auto_explain.log_buffers=on -c auto_explain.log_format={plan_format}",
        )
        for lookup in ("nearest", "near_windows"):
            for kind, batch in queries.items():
                start = server.log_path.stat().st_size
                with ProofIndex(conninfo) as index:
                    run = lookups(index)[lookup]
                    for query in batch if plan_format == "json" else batch[:1]:
                        run(query)
                logged = logged_plans(server, start, plan_format)
                if plan_format == "text":
                    plans[f"{lookup}/{kind}"] = logged[-1]
                    continue
                parsed = [json.loads(plan)["Plan"] for plan in logged[-len(batch) :]]
                figures[f"{lookup}/{kind}"] = {
                    "mean_index_entries_read": round(
                        statistics.fmean(index_entries(plan) for plan in parsed), 1
                    ),
                    "mean_buffers": round(
                        statistics.fmean(
                            plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
                            for plan in parsed
                        ),
                        1,
                    ),
                }
    return figures, plans


_PLAN = re.compile(r"LOG:  duration: [0-9.]+ ms  plan:\n")
_ARRAY = re.compile(r"'\{[0-9,-]+\}'")


def logged_plans(server: LocalPostgres, start: int, plan_format: str) -> list[str]:
    """The plans auto_explain logged after byte `start` of the server log, once flushed."""
    time.sleep(0.5)
    with server.log_path.open("rb") as log:
        log.seek(start)
        text = log.read().decode("utf-8", "replace")
    pieces = _PLAN.split(text)[1:]
    if plan_format == "json":
        decoder = json.JSONDecoder()
        return [json.dumps(decoder.raw_decode(piece.lstrip())[0]) for piece in pieces]
    # A text plan starts with the statement, and names the probe arrays value by value:
    # thousands of characters, of which only their lengths are kept.
    return [
        _ARRAY.sub(
            lambda array: f"'{{{array[0].count(',') + 1} values}}'",
            "\n".join(
                line
                for line in re.split(r"\n\S", piece)[0].splitlines()
                if "Query Text:" not in line
            ),
        )
        for piece in pieces
    ]


def index_entries(plan: dict[str, Any]) -> float:
    """Index entries the plan read: the rows of its index scans, over all their loops."""
    own = (
        plan["Actual Rows"] * plan["Actual Loops"]
        if plan["Node Type"] in {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
        else 0
    )
    return own + sum(index_entries(child) for child in plan.get("Plans", ()))


@contextmanager
def server(home: Path, keep: bool) -> Iterator[LocalPostgres]:
    """A PostgreSQL of its own under `home`, with `SERVER_SETTINGS`, stopped by PID at the end
    and its data deleted unless `keep`."""
    postgres = LocalPostgres(home, free_port())
    postgres.start()
    try:
        with psycopg.connect(postgres.conninfo(), autocommit=True) as connection:
            for name, value in SERVER_SETTINGS.items():
                connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        postgres.stop()
        postgres.start()
        yield postgres
    finally:
        postgres.stop()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--explained", type=int, default=50, help="queries of each kind planned")
    parser.add_argument("--warm-up", type=int, default=200, help="untimed queries of each lookup")
    # Not under a home directory: PostgreSQL, run as its own account when the bench runs as
    # root, must reach the cluster.
    parser.add_argument(
        "--home", type=Path, default=Path(tempfile.gettempdir()) / "credlink-proof-index-scale"
    )
    parser.add_argument("--keep", action="store_true", help="keep the cluster at the end")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    steps = [int(size) for size in args.sizes.split(",")]
    rng = np.random.default_rng(args.seed)
    query_rng = random.Random(args.seed)  # noqa: S311 - reproducible queries, not secrets
    figures: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "server": SERVER_SETTINGS,
        "windows_per_proof": len(PROOF_WINDOWS),
        "sizes": [],
    }
    with server(args.home, args.keep) as postgres:
        conninfo = postgres.conninfo()
        with ProofIndex(conninfo) as index:
            index.create_schema()
        proofs: Proofs | None = None
        for size in steps:
            loaded = 0 if proofs is None else len(proofs.ids)
            started = time.perf_counter()
            new = generate(rng, loaded, size - loaded, proofs)
            generated = time.perf_counter() - started
            with psycopg.connect(conninfo, autocommit=True) as connection:
                schema = definitions(connection)
                drop(connection, schema)
                load(connection, new, loaded)
                copied = time.perf_counter() - started
                rebuild(connection, schema)
                built = time.perf_counter() - started
                table_sizes = sizes(connection, size)
            proofs = (
                new
                if proofs is None
                else Proofs(
                    proofs.ids + new.ids,
                    np.concatenate([proofs.phash, new.phash]),
                    np.concatenate([proofs.dhash, new.dhash]),
                )
            )
            queries = {
                "copy": [copy_query(query_rng, proofs) for _ in range(args.queries)],
                "unrelated": [unrelated_query(query_rng) for _ in range(args.queries)],
            }
            latency = time_queries(
                conninfo, queries, [copy_query(query_rng, proofs) for _ in range(args.warm_up)]
            )
            reads, plans = explained(
                postgres, {kind: batch[: args.explained] for kind, batch in queries.items()}
            )
            step = {
                "proofs": size,
                "windows": size * len(PROOF_WINDOWS),
                "load_seconds": {
                    "generate": round(generated, 1),
                    "copy": round(copied - generated, 1),
                    "indexes_and_analyze": round(built - copied, 1),
                },
                "sizes": table_sizes,
                "lookups": {name: {**latency[name], **reads[name]} for name in latency},
                "plans": plans,
            }
            figures["sizes"].append(step)
            report(step)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"proof-index-scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {path}")


def report(step: dict[str, Any]) -> None:
    print(
        f"\n{step['proofs']:,} proofs ({step['windows']:,} windows); load "
        f"{sum(step['load_seconds'].values()):.0f} s {step['load_seconds']}"
    )
    for table, size in step["sizes"].items():
        print(
            f"  {table}: {size['table_bytes'] / 2**20:,.0f} MiB + indexes "
            f"{size['index_bytes'] / 2**20:,.0f} MiB, {size['bytes_per_proof']} bytes per proof"
        )
    print("  lookup/query             p50 ms  p95 ms  p99 ms  found  entries read  buffers  load")
    for name, lookup in step["lookups"].items():
        print(
            f"  {name:<24}{lookup['p50_ms']:>7}{lookup['p95_ms']:>8}{lookup['p99_ms']:>8}"
            f"{lookup['mean_found']:>7}{lookup['mean_index_entries_read']:>14}"
            f"{lookup['mean_buffers']:>9}{lookup['load_average']:>6}",
            flush=True,
        )


if __name__ == "__main__":
    main()
