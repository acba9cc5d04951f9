"""Finding a Java runtime recent enough for Apache Kafka 4."""

from __future__ import annotations

import re
import shutil
import subprocess

from streams.core.errors import SetupError

__all__ = ["MIN_JAVA", "java_major_version", "require_java"]

MIN_JAVA = 17
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major_version(version_output: str) -> int | None:
    """The major version in `java -version` output (`"1.8.0_292"` is 8, `"17.0.15"` is 17)."""
    match = _VERSION.search(version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def require_java() -> str:
    """The path of a `java` of version 17 or newer, or a SetupError saying how to get one."""
    java = shutil.which("java")
    if java is None:
        raise SetupError(
            "java not found on PATH: install Java 17 or newer "
            "(e.g. apt-get install openjdk-17-jre-headless)"
        )
    result = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=30, check=False
    )
    major = java_major_version(result.stderr + result.stdout)
    if major is None:
        raise SetupError(f"could not tell the version of {java}: install Java 17 or newer")
    if major < MIN_JAVA:
        raise SetupError(
            f"{java} is Java {major}; Apache Kafka 4 needs Java {MIN_JAVA} or newer: "
            "install it and put it first on PATH"
        )
    return java
