"""`credlink demo` runs the whole flow on its own stack, ends with the verdicts on copies of its
images, and leaves nothing running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streams.devtools.devstack.stack import LocalStack
from tests.support.stacks import free_port, stack_settings

pytestmark = pytest.mark.integration

CREDLINK = str(Path(sys.executable).parent / "credlink")


def test_demo_proves_images_dead_letters_bad_ones_verifies_copies_and_stops(
    tmp_path: Path,
) -> None:
    settings = stack_settings(tmp_path)
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CREDLINK_")},
        "CREDLINK_DEV_HOME": str(tmp_path),
        "CREDLINK_DEV_KAFKA_PORT": str(settings.dev.kafka_port),
        "CREDLINK_DEV_CONTROLLER_PORT": str(settings.dev.controller_port),
        "CREDLINK_DEV_S3_PORT": str(settings.dev.s3_port),
        "CREDLINK_WORKER_WEB_PORT": str(free_port()),
        "COLUMNS": "400",  # wide enough that no cell wraps
    }
    result = subprocess.run(
        [CREDLINK, "demo", "--images", "6"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    verified = re.findall(r"│ valid\s+│$", result.stdout, re.M)
    assert len(verified) == 6, result.stdout
    assert result.stdout.count("UriNotAllowed") == 4  # two hostile URIs, two inline images
    verdicts = re.findall(
        r"│ (verified_exact|verified_perceptual|not_found|signature_invalid)\s+│ (\d+)\s+│",
        result.stdout,
    )
    assert verdicts == [
        ("verified_perceptual", "10"),
        ("verified_perceptual", "10"),
        ("not_found", "20"),
        ("signature_invalid", "30"),
    ], result.stdout
    assert len(re.findall(r"but at pHash distance \d+ and dHash distance \d+", result.stdout)) == 2
    # Content Credentials: one per image fetched from S3 or a file (4 of 6; inline bytes are not
    # kept to sign), Trusted under the demo CA; recovered for both CDN copies.
    assert (
        len(re.findall(r"│ urn:c2pa:[0-9a-f-]{36}\s+│ [\d,]+ B\s+│ Trusted\s+│", result.stdout))
        == 4
    )
    assert result.stdout.count("recovered") == 2, result.stdout
    assert len(re.findall(r"│ proofs\.created\s+│", result.stdout)) == 2, result.stdout
    assert "local stack stopped" in result.stdout
    assert "FAIL" not in result.stderr, result.stderr
    assert "GETPID" not in result.stderr, result.stderr
    stack = LocalStack(settings)
    assert {status.state for status in stack.status()} == {"stopped"}
