"""The `.avsc` files as named Avro schemas, with the fingerprints that identify them on the wire.

`schemas/*.avsc` hold the current version of each event schema; `schemas/history/*.avsc` hold
earlier versions that events still in Kafka may have been written with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, fingerprint, to_parsing_canonical_form

import streams
from streams.core.errors import SetupError

__all__ = ["HISTORY_DIR", "NamedSchema", "SchemaSet", "default_schema_dir"]

HISTORY_DIR = "history"


def default_schema_dir() -> Path:
    """The schemas the package carries: in a source tree, the repository's `schemas/`."""
    # `streams/schemas` links to the top-level `schemas/`; a built wheel holds a copy.
    return (Path(streams.__file__).parent / "schemas").resolve()


@dataclass(frozen=True)
class NamedSchema:
    """One version of a named record schema."""

    name: str
    """Full name, e.g. `io.credlink.streams.ImageReference`."""
    definition: dict[str, Any]
    """The schema as written in its `.avsc` file."""
    parsed: dict[str, Any]
    """The schema as parsed by fastavro, ready for its readers and writers."""
    canonical_form: str
    """Parsing Canonical Form, per the Avro specification."""
    fingerprint: bytes
    """CRC-64-AVRO fingerprint of the canonical form: 8 bytes, little-endian, as on the wire."""

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> NamedSchema:
        """Parse a schema given as its JSON object; raises fastavro's `SchemaParseException`."""
        named: dict[str, Any] = {}
        parsed = parse_schema(definition, named_schemas=named)
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            raise SchemaParseException("an event schema must be a single named record")
        _reject_arrays_of_empty_items(parsed, named)
        canonical_form = to_parsing_canonical_form(definition)
        return cls(
            name=str(parsed["name"]),
            definition=definition,
            parsed=parsed,
            canonical_form=canonical_form,
            fingerprint=bytes.fromhex(fingerprint(canonical_form, "CRC-64-AVRO")),
        )

    @classmethod
    def from_file(cls, path: Path) -> NamedSchema:
        """Load an `.avsc` file; a file that is not a valid record schema is a `SetupError`."""
        try:
            return cls.from_definition(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, SchemaParseException) as exc:
            raise SetupError(
                f"{path} is not a valid Avro record schema ({exc}); fix the file"
            ) from exc

    def to_json(self) -> str:
        """The schema as a JSON string, as schema registries take it."""
        return json.dumps(self.definition)


def _reject_arrays_of_empty_items(schema: Any, named: dict[str, Any]) -> None:
    """Refuse arrays whose items can encode to zero bytes.

    An array's item count is a length prefix the reader trusts: with zero-byte items, a few
    hostile bytes claiming 2**62 items keep the reader looping and allocating without consuming
    input. With items of at least one byte, the count is bounded by the message size.
    """
    if isinstance(schema, list):
        for branch in schema:
            _reject_arrays_of_empty_items(branch, named)
    elif isinstance(schema, dict):
        kind = schema["type"]
        if kind in ("record", "error"):
            for record_field in schema["fields"]:
                _reject_arrays_of_empty_items(record_field["type"], named)
        elif kind == "array":
            if _may_encode_to_nothing(schema["items"], named, frozenset()):
                raise SchemaParseException("array items must not be able to encode to zero bytes")
            _reject_arrays_of_empty_items(schema["items"], named)
        elif kind == "map":
            _reject_arrays_of_empty_items(schema["values"], named)
        else:
            _reject_arrays_of_empty_items(kind, named)


def _may_encode_to_nothing(schema: Any, named: dict[str, Any], seen: frozenset[str]) -> bool:
    """Whether some value of `schema` has an empty Avro binary encoding."""
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            return _may_encode_to_nothing(named[schema], named, seen | {schema})
        return schema == "null"
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind in ("record", "error"):
            inside = seen | {schema["name"]}
            return all(_may_encode_to_nothing(f["type"], named, inside) for f in schema["fields"])
        if kind == "fixed":
            return bool(schema["size"] == 0)
        if kind in ("array", "map", "enum"):
            return False
        return _may_encode_to_nothing(kind, named, seen)
    # A union always writes its branch index.
    return False


class SchemaSet:
    """The current version of each event schema, and every version this process can read.

    Writers always use the current version. Readers resolve an event written with any known
    version (current or earlier) to the current version of the same name.
    """

    def __init__(self, current: Iterable[NamedSchema], history: Iterable[NamedSchema] = ()) -> None:
        self._current: dict[str, NamedSchema] = {}
        for schema in current:
            if schema.name in self._current:
                raise SetupError(f"two current schemas are named {schema.name}; keep one")
            self._current[schema.name] = schema
        self._by_fingerprint = {
            schema.fingerprint: schema for schema in (*history, *self._current.values())
        }

    @classmethod
    def load(cls, directory: Path | None = None) -> SchemaSet:
        """Load `*.avsc` from `directory` (default: `default_schema_dir()`) and its history."""
        root = directory if directory is not None else default_schema_dir()
        current = [NamedSchema.from_file(path) for path in sorted(root.glob("*.avsc"))]
        if not current:
            raise SetupError(f"no .avsc files in {root}; point the codecs at schemas/")
        history = [
            NamedSchema.from_file(path) for path in sorted((root / HISTORY_DIR).glob("*.avsc"))
        ]
        return cls(current, history)

    def __getitem__(self, name: str) -> NamedSchema:
        """The current version of the schema with full name `name`."""
        try:
            return self._current[name]
        except KeyError:
            raise KeyError(f"no schema named {name!r}; known: {sorted(self._current)}") from None

    def __iter__(self) -> Iterator[NamedSchema]:
        """The current version of each schema."""
        return iter(self._current.values())

    def writer(self, fingerprint: bytes) -> NamedSchema | None:
        """The known schema version with this fingerprint, if any."""
        return self._by_fingerprint.get(fingerprint)

    def with_history(self, *earlier: NamedSchema) -> SchemaSet:
        """A copy of this set that can also read events written with the `earlier` versions."""
        return SchemaSet(self._current.values(), (*self._by_fingerprint.values(), *earlier))
