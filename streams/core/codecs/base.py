"""The codec interface: one schema's records to bytes and back, whatever the wire format."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from streams.core.codecs.schemas import NamedSchema

__all__ = ["Codec", "Deserializer", "Serializer"]


class Serializer(abc.ABC):
    """Encodes records of one schema."""

    schema: NamedSchema

    @abc.abstractmethod
    def encode(self, record: Mapping[str, Any]) -> bytes:
        """The wire bytes of `record`, an Avro record dict of `schema`.

        A record that does not match the schema raises `ValueError` or `TypeError`: that is a
        bug in the producer, not bad input.
        """


class Deserializer(abc.ABC):
    """Decodes records of one schema, whichever known version they were written with."""

    schema: NamedSchema

    @abc.abstractmethod
    def decode(self, data: bytes) -> dict[str, Any]:
        """The Avro record dict in `data`, resolved to `schema`.

        Raises `DecodeFailed` when the bytes are not an event of this schema.
        """


class Codec(Serializer, Deserializer):
    """Both directions of one wire format, bound to one schema."""
