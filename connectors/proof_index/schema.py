"""The proof index's tables and indexes, created idempotently when the service starts.

`proofs` holds one row per proof; `proof_phash_bands` files each proof under the four 16-bit
bands of its pHash, the buckets of `streams.core.perceptual_index`, so that a search by Hamming
radius reads only the buckets its probe set names (docs/verification.md). `credentials` holds one
row per C2PA manifest, the manifest repository the verify service serves
(docs/content-credentials.md). `proof_windows` holds the pHash and dHash of each canonical window
of a proof's picture (`streams.core.window_hashes`), searched by radius through one index per
band of each hash (`WINDOW_BANDS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import LiteralString

from streams.core.perceptual_index import HASH_BITS, band_values
from streams.core.window_hashes import Window

__all__ = [
    "BANDS_TABLE",
    "SCHEMA_LOCK",
    "SCHEMA_STATEMENTS",
    "WINDOW_BANDS",
    "WINDOW_BAND_KEYS",
    "WINDOW_CODES",
]

# Key of the advisory lock held while the schema is created: `CREATE ... IF NOT EXISTS` is not
# safe against itself, and several service instances may start at once.
SCHEMA_LOCK = 0x43_52_45_44_4C_49_4E_4B  # "CREDLINK"

# The table of pHash bands; proofs indexed before it existed are filed when it is created.
BANDS_TABLE = "proof_phash_bands"

# The code of each window in `proof_windows.window_code`. Stored data: a code is never changed
# or reused, and a new window takes the next one.
WINDOW_CODES: Mapping[Window, int] = MappingProxyType(
    {
        Window.GLOBAL: 0,
        Window.UNTRIMMED: 1,
        Window.COVER_16_9: 2,
        Window.COVER_1_1: 3,
        Window.COVER_4_5: 4,
        Window.COVER_9_16: 5,
        Window.COVER_3_2: 6,
        Window.COVER_4_3: 7,
        Window.COVER_2_3: 8,
        Window.CENTRE_90: 9,
        Window.CENTRE_80: 10,
        Window.TOP_LEFT_90: 11,
        Window.TOP_RIGHT_90: 12,
        Window.BOTTOM_LEFT_90: 13,
        Window.BOTTOM_RIGHT_90: 14,
        Window.TOP_LEFT_80: 15,
        Window.TOP_RIGHT_80: 16,
        Window.BOTTOM_LEFT_80: 17,
        Window.BOTTOM_RIGHT_80: 18,
    }
)

# Window hashes are filed under 3 bands of 21, 21 and 22 bits
# (`streams.core.perceptual_index.band_values(h, bands=3)`): at a million proofs, some 18
# million windows spread over 2^21 values a band, about 9 a bucket, where 4 bands of 16 bits
# would put some 275 in each (docs/verification.md has the measurement).
WINDOW_BANDS = 3


def _band_keys(column: LiteralString) -> tuple[LiteralString, ...]:
    """The SQL expressions of the band values of `column` (a signed 64-bit hash), in the order
    of `band_values(h, WINDOW_BANDS)`. The masks of every band are the band values of a hash of
    all ones; an arithmetic shift then leaves each band's bits under its mask."""
    keys = []
    shift = HASH_BITS
    for _, mask in band_values((1 << HASH_BITS) - 1, WINDOW_BANDS):
        shift -= mask.bit_length()
        keys.append(f"((({column} >> {shift}) & {mask})::integer)")
    return tuple(keys)


# The band values of a window's pHash and dHash: each the key of an index on `proof_windows`,
# and named in a search exactly so, for PostgreSQL to read those indexes.
WINDOW_BAND_KEYS: Mapping[str, tuple[LiteralString, ...]] = MappingProxyType(
    {column: _band_keys(column) for column in ("phash", "dhash")}
)

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
    # Hashes as the signed 64-bit integers of their bits (two's complement), which XOR and
    # bit_count read as they are. Proofs indexed before the table existed have no windows to
    # file (proof format 1), so creating it needs no backfill.
    """
    CREATE TABLE IF NOT EXISTS proof_windows (
        proof_id    text NOT NULL,
        window_code smallint NOT NULL,
        phash       bigint NOT NULL,
        dhash       bigint NOT NULL,
        PRIMARY KEY (proof_id, window_code)
    )
    """,
    "COMMENT ON COLUMN proof_windows.window_code IS"
    " 'The window (connectors.proof_index.schema.WINDOW_CODES): 0 = global'",
    *(
        f"CREATE INDEX IF NOT EXISTS proof_windows_{column}_{band}"
        f" ON proof_windows ({key}, window_code)"
        for column, keys in WINDOW_BAND_KEYS.items()
        for band, key in enumerate(keys)
    ),
)
