"""Session fixtures: one real Kafka broker and one S3 endpoint on free loopback ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streams.devstack.stack import LocalStack
from streams.settings import Settings
from tests.stacks import stack_settings


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
    return local_stack.client_settings().model_copy(
        update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}.", "topic_partitions": 3}
    )
