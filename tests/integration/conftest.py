"""Session fixtures of the integration tests: one real Kafka broker, one S3 endpoint and one
PostgreSQL server on free loopback ports, each stopped by PID at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streams.devtools.devstack.stack import LocalStack
from streams.settings import Settings
from tests.support.postgres_server import PostgresServer, postgres_server
from tests.support.stacks import stack_settings


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The broker and S3 endpoint shared by the integration tests, stopped at the end."""
    stack = LocalStack(stack_settings(tmp_path_factory.mktemp("stack")))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture
def settings(local_stack: LocalStack) -> Settings:
    """Client settings for the shared stack, with a topic prefix of the test's own."""
    return local_stack.client_settings().updated(
        kafka={"topic_prefix": f"t{uuid.uuid4().hex[:10]}.", "topic_partitions": 3}
    )


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, stopped by PID at the end."""
    with postgres_server(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def index_dsn(postgres: PostgresServer) -> str:
    """The conninfo of an empty database of the test's own."""
    return postgres.create_database()
