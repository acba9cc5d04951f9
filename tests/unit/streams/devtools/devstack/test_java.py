"""Finding a Java runtime recent enough for Kafka 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.core.errors import SetupError
from streams.devtools.devstack.java import java_major_version, require_java


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("no version here", None),
    ],
)
def test_java_major_version_is_read_from_version_output(output: str, major: int | None) -> None:
    assert java_major_version(output) == major


def test_missing_java_names_the_problem_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SetupError, match=r"java not found.*install Java 17"):
        require_java()


def test_java_older_than_17_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SetupError, match=r"Java 11; Apache Kafka 4 needs Java 17"):
        require_java()


def test_java_17_or_newer_is_accepted() -> None:
    assert Path(require_java()).name == "java"
