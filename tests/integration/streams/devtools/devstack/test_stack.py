"""The local stack as a whole: nothing half-started is left behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from streams.core.errors import SetupError
from streams.devtools.devstack.stack import LocalStack
from tests.support.stacks import stack_settings

pytestmark = pytest.mark.integration


def test_failed_s3_start_stops_the_broker_this_call_started(tmp_path: Path) -> None:
    stack = LocalStack(stack_settings(tmp_path))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.s3.port))
        squatter.listen()
        with pytest.raises(SetupError, match="CREDLINK_DEV_S3_PORT"):
            stack.up()
    assert stack.kafka.running_pid() is None
    assert stack.s3.running_pid() is None
    assert {status.state for status in stack.status()} == {"stopped"}


def test_down_with_wipe_deletes_the_broker_data(local_stack: LocalStack, tmp_path: Path) -> None:
    stack = LocalStack(stack_settings(tmp_path))
    stack.kafka.data_dir.mkdir(parents=True)
    (stack.kafka.data_dir / "meta.properties").write_text("garbage")
    assert stack.down(wipe=True) == []
    assert not stack.kafka.data_dir.exists()
