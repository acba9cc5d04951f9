"""The proof index in PostgreSQL: idempotent batch upserts and the queries downstream needs,
among them the verifier's lookups by SHA-256, by pHash radius and by window hashes, and the
manifest repository's lookups of credentials by manifest id, proof and soft binding."""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, LiteralString, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row

from connectors.proof_index.rows import (
    CREDENTIAL_COLUMNS,
    PROOF_COLUMNS,
    SOURCE_COLUMNS,
    IndexedCredential,
    IndexedProof,
    SourcePosition,
    UnindexableWindows,
    credential_row,
    filed_bands,
    index_entry,
    indexed_credential,
    indexed_proof,
    proof_row,
    signed64,
    unsigned64,
    window_rows,
)
from connectors.proof_index.schema import (
    BANDS_TABLE,
    SCHEMA_LOCK,
    SCHEMA_STATEMENTS,
    WINDOW_BAND_KEYS,
    WINDOW_BANDS,
    WINDOW_CODES,
)
from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.errors import TransientError
from streams.core.imaging import hamming_distance
from streams.core.perceptual_index import Match, nearest_first, probe_set
from streams.core.window_hashes import Window, WindowHash
from streams.core.window_index import WindowMatch

__all__ = ["IndexUnavailable", "ProofIndex"]

log = logging.getLogger(__name__)

_CONNECTION_DEFAULTS = {"connect_timeout": "10", "application_name": "credlink-proof-index"}
# Every lookup reads a few thousand rows at most: compiling it (JIT) or starting parallel
# workers costs more than it saves (30 ms of JIT per window search at a million proofs) and
# takes cores from other lookups. Options of the DSN come after these and win.
_SESSION_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0"

_WRITTEN = PROOF_COLUMNS + SOURCE_COLUMNS
_COMPARED = tuple(column for column in PROOF_COLUMNS if column != "proof_id")


def _columns(names: Sequence[str], table: str | None = None) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.Identifier(table, name) if table else sql.Identifier(name) for name in names
    )


def _placeholders(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Placeholder(name) for name in names)


def _assignments(
    names: Iterable[str], template: LiteralString = "{0} = EXCLUDED.{0}"
) -> sql.Composable:
    """`column = <template>` for each of `names`, `{0}` standing for the column."""
    return sql.SQL(", ").join(sql.SQL(template).format(sql.Identifier(name)) for name in names)


# A row is rewritten only when a proof field differs, so a replayed event changes nothing: not
# the row, not its source position, not `indexed_at`, and it does not count as written.
_UPSERT = sql.SQL(
    "INSERT INTO proofs AS stored ({columns}) VALUES ({values}) "
    "ON CONFLICT (proof_id) DO UPDATE SET {updates}, indexed_at = now() "
    "WHERE ({stored}) IS DISTINCT FROM ({excluded})"
).format(
    columns=_columns(_WRITTEN),
    values=_placeholders(_WRITTEN),
    updates=_assignments(name for name in _WRITTEN if name != "proof_id"),
    stored=_columns(_COMPARED, "stored"),
    excluded=_columns(_COMPARED, "excluded"),
)
_SELECT = sql.SQL("SELECT {columns}, indexed_at FROM proofs").format(columns=_columns(_WRITTEN))

_CREDENTIAL_WRITTEN = CREDENTIAL_COLUMNS + SOURCE_COLUMNS
_SOFT_BINDING = ("soft_binding_alg", "soft_binding_value")
_CREDENTIAL_COMPARED = tuple(
    column for column in CREDENTIAL_COLUMNS if column not in {"manifest_id", *_SOFT_BINDING}
)
# As for proofs, a replayed event changes nothing. An event without a soft binding (from a
# producer that did not compute it) leaves the one indexed before.
_UPSERT_CREDENTIAL = sql.SQL(
    "INSERT INTO credentials AS stored ({columns}) VALUES ({values}) "
    "ON CONFLICT (manifest_id) DO UPDATE SET {updates}, {soft_binding}, indexed_at = now() "
    "WHERE ({stored}) IS DISTINCT FROM ({excluded}) OR (EXCLUDED.soft_binding_value IS NOT NULL "
    "AND ({stored_binding}) IS DISTINCT FROM ({excluded_binding}))"
).format(
    columns=_columns(_CREDENTIAL_WRITTEN),
    values=_placeholders(_CREDENTIAL_WRITTEN),
    updates=_assignments(
        name for name in _CREDENTIAL_WRITTEN if name != "manifest_id" and name not in _SOFT_BINDING
    ),
    soft_binding=_assignments(_SOFT_BINDING, "{0} = COALESCE(EXCLUDED.{0}, stored.{0})"),
    stored=_columns(_CREDENTIAL_COMPARED, "stored"),
    excluded=_columns(_CREDENTIAL_COMPARED, "excluded"),
    stored_binding=_columns(_SOFT_BINDING, "stored"),
    excluded_binding=_columns(_SOFT_BINDING, "excluded"),
)
_SELECT_CREDENTIAL = "SELECT manifest_id, proof_id, tenant, object_key FROM credentials"

# The rows a batch may change, locked in a fixed order (two writers never wait on each other in
# a cycle) and read before the upsert, to find band rows a changed pHash leaves behind.
_FILED_BEFORE = (
    "SELECT proof_id, tenant, phash, dhash FROM proofs WHERE proof_id = ANY(%s) "
    "ORDER BY proof_id FOR UPDATE"
)
_FILE = (
    "INSERT INTO proof_phash_bands (band, value, proof_id) "
    "SELECT * FROM unnest(%s::smallint[], %s::integer[], %s::text[]) "
    "ON CONFLICT DO NOTHING"
)
_UNFILE = (
    "DELETE FROM proof_phash_bands AS filed "
    "USING unnest(%s::smallint[], %s::integer[], %s::text[]) AS stale (band, value, proof_id) "
    "WHERE (filed.band, filed.value, filed.proof_id) = (stale.band, stale.value, stale.proof_id)"
)
# The candidates are the proofs filed in the probed buckets, each read through the primary key
# of `proof_phash_bands`; only those within the radius leave the server.
_NEAREST = sql.SQL(
    "SELECT proof_id, tenant, phash, dhash, distance FROM ("
    " SELECT proofs.proof_id, proofs.tenant, proofs.phash, proofs.dhash,"
    "  bit_count(('x' || proofs.phash)::bit(64) # ('x' || %(phash)s)::bit(64)) AS distance"
    " FROM ("
    "  SELECT DISTINCT filed.proof_id"
    "  FROM unnest(%(bands)s::smallint[], %(values)s::integer[]) AS probe (band, value)"
    "  JOIN proof_phash_bands AS filed"
    "   ON filed.band = probe.band AND filed.value = probe.value"
    " ) AS candidates"
    " JOIN proofs ON proofs.proof_id = candidates.proof_id{tenant}"
    ") AS near WHERE distance <= %(max_distance)s"
)
_OF_TENANT = sql.SQL(" WHERE proofs.tenant = %(tenant)s")

# A proof's windows are replaced by those of its last event: rows it no longer has are deleted,
# and rows already filed are left as they are, so a replayed event writes nothing.
_UNFILE_WINDOWS = (
    "DELETE FROM proof_windows AS filed WHERE filed.proof_id = ANY(%s::text[]) "
    "AND (filed.proof_id, filed.window_code, filed.phash, filed.dhash) NOT IN ("
    " SELECT * FROM unnest(%s::text[], %s::smallint[], %s::bigint[], %s::bigint[]))"
)
_FILE_WINDOWS = (
    "INSERT INTO proof_windows (proof_id, window_code, phash, dhash) "
    "SELECT * FROM unnest(%s::text[], %s::smallint[], %s::bigint[], %s::bigint[]) "
    "ON CONFLICT DO NOTHING"
)
# The windows near a copy's: `{candidates}` reads the buckets of the probe set through the band
# indexes of `proof_windows` (a bitmap of each, OR-ed), and `{near}` keeps a candidate when a
# comparable window of the copy comes within the radius in pHash or dHash. The matches are
# materialised so that the tenant is looked up for them only.
_NEAR_WINDOWS = sql.SQL(
    "WITH near AS MATERIALIZED ("
    " SELECT filed.proof_id, filed.window_code, filed.phash, filed.dhash"
    " FROM proof_windows AS filed WHERE ({candidates}) AND ({near})"
    ") SELECT near.proof_id, near.window_code, near.phash, near.dhash FROM near{tenant}"
)
_PROBED = sql.SQL("({window}{key} = ANY({values}::integer[]))")
_WITHIN = sql.SQL(
    "({window}(bit_count((filed.phash # {phash}::bigint)::bit(64)) <= %(max_distance)s"
    " OR bit_count((filed.dhash # {dhash}::bigint)::bit(64)) <= %(max_distance)s))"
)
# A subquery per match, not a join: a join may read `proofs` whole when the planner expects
# many candidates.
_WINDOWS_OF_TENANT = sql.SQL(
    " WHERE (SELECT tenant FROM proofs WHERE proofs.proof_id = near.proof_id) = %(tenant)s"
)
_WINDOW_OF_CODE = {code: window for window, code in WINDOW_CODES.items()}
_PHASH = re.compile(r"[0-9a-f]{16}")
_BACKFILL_BATCH = 5000


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
        options = f"{_SESSION_OPTIONS} {given.get('options') or ''}".rstrip()
        self._conninfo = make_conninfo(conninfo, **defaults, options=options)
        self._connection: psycopg.Connection[DictRow] | None = None
        self._lock = threading.RLock()

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
        """Create the tables and their indexes unless they exist.

        When the band table is created next to proofs indexed before it existed, those proofs
        are filed in it in the same transaction.
        """
        with self._session() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            row = connection.execute(
                "SELECT to_regclass(%s) IS NOT NULL AS present", (BANDS_TABLE,)
            ).fetchone()
            bands_existed = row is not None and row["present"]
            for statement in SCHEMA_STATEMENTS:
                connection.execute(statement)
            if not bands_existed:
                _file_every_proof(connection)

    def upsert_many(
        self, proofs: Sequence[ProofCreated], positions: Sequence[SourcePosition]
    ) -> int:
        """Write `proofs`, read at `positions`, in one transaction; return the rows inserted or
        changed. A proof already indexed with the same fields is left as it is.

        Each proof is filed under its pHash bands in the same transaction; a proof whose pHash
        changed leaves the buckets of the old one. Its windows (`ProofCreated.windows`) are
        written there too, replacing those it had; windows not in the pipeline's form are
        logged and left out, and the proof is indexed without them.
        """
        rows = [proof_row(proof, source) for proof, source in zip(proofs, positions, strict=True)]
        if not rows:
            return 0
        # The last row of a proof id is what the batch leaves in the table.
        final = {row["proof_id"]: row for row in rows}
        with self._session() as connection:
            with connection.transaction(), connection.cursor() as cursor:
                before = cursor.execute(_FILED_BEFORE, (list(final),)).fetchall()
                cursor.executemany(_UPSERT, rows)
                written = cursor.rowcount
                stale = [
                    (band, value, old["proof_id"])
                    for old in before
                    if (bands := filed_bands(old)) != filed_bands(final[old["proof_id"]])
                    for band, value in bands
                ]
                if stale:
                    cursor.execute(_UNFILE, _band_columns(stale))
                _file(cursor, final.values())
                _file_windows(cursor, {proof.proof_id: proof for proof in proofs}.values())
            return written

    def upsert_credentials(
        self, credentials: Sequence[CredentialIssued], positions: Sequence[SourcePosition]
    ) -> int:
        """Write `credentials`, read at `positions`, in one transaction; return the rows
        inserted or changed. A credential already indexed with the same fields is left as it
        is."""
        rows = [
            credential_row(credential, source)
            for credential, source in zip(credentials, positions, strict=True)
        ]
        if not rows:
            return 0
        # In a fixed order, so that two writers never wait on each other in a cycle.
        rows.sort(key=lambda row: str(row["manifest_id"]))
        with (
            self._session() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            cursor.executemany(_UPSERT_CREDENTIAL, rows)
            return cursor.rowcount

    def credential(self, manifest_id: str) -> IndexedCredential | None:
        """The credential whose manifest is `manifest_id`, if indexed."""
        with self._session() as connection:
            row = connection.execute(
                _SELECT_CREDENTIAL + " WHERE manifest_id = %s", (manifest_id,)
            ).fetchone()
        return indexed_credential(row) if row is not None else None

    def credential_of_proof(self, proof_id: str) -> IndexedCredential | None:
        """The credential issued for proof `proof_id`, if indexed."""
        with self._session() as connection:
            row = connection.execute(
                _SELECT_CREDENTIAL + " WHERE proof_id = %s ORDER BY manifest_id LIMIT 1",
                (proof_id,),
            ).fetchone()
        return indexed_credential(row) if row is not None else None

    def credentials_of_proofs(
        self, tenant: str, proof_ids: Sequence[str]
    ) -> dict[str, IndexedCredential]:
        """The credentials of `tenant` issued for any of `proof_ids`, by proof id."""
        with self._session() as connection:
            rows = connection.execute(
                _SELECT_CREDENTIAL + " WHERE proof_id = ANY(%s) AND tenant = %s "
                "ORDER BY manifest_id",
                (list(proof_ids), tenant),
            ).fetchall()
        found: dict[str, IndexedCredential] = {}
        for row in rows:
            found.setdefault(row["proof_id"], indexed_credential(row))
        return found

    def credentials_by_soft_binding(
        self, tenant: str, alg: str, value: bytes, limit: int
    ) -> list[IndexedCredential]:
        """The credentials of `tenant` whose manifest's soft binding is `alg` with exactly
        `value`, oldest first, at most `limit`."""
        with self._session() as connection:
            rows = connection.execute(
                _SELECT_CREDENTIAL + " WHERE soft_binding_alg = %s AND soft_binding_value = %s "
                "AND tenant = %s ORDER BY issued_at, manifest_id LIMIT %s",
                (alg, value, tenant, limit),
            ).fetchall()
        return [indexed_credential(row) for row in rows]

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

    def proof_of_image(self, tenant: str | None, sha256: str) -> str | None:
        """The id of the oldest proof of the image bytes with SHA-256 `sha256`, of `tenant` or
        of any tenant when it is None: the verifier's exact lookup."""
        if tenant is None:
            query = (
                "SELECT proof_id FROM proofs WHERE sha256 = %s ORDER BY issued_at, proof_id LIMIT 1"
            )
            params: tuple[str, ...] = (sha256.lower(),)
        else:
            query = (
                "SELECT proof_id FROM proofs WHERE tenant = %s AND sha256 = %s "
                "ORDER BY issued_at, proof_id LIMIT 1"
            )
            params = (tenant, sha256.lower())
        with self._session() as connection:
            row = connection.execute(query, params).fetchone()
        return str(row["proof_id"]) if row is not None else None

    def nearest(
        self,
        phash: str,
        max_distance: int,
        tenant: str | None = None,
        *,
        dhash: str | None = None,
    ) -> list[Match]:
        """Every proof within `max_distance` pHash bits of `phash`, nearest first, as
        `PerceptualIndex.nearest` finds them (the same order, the same `Match`es).

        Only proofs of `tenant` when it is given. Reads the buckets of the multi-index hashing
        probe set (`streams.core.perceptual_index.probe_set`: 188 at a radius of 8) through the
        primary key of `proof_phash_bands`, never the whole table; PostgreSQL computes the full
        64-bit distance of each candidate and returns only the matches.
        """
        for value, name in ((phash, "phash"), (dhash, "dhash")):
            if value is not None and not _PHASH.fullmatch(value):
                raise ValueError(f"{name} must be 16 lowercase hex digits, not {value!r}")
        probes = probe_set(int(phash, 16), max_distance)
        query = _NEAREST.format(tenant=_OF_TENANT if tenant is not None else sql.SQL(""))
        params = {
            "phash": phash,
            "bands": [band for band, _ in probes],
            "values": [value for _, value in probes],
            "tenant": tenant,
            "max_distance": max_distance,
        }
        with self._session() as connection:
            rows = connection.execute(query, params).fetchall()
        matches = []
        for row in rows:
            entry = index_entry(row)
            if entry is None:  # filed before its row changed to a form no search returns
                continue
            dhash_distance = None if dhash is None else hamming_distance(entry.dhash, dhash)
            matches.append(Match(entry, int(row["distance"]), dhash_distance))
        return nearest_first(matches)

    def near_windows(
        self, query: Sequence[WindowHash], max_distance: int, tenant: str | None = None
    ) -> list[WindowMatch]:
        """Every indexed window (of a proof of `tenant`, when given) within `max_distance` bits
        in pHash or in dHash of a window of `query` it is comparable with, each once, ordered by
        proof id and window: what `streams.core.window_index.WindowIndex.near_windows` finds.

        One statement. Each window of the copy probes, for its pHash and its dHash, the
        buckets of `probe_set(h, max_distance, WINDOW_BANDS)` (718 each at a radius of 8)
        through the band indexes of `proof_windows`, the copy's global window in every window,
        its other windows in the window of the same name; PostgreSQL keeps the candidates
        within the radius, never reading the whole table.
        """
        if not query:
            return []
        statement, params = _near_windows_statement(query, max_distance, tenant)
        with self._session() as connection:
            rows = connection.execute(statement, params).fetchall()
        matches = [
            WindowMatch(
                row["proof_id"],
                WindowHash(
                    _WINDOW_OF_CODE[row["window_code"]],
                    unsigned64(row["phash"]),
                    unsigned64(row["dhash"]),
                ),
            )
            for row in rows
            # A window a newer indexer files under a code this version does not know.
            if row["window_code"] in _WINDOW_OF_CODE
        ]
        return sorted(matches, key=lambda match: (match.proof_id, match.window.window))

    def location(self, proof_id: str) -> str | None:
        """The storage key of proof `proof_id` in the proof store, if indexed."""
        with self._session() as connection:
            row = connection.execute(
                "SELECT object_key FROM proofs WHERE proof_id = %s", (proof_id,)
            ).fetchone()
        return str(row["object_key"]) if row is not None else None

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
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[DictRow]]:
        with self._lock:
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = psycopg.connect(
                        self._conninfo, autocommit=True, row_factory=dict_row
                    )
                yield self._connection
            except psycopg.OperationalError as error:
                self.close()
                raise IndexUnavailable(
                    f"the proof index database is unavailable: {error}"
                ) from error


def _band_columns(rows: Sequence[tuple[int, int, str]]) -> tuple[list[int], list[int], list[str]]:
    """(band, value, proof_id) rows as the three arrays `unnest` takes."""
    return (
        [band for band, _, _ in rows],
        [value for _, value, _ in rows],
        [proof_id for _, _, proof_id in rows],
    )


def _file(cursor: psycopg.Cursor[Any], rows: Iterable[Any]) -> None:
    """File the proofs of `rows` (with `proof_id`, `tenant`, `phash`, `dhash`) under their
    pHash bands; buckets they are filed in already are left as they are."""
    filed = [(band, value, row["proof_id"]) for row in rows for band, value in filed_bands(row)]
    if filed:
        cursor.execute(_FILE, _band_columns(filed))


def _near_windows_statement(
    query: Sequence[WindowHash], max_distance: int, tenant: str | None
) -> tuple[sql.Composed, dict[str, Any]]:
    """`_NEAR_WINDOWS` for the windows of `query` and its parameters."""
    params: dict[str, Any] = {"max_distance": max_distance, "tenant": tenant}
    # Buckets to read, by band index and the proof window they are read for (None: every one).
    probes: defaultdict[tuple[str, int, int | None], set[int]] = defaultdict(set)
    near = []
    for number, copy in enumerate(query):
        code = None if copy.window is Window.GLOBAL else WINDOW_CODES[copy.window]
        for column, value in (("phash", copy.phash), ("dhash", copy.dhash)):
            params[f"{column}{number}"] = signed64(value)
            for band, band_value in probe_set(value, max_distance, WINDOW_BANDS):
                probes[column, band, code].add(band_value)
        near.append(
            _WITHIN.format(
                window=_of_window(code),
                phash=sql.Placeholder(f"phash{number}"),
                dhash=sql.Placeholder(f"dhash{number}"),
            )
        )
    candidates = []
    for number, ((column, band, code), values) in enumerate(probes.items()):
        params[f"probe{number}"] = sorted(values)
        candidates.append(
            _PROBED.format(
                key=sql.SQL(WINDOW_BAND_KEYS[column][band]),
                values=sql.Placeholder(f"probe{number}"),
                window=_of_window(code),
            )
        )
    statement = _NEAR_WINDOWS.format(
        candidates=sql.SQL(" OR ").join(candidates),
        near=sql.SQL(" OR ").join(near),
        tenant=_WINDOWS_OF_TENANT if tenant is not None else sql.SQL(""),
    )
    return statement, params


def _of_window(code: int | None) -> sql.Composable:
    """The condition, followed by AND, that a filed window is the one of `code`; none for
    None (every window)."""
    if code is None:
        return sql.SQL("")
    return sql.SQL("filed.window_code = {} AND ").format(sql.Literal(code))


def _file_windows(cursor: psycopg.Cursor[Any], proofs: Iterable[ProofCreated]) -> None:
    """Replace the filed windows of each of `proofs` with its own (`window_rows`)."""
    proof_ids: list[str] = []
    filed: list[tuple[str, int, int, int]] = []
    for proof in proofs:
        proof_ids.append(proof.proof_id)
        try:
            filed.extend(window_rows(proof))
        except UnindexableWindows as problem:
            log.warning("proof index: indexing a proof without its windows: %s", problem)
    columns = tuple(list(column) for column in zip(*filed, strict=True)) or ([], [], [], [])
    cursor.execute(_UNFILE_WINDOWS, (proof_ids, *columns))
    if filed:
        cursor.execute(_FILE_WINDOWS, columns)


def _file_every_proof(connection: psycopg.Connection[DictRow]) -> None:
    """File every indexed proof under its pHash bands, in batches (a server-side cursor)."""
    with (
        connection.cursor(name="credlink_file_bands") as proofs,
        connection.cursor() as bands,
    ):
        proofs.execute("SELECT proof_id, tenant, phash, dhash FROM proofs")
        while batch := proofs.fetchmany(_BACKFILL_BATCH):
            _file(bands, batch)
