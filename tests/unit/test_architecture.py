"""The layers import downward only: `lint-imports` (run by CI) keeps the tree as README draws it,
and fails on an import that points up or brings a Kafka client into the domain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the repository's contracts over the packages found in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the two packages, to break on purpose."""
    for package in ("streams", "connectors"):
        shutil.copytree(
            REPO / package,
            tmp_path / package,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return tmp_path


def add_import(module: Path, statement: str) -> None:
    module.write_text(module.read_text() + f"\n{statement}  # noqa: F401\n")


def test_the_repository_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_domain_module_importing_the_worker_app_breaks_the_layers(tree: Path) -> None:
    add_import(tree / "streams" / "core" / "imaging.py", "import streams.kafka.app")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "Layers import downward only BROKEN" in result.stdout
    assert "streams.core.imaging -> streams.kafka.app" in result.stdout


def test_a_domain_module_importing_a_kafka_client_breaks_the_domain_contract(tree: Path) -> None:
    add_import(tree / "streams" / "core" / "pipeline.py", "import confluent_kafka")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "The domain knows nothing of Kafka clients" in result.stdout
    assert "streams.core.pipeline -> confluent_kafka" in result.stdout


def test_a_connector_importing_the_command_line_breaks_the_layers(tree: Path) -> None:
    add_import(tree / "connectors" / "ingest.py", "import streams.cli.output")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "connectors.ingest -> streams.cli.output" in result.stdout
