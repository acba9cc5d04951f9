"""The proof index's table and indexes, created idempotently when the service starts."""

from __future__ import annotations

from typing import LiteralString

__all__ = ["SCHEMA_LOCK", "SCHEMA_STATEMENTS"]

# Key of the advisory lock held while the schema is created: `CREATE ... IF NOT EXISTS` is not
# safe against itself, and several service instances may start at once.
SCHEMA_LOCK = 0x43_52_45_44_4C_49_4E_4B  # "CREDLINK"

SCHEMA_STATEMENTS: tuple[LiteralString, ...] = (
    """
    CREATE TABLE IF NOT EXISTS proofs (
        proof_id         text PRIMARY KEY,
        event_id         text NOT NULL,
        tenant           text NOT NULL,
        sha256           text NOT NULL,
        phash            text NOT NULL,
        dhash            text NOT NULL,
        width            integer NOT NULL,
        height           integer NOT NULL,
        format           text NOT NULL,
        byte_size        bigint NOT NULL,
        key_id           text NOT NULL,
        algorithm        text NOT NULL,
        signature        text NOT NULL,
        bucket           text NOT NULL,
        object_key       text NOT NULL,
        version_id       text,
        issued_at        timestamptz NOT NULL,
        schema_version   integer NOT NULL,
        indexed_at       timestamptz NOT NULL DEFAULT now(),
        source_topic     text NOT NULL,
        source_partition integer NOT NULL,
        source_offset    bigint NOT NULL
    )
    """,
    "COMMENT ON COLUMN proofs.indexed_at IS"
    " 'When the row was last written: first indexed, or last changed by a newer event'",
    "COMMENT ON COLUMN proofs.source_offset IS"
    " 'Offset of the proofs.created record that last wrote the row (replays leave it)'",
    "CREATE INDEX IF NOT EXISTS proofs_tenant_sha256 ON proofs (tenant, sha256)",
    "CREATE INDEX IF NOT EXISTS proofs_tenant_issued_at ON proofs (tenant, issued_at)",
)
