"""Fixtures of the connector tests: a real PostgreSQL server, a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres_server import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, stopped by PID at the end."""
    with postgres_server(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def index_dsn(postgres: PostgresServer) -> str:
    """The conninfo of an empty database of the test's own."""
    return postgres.create_database()
