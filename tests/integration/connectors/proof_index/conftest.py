"""The proof index of each proof-index test: its own database, the schema created."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.proof_index import ProofIndex


@pytest.fixture
def index(index_dsn: str) -> Iterator[ProofIndex]:
    with ProofIndex(index_dsn) as opened:
        opened.create_schema()
        yield opened
