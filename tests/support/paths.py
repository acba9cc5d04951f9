"""Where the repository's own files are, for tests that read documents, manifests or scripts."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The root of the repository (the directory of pyproject.toml)."""
DEPLOY_LOCAL_BIN = REPO / "deploy" / "local" / "bin"
"""The wrappers of Kafka's console tools."""
