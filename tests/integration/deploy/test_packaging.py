"""The package as built and installed: a wheel carries the Avro schemas and the OpenAPI
document, and an installed wheel finds them without the source tree.

The top-level `schemas/` stays the one copy of the schemas; `streams/schemas` links to it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from connectors.verify_service.app import OPENAPI_PATH
from streams.core.codecs.schemas import SchemaSet
from tests.support.paths import REPO

ROOT = REPO


SCHEMAS = ROOT / "schemas"


SOURCES = ("pyproject.toml", "README.md", "schemas", "streams", "connectors")


LOOKUP = """
import json, streams
from connectors.verify_service.app import OPENAPI_PATH
from streams.core.codecs.schemas import SchemaSet, default_schema_dir
print(json.dumps({
    "package": streams.__file__,
    "schemas": str(default_schema_dir()),
    "names": sorted(schema.name for schema in SchemaSet.load()),
    "openapi": str(OPENAPI_PATH),
    "openapi_paths": sorted(json.loads(OPENAPI_PATH.read_text())["paths"]),
}))
"""


def schema_files() -> list[Path]:
    return sorted(SCHEMAS.rglob("*.avsc"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the sources, leaving no build directory in the repository."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(
                origin, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.mark.integration
def test_the_wheel_carries_every_schema_and_the_openapi_document(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in schema_files():
            packaged = f"streams/schemas/{path.relative_to(SCHEMAS).as_posix()}"
            assert packaged in names
            assert archive.read(packaged) == path.read_bytes()
        packaged_openapi = "connectors/verify_service/openapi.json"
        assert archive.read(packaged_openapi) == OPENAPI_PATH.read_bytes()
    top_level = {name.split("/", 1)[0] for name in names if "dist-info" not in name}
    assert top_level == {"streams", "connectors"}


@pytest.mark.integration
def test_an_installed_wheel_finds_its_schemas_and_openapi_document(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    # The installed copy first, then this environment's site-packages for the dependencies.
    env["PYTHONPATH"] = str(target)
    found = json.loads(
        subprocess.run(
            [sys.executable, "-c", LOOKUP],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )
    assert Path(found["package"]).is_relative_to(target)
    assert Path(found["schemas"]).is_relative_to(target)
    assert found["names"] == sorted(schema.name for schema in SchemaSet.load())
    assert Path(found["openapi"]).is_relative_to(target)
    assert found["openapi_paths"] == sorted(json.loads(OPENAPI_PATH.read_text())["paths"])
