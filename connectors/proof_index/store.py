"""The proof index in PostgreSQL: idempotent batch upserts and the queries downstream needs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row

from connectors.proof_index.rows import (
    PROOF_COLUMNS,
    SOURCE_COLUMNS,
    IndexedProof,
    SourcePosition,
    indexed_proof,
    proof_row,
)
from connectors.proof_index.schema import SCHEMA_LOCK, SCHEMA_STATEMENTS
from streams.codecs.records import ProofCreated
from streams.errors import TransientError

__all__ = ["IndexUnavailable", "ProofIndex"]

_CONNECTION_DEFAULTS = {"connect_timeout": "10", "application_name": "credlink-proof-index"}

_WRITTEN = PROOF_COLUMNS + SOURCE_COLUMNS
_COMPARED = tuple(column for column in PROOF_COLUMNS if column != "proof_id")


def _columns(names: Sequence[str], table: str | None = None) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.Identifier(table, name) if table else sql.Identifier(name) for name in names
    )


# A row is rewritten only when a proof field differs, so a replayed event changes nothing: not
# the row, not its source position, not `indexed_at`, and it does not count as written.
_UPSERT = sql.SQL(
    "INSERT INTO proofs AS stored ({columns}) VALUES ({values}) "
    "ON CONFLICT (proof_id) DO UPDATE SET {updates}, indexed_at = now() "
    "WHERE ({stored}) IS DISTINCT FROM ({excluded})"
).format(
    columns=_columns(_WRITTEN),
    values=sql.SQL(", ").join(sql.Placeholder(name) for name in _WRITTEN),
    updates=sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name))
        for name in _WRITTEN
        if name != "proof_id"
    ),
    stored=_columns(_COMPARED, "stored"),
    excluded=_columns(_COMPARED, "excluded"),
)
_SELECT = sql.SQL("SELECT {columns}, indexed_at FROM proofs").format(columns=_columns(_WRITTEN))


class IndexUnavailable(TransientError):
    """The index database cannot be reached, or the connection broke: retrying may succeed."""


class ProofIndex:
    """The `proofs` table behind one connection, opened on first use and again after a failure.

    Every failure of the connection or server (`psycopg.OperationalError`) is raised as
    `IndexUnavailable`; the next call reconnects.
    """

    def __init__(self, conninfo: str) -> None:
        given = conninfo_to_dict(conninfo)
        defaults = {key: value for key, value in _CONNECTION_DEFAULTS.items() if key not in given}
        self._conninfo = make_conninfo(conninfo, **defaults)
        self._connection: psycopg.Connection[DictRow] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def create_schema(self) -> None:
        """Create the table and its indexes unless they exist."""
        with self._session() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in SCHEMA_STATEMENTS:
                connection.execute(statement)

    def upsert_many(
        self, proofs: Sequence[ProofCreated], positions: Sequence[SourcePosition]
    ) -> int:
        """Write `proofs`, read at `positions`, in one transaction; return the rows inserted or
        changed. A proof already indexed with the same fields is left as it is."""
        rows = [proof_row(proof, source) for proof, source in zip(proofs, positions, strict=True)]
        if not rows:
            return 0
        with self._session() as connection:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(_UPSERT, rows)
                written = cursor.rowcount
            return written

    def by_proof_id(self, proof_id: str) -> IndexedProof | None:
        """The proof with id `proof_id`, if indexed."""
        query = sql.SQL("{select} WHERE proof_id = %s").format(select=_SELECT)
        with self._session() as connection:
            row = connection.execute(query, (proof_id,)).fetchone()
        return indexed_proof(row) if row is not None else None

    def by_image(self, tenant: str, sha256: str) -> list[IndexedProof]:
        """The proofs of `tenant` for the image bytes with SHA-256 `sha256`, oldest first."""
        query = sql.SQL(
            "{select} WHERE tenant = %s AND sha256 = %s ORDER BY issued_at, proof_id"
        ).format(select=_SELECT)
        with self._session() as connection:
            rows = connection.execute(query, (tenant, sha256.lower())).fetchall()
        return [indexed_proof(row) for row in rows]

    def count(self, tenant: str | None = None) -> int:
        """The number of proofs indexed, of `tenant` or of every tenant."""
        with self._session() as connection:
            if tenant is None:
                row = connection.execute("SELECT count(*) AS n FROM proofs").fetchone()
            else:
                row = connection.execute(
                    "SELECT count(*) AS n FROM proofs WHERE tenant = %s", (tenant,)
                ).fetchone()
        assert row is not None
        return int(row["n"])

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self._conninfo, autocommit=True, row_factory=dict_row
                )
            yield self._connection
        except psycopg.OperationalError as error:
            self.close()
            raise IndexUnavailable(f"the proof index database is unavailable: {error}") from error
