"""The proof index's tables and indexes, created idempotently when the service starts.

`proofs` holds one row per proof; `proof_phash_bands` files each proof under the four 16-bit
bands of its pHash, the buckets of `streams.core.perceptual_index`, so that a search by Hamming
radius reads only the buckets its probe set names (docs/verification.md). `credentials` holds one
row per C2PA manifest, the manifest repository the verify service serves
(docs/content-credentials.md).
"""

from __future__ import annotations

from typing import LiteralString

__all__ = ["BANDS_TABLE", "SCHEMA_LOCK", "SCHEMA_STATEMENTS"]

# Key of the advisory lock held while the schema is created: `CREATE ... IF NOT EXISTS` is not
# safe against itself, and several service instances may start at once.
SCHEMA_LOCK = 0x43_52_45_44_4C_49_4E_4B  # "CREDLINK"

# The table of pHash bands; proofs indexed before it existed are filed when it is created.
BANDS_TABLE = "proof_phash_bands"

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
    # The exact lookup of the verifier when no tenant is given.
    "CREATE INDEX IF NOT EXISTS proofs_sha256 ON proofs (sha256)",
    """
    CREATE TABLE IF NOT EXISTS proof_phash_bands (
        band     smallint NOT NULL,
        value    integer NOT NULL,
        proof_id text NOT NULL,
        PRIMARY KEY (band, value, proof_id)
    )
    """,
    "COMMENT ON TABLE proof_phash_bands IS"
    " 'Each proof filed under the value of each 16-bit band of its pHash (band 0 = high bits)'",
    # No foreign key to `proofs`: the two topics are consumed independently, so a credential
    # may be indexed before its proof.
    """
    CREATE TABLE IF NOT EXISTS credentials (
        manifest_id        text PRIMARY KEY,
        proof_id           text NOT NULL,
        event_id           text NOT NULL,
        tenant             text NOT NULL,
        media_type         text NOT NULL,
        image_sha256       text NOT NULL,
        bucket             text NOT NULL,
        object_key         text NOT NULL,
        version_id         text,
        manifest_bytes     bigint NOT NULL,
        soft_binding_alg   text,
        soft_binding_value bytea,
        issued_at          timestamptz NOT NULL,
        indexed_at         timestamptz NOT NULL DEFAULT now(),
        source_topic       text NOT NULL,
        source_partition   integer NOT NULL,
        source_offset      bigint NOT NULL
    )
    """,
    "COMMENT ON COLUMN credentials.object_key IS"
    " 'Key of the manifest store (application/c2pa) in the proof store'",
    "CREATE INDEX IF NOT EXISTS credentials_proof_id ON credentials (proof_id)",
    "CREATE INDEX IF NOT EXISTS credentials_soft_binding"
    " ON credentials (soft_binding_alg, soft_binding_value, tenant)"
    " WHERE soft_binding_value IS NOT NULL",
)
