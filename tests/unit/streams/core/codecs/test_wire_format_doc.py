"""The decoding example in `docs/wire-format.md` works as documented."""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from streams.core.codecs import SchemaSet, SingleObjectCodec
from streams.core.codecs.schemas import default_schema_dir
from tests.support.codec_samples import SAMPLES, Record

DOC = default_schema_dir().parent / "docs" / "wire-format.md"


def documented_example(tmp_path: Path) -> dict[str, object]:
    """The globals of the first Python block of the document, run as a script."""
    block = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    return runpy.run_path(str(script))


@pytest.mark.parametrize("record", SAMPLES, ids=lambda record: type(record).__name__)
def test_consumer_with_only_avsc_files_decodes_single_object_events(
    tmp_path: Path, record: Record
) -> None:
    example = documented_example(tmp_path)
    codec = SingleObjectCodec(SchemaSet.load(), record.SCHEMA)
    event = codec.encode(record.to_avro())

    load_writer_schemas = cast(Callable[[Path], object], example["load_writer_schemas"])
    decode_event = cast(Callable[[bytes, object], object], example["decode_event"])
    decoded = decode_event(event, load_writer_schemas(default_schema_dir()))

    assert decoded == codec.decode(event)
    assert type(record).from_avro(cast(dict[str, Any], decoded)) == record
