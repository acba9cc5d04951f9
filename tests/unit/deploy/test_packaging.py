"""The package as built and installed: a wheel carries the Avro schemas and the OpenAPI
document, and an installed wheel finds them without the source tree.

The top-level `schemas/` stays the one copy of the schemas; `streams/schemas` links to it.
"""

from __future__ import annotations

from streams.core.codecs.schemas import SchemaSet, default_schema_dir
from tests.support.paths import REPO

ROOT = REPO


SCHEMAS = ROOT / "schemas"


def test_the_source_tree_reads_the_top_level_schemas_in_place() -> None:
    assert default_schema_dir() == SCHEMAS
    assert (ROOT / "streams" / "schemas").resolve() == SCHEMAS
    assert len(list(SchemaSet.load())) == len(list(SCHEMAS.glob("*.avsc")))
