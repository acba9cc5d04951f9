"""README's "verify your own photo" block, run as written: `credlink dev up`, the shell
environment from `credlink dev env`, ingesting a directory of pictures, and verifying a resized
copy of one of them, which exits 10 once its proof is indexed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.devtools.samples import cdn_copy, encode, photo
from tests.support.paths import REPO
from tests.support.searchable_dirs import searchable_temporary_directory
from tests.support.stacks import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

VERIFIED_BY_SIMILARITY = 10


def readme_block(after: str) -> list[str]:
    """The command lines of the first `sh` block after the line containing `after`."""
    text = (REPO / "README.md").read_text()
    start = text.index(after)
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block is not None, f"no sh block after {after!r} in README.md"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture
def home() -> Iterator[Path]:
    with searchable_temporary_directory("credlink-quick-start-") as path:
        yield path


def test_the_verify_your_own_photo_block_works_as_written(home: Path) -> None:
    lines = readme_block("Then verify your own photo")
    assert [line.split()[:2] for line in lines] == [
        ["credlink", "dev"],
        ["eval", '"$(credlink'],
        ["credlink", "ingest"],
        ["credlink", "verify"],
    ]
    pictures = home / "Pictures"
    pictures.mkdir()
    original = encode(photo(1200, 800, seed=7), "JPEG", quality=92)
    (pictures / "holiday.jpg").write_bytes(original)
    (home / "resized.jpg").write_bytes(cdn_copy(original))
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CREDLINK_")},
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CREDLINK_DEV_KAFKA_PORT": str(free_port()),
        "CREDLINK_DEV_CONTROLLER_PORT": str(free_port()),
        "CREDLINK_DEV_S3_PORT": str(free_port()),
        "CREDLINK_DEV_POSTGRES_PORT": str(free_port()),
    }

    def shell(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=home,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    try:
        setup = shell("\n".join(lines[:3]))
        assert setup.returncode == 0, setup.stdout + setup.stderr
        deadline = time.monotonic() + 60
        while True:
            verdict = shell(f"{lines[1]}\n{lines[3]}")
            if verdict.returncode == VERIFIED_BY_SIMILARITY or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        down = shell("credlink dev down")

    assert verdict.returncode == VERIFIED_BY_SIMILARITY, verdict.stdout + verdict.stderr
    assert re.search(r"pHash distance \d+ and dHash distance \d+", verdict.stdout)
    assert "sent 1, failed 0" in setup.stdout
    assert down.returncode == 0, down.stderr
    assert "stopped: worker, indexer, postgres, kafka, s3" in down.stdout
