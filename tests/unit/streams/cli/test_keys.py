"""`credlink keys generate`: a private key only its owner can read, and a public key set."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from streams.cli.main import app


def test_generate_writes_a_0600_private_key_and_adds_its_public_key_to_the_set(
    tmp_path: Path,
) -> None:
    keyset = tmp_path / "keyset.json"
    runner = CliRunner()
    first = runner.invoke(
        app, ["keys", "generate", "--private-key", str(tmp_path / "a.pem"), "--keyset", str(keyset)]
    )
    second = runner.invoke(
        app, ["keys", "generate", "--private-key", str(tmp_path / "b.pem"), "--keyset", str(keyset)]
    )

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert stat.S_IMODE((tmp_path / "a.pem").stat().st_mode) == 0o600
    kids = [key["kid"] for key in json.loads(keyset.read_text())["keys"]]
    assert len(kids) == 2
    assert f"key id: {kids[0]}" in first.output or f"key id: {kids[1]}" in first.output
    assert "PRIVATE KEY" not in first.output


def test_generate_never_overwrites_an_existing_private_key(tmp_path: Path) -> None:
    existing = tmp_path / "signing-key.pem"
    existing.write_text("keep me")
    existing.chmod(0o600)
    result = CliRunner().invoke(
        app,
        ["keys", "generate", "--private-key", str(existing), "--keyset", str(tmp_path / "k.json")],
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert existing.read_text() == "keep me"
