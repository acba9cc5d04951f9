"""PostgreSQL's own access counters of tables and indexes, read once they have settled: what the
proof-index tests show "never a scan" with."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row

__all__ = ["settled_counters"]


def settled_counters(
    monitor: psycopg.Connection[Any],
    tables: Sequence[str],
    indexes: Sequence[str],
    changed_from: dict[str, int] | None = None,
) -> dict[str, int]:
    """The sequential scans of each of `tables` (`"<table>.seq_scan"`) and the scans and entries
    read of each of `indexes` (`"<index>.idx_scan"`, `"<index>.idx_tup_read"`), once the
    sessions that touched them have gone and reported (a session reports its counters when it
    ends), and, with `changed_from`, once some index shows new scans."""
    deadline = time.monotonic() + 30
    previous: dict[str, int] | None = None
    while True:
        with monitor.cursor(row_factory=tuple_row) as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            others = cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            current = _counters(cursor, tables, indexes)
        changed = changed_from is None or any(
            current[name] > changed_from[name] for name in current if name.endswith(".idx_scan")
        )
        if others is not None and others[0] == 0 and changed and current == previous:
            return current
        assert time.monotonic() < deadline, f"statistics did not settle: {current}"
        previous = current
        time.sleep(0.5)


def _counters(
    cursor: psycopg.Cursor[tuple[Any, ...]], tables: Sequence[str], indexes: Sequence[str]
) -> dict[str, int]:
    counters: dict[str, int] = {}
    for table in tables:
        row = cursor.execute(
            "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = %s", (table,)
        ).fetchone()
        counters[f"{table}.seq_scan"] = int(row[0] or 0) if row is not None else 0
    for index in indexes:
        row = cursor.execute(
            "SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = %s",
            (index,),
        ).fetchone()
        scans, read = row if row is not None else (0, 0)
        counters[f"{index}.idx_scan"] = int(scans or 0)
        counters[f"{index}.idx_tup_read"] = int(read or 0)
    return counters
