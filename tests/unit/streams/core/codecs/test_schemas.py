"""Specification of `streams.core.codecs.schemas`: the `.avsc` files and their fingerprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import SchemaParseException

from streams.core.codecs.schemas import NamedSchema, SchemaSet, default_schema_dir
from streams.core.errors import SetupError
from tests.support.codec_samples import image_reference_v2, write_schema_dir

EXPECTED = {
    "image_reference.avsc": "io.credlink.streams.ImageReference",
    "proof_created.avsc": "io.credlink.streams.ProofCreated",
    "processing_failed.avsc": "io.credlink.streams.ProcessingFailed",
    "credential_issued.avsc": "io.credlink.streams.CredentialIssued",
}


def crc64_avro(data: bytes) -> int:
    """The 64-bit Rabin fingerprint exactly as the Avro specification's reference code has it."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def fields_of(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every field of a record schema, nested records' fields included."""
    found = []
    for field in schema["fields"]:
        found.append(field)
        if isinstance(field["type"], dict) and field["type"]["type"] == "record":
            found.extend(fields_of(field["type"]))
    return found


def test_the_schema_directory_holds_the_four_event_schemas() -> None:
    assert sorted(path.name for path in default_schema_dir().glob("*.avsc")) == sorted(EXPECTED)
    assert {schema.name for schema in SchemaSet.load()} == set(EXPECTED.values())


@pytest.mark.parametrize(("file_name", "full_name"), EXPECTED.items())
def test_each_schema_is_a_documented_record_in_the_project_namespace(
    file_name: str, full_name: str
) -> None:
    definition = json.loads((default_schema_dir() / file_name).read_text())

    assert definition["namespace"] == "io.credlink.streams"
    assert f"{definition['namespace']}.{definition['name']}" == full_name
    assert definition["doc"]
    undocumented = [field["name"] for field in fields_of(definition) if not field.get("doc")]
    assert undocumented == []


def test_reference_crc64_matches_the_avro_specification_test_vectors() -> None:
    # From the Avro project's share/test/data/schema-tests.txt, as signed Java longs.
    vectors = {'"null"': 7195948357588979594, '"int"': 8247732601305521295}
    for canonical_form, java_long in vectors.items():
        assert crc64_avro(canonical_form.encode()) == java_long % 2**64


def test_fingerprint_is_crc64_avro_of_the_canonical_form_in_little_endian() -> None:
    for schema in SchemaSet.load():
        expected = crc64_avro(schema.canonical_form.encode()).to_bytes(8, "little")
        assert schema.fingerprint == expected


def test_canonical_form_keeps_full_names_and_drops_docs_and_defaults() -> None:
    schema = SchemaSet.load()["io.credlink.streams.ProofCreated"]

    assert schema.canonical_form.startswith(
        '{"name":"io.credlink.streams.ProofCreated","type":"record","fields":[{"name":"proof_id"'
    )
    assert '"name":"io.credlink.streams.ProofLocation"' in schema.canonical_form
    assert '"doc"' not in schema.canonical_form
    assert '"default"' not in schema.canonical_form
    assert " " not in schema.canonical_form


def test_unknown_schema_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"io\.credlink\.streams\.ImageReference"):
        SchemaSet.load()["ImageReference"]


def test_earlier_versions_under_history_are_known_writers(tmp_path: Path) -> None:
    v1 = SchemaSet.load()["io.credlink.streams.ImageReference"]
    v2 = image_reference_v2()

    schemas = SchemaSet.load(write_schema_dir(tmp_path, current=[v2], history=[v1]))

    assert schemas["io.credlink.streams.ImageReference"] == v2
    assert schemas.writer(v1.fingerprint) == v1
    assert schemas.writer(v2.fingerprint) == v2
    assert v1.fingerprint != v2.fingerprint


def test_with_history_adds_readable_versions_without_changing_the_current_ones() -> None:
    current = SchemaSet.load()
    v2 = image_reference_v2()

    extended = current.with_history(v2)

    assert extended.writer(v2.fingerprint) == v2
    assert current.writer(v2.fingerprint) is None
    assert list(extended) == list(current)


def test_a_directory_without_schemas_is_a_setup_error(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match=r"no \.avsc files"):
        SchemaSet.load(tmp_path)


def test_an_invalid_schema_file_is_a_setup_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.avsc").write_text('{"type": "record", "name": "Broken", "fields": [')

    with pytest.raises(SetupError, match=r"broken\.avsc"):
        SchemaSet.load(tmp_path)


def test_two_current_versions_of_one_schema_are_a_setup_error(tmp_path: Path) -> None:
    v2 = image_reference_v2()
    write_schema_dir(tmp_path, current=[v2], history=[])
    (tmp_path / "copy.avsc").write_text(SchemaSet.load()[v2.name].to_json())

    with pytest.raises(SetupError, match="two current schemas"):
        SchemaSet.load(tmp_path)


def test_an_event_schema_must_be_a_record() -> None:
    with pytest.raises(SchemaParseException, match="single named record"):
        NamedSchema.from_definition({"type": "map", "values": "string"})


@pytest.mark.parametrize(
    "items",
    [
        "null",
        {"type": "record", "name": "Nothing", "fields": []},
        {"type": "record", "name": "Nulls", "fields": [{"name": "n", "type": "null"}]},
        {"type": "fixed", "name": "Empty", "size": 0},
    ],
)
def test_arrays_whose_items_can_be_zero_bytes_are_refused(items: Any) -> None:
    # A hostile item count with zero-byte items would loop without consuming input.
    definition = {
        "type": "record",
        "name": "Hostile",
        "fields": [{"name": "many", "type": {"type": "array", "items": items}}],
    }
    with pytest.raises(SchemaParseException, match="zero bytes"):
        NamedSchema.from_definition(definition)


@pytest.mark.parametrize(
    "items",
    ["string", "boolean", ["null", "int"], {"type": "array", "items": "int"}],
)
def test_arrays_whose_items_take_at_least_a_byte_are_accepted(items: Any) -> None:
    definition = {
        "type": "record",
        "name": "Fine",
        "fields": [{"name": "many", "type": {"type": "array", "items": items}}],
    }
    assert NamedSchema.from_definition(definition).name == "Fine"
