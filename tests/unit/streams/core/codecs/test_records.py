"""Specification of `streams.core.codecs.records`: typed events that match their schemas."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.core.clock import from_epoch_millis
from streams.core.codecs import (
    CredentialIssued,
    ImageReference,
    ProcessingFailed,
    ProofCreated,
    ProofLocation,
)
from streams.core.codecs.records import ProofWindow, epoch_millis
from streams.core.codecs.schemas import SchemaSet
from tests.support.codec_samples import IMAGE_REFERENCE, SAMPLES, Record

RECORD_TYPES: list[type[Record]] = [
    ImageReference,
    ProofCreated,
    ProcessingFailed,
    CredentialIssued,
]
PRIMITIVES: dict[str, type] = {
    "string": str,
    "bytes": bytes,
    "int": int,
    "long": int,
    "boolean": bool,
    "float": float,
    "double": float,
}


def python_type(avro_type: Any) -> Any:
    """The annotation a record field of `avro_type` must carry."""
    if isinstance(avro_type, str):
        # A name that is no primitive refers to a record defined earlier in the schema.
        return PRIMITIVES[avro_type] if avro_type in PRIMITIVES else nested_record(avro_type)
    if isinstance(avro_type, list):
        (branch,) = (branch for branch in avro_type if branch != "null")
        return python_type(branch) | None
    if avro_type["type"] == "map":
        return Mapping[str, python_type(avro_type["values"])]  # type: ignore[misc]
    if avro_type["type"] == "array":
        return tuple[python_type(avro_type["items"]), ...]  # type: ignore[misc]
    if avro_type["type"] == "record":
        return nested_record(avro_type["name"])
    return python_type(avro_type["type"])


def nested_record(name: str) -> type:
    records: dict[str, type] = {"ProofLocation": ProofLocation, "ProofWindow": ProofWindow}
    return records[name]


def nested_records(avro_type: Any) -> list[dict[str, Any]]:
    """The record types a field's type defines: itself, or inside a union or an array."""
    if isinstance(avro_type, list):
        return [nested for branch in avro_type for nested in nested_records(branch)]
    if not isinstance(avro_type, dict):
        return []
    if avro_type["type"] == "array":
        return nested_records(avro_type["items"])
    return [avro_type] if avro_type["type"] == "record" else []


def record_pairs() -> list[tuple[type, dict[str, Any]]]:
    """Each record class with its schema definition, nested records included."""
    schemas = SchemaSet.load()
    pairs: list[tuple[type, dict[str, Any]]] = []
    for record_type in RECORD_TYPES:
        definition = schemas[record_type.SCHEMA].definition
        pairs.append((record_type, definition))
        pairs.extend(
            (nested_record(nested["name"]), nested)
            for field in definition["fields"]
            for nested in nested_records(field["type"])
        )
    return pairs


@pytest.mark.parametrize(("record_type", "definition"), record_pairs())
def test_record_fields_are_the_schema_fields_in_schema_order(
    record_type: type, definition: dict[str, Any]
) -> None:
    field_names = [field.name for field in dataclasses.fields(record_type)]
    assert field_names == [field["name"] for field in definition["fields"]]


@pytest.mark.parametrize(("record_type", "definition"), record_pairs())
def test_record_field_types_follow_the_schema_types(
    record_type: type, definition: dict[str, Any]
) -> None:
    hints = typing.get_type_hints(record_type)
    for field in definition["fields"]:
        assert hints[field["name"]] == python_type(field["type"]), field["name"]


@pytest.mark.parametrize(("record_type", "definition"), record_pairs())
def test_record_defaults_are_the_schema_defaults(
    record_type: type, definition: dict[str, Any]
) -> None:
    record_fields = dataclasses.fields(record_type)
    for field, avro_field in zip(record_fields, definition["fields"], strict=True):
        if field.default is not dataclasses.MISSING:
            default: Any = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            assert "default" not in avro_field, field.name
            continue
        assert avro_field.get("default", dataclasses.MISSING) == default, field.name


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_schema_name_names_a_current_schema(record_type: type[Record]) -> None:
    assert SchemaSet.load()[record_type.SCHEMA].name == record_type.SCHEMA


@pytest.mark.parametrize("record", SAMPLES, ids=lambda record: type(record).__name__)
def test_record_survives_a_trip_through_its_avro_dict(record: Record) -> None:
    assert type(record).from_avro(record.to_avro()) == record


def test_decoded_timestamps_become_exact_epoch_millis() -> None:
    decoded = IMAGE_REFERENCE.to_avro() | {
        "submitted_at": datetime(2024, 11, 28, 0, 0, 0, 123_000, tzinfo=UTC)
    }

    assert ImageReference.from_avro(decoded).submitted_at == 1_732_752_000_123


@pytest.mark.parametrize("millis", [0, 1, -1, 1_732_752_000_123, -62_135_596_800_000])
def test_epoch_millis_is_exact_on_both_sides_of_the_epoch(millis: int) -> None:
    moment = from_epoch_millis(millis)

    assert epoch_millis(moment) == millis
    assert epoch_millis(millis) == millis


def test_records_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        IMAGE_REFERENCE.tenant = "other"  # type: ignore[misc]


def test_avro_dict_of_an_event_is_a_copy_not_a_view() -> None:
    avro = IMAGE_REFERENCE.to_avro()
    avro["attributes"]["source"] = "changed"

    assert IMAGE_REFERENCE.attributes["source"] == "mobile"
