"""API keys: only hashes stored, secrets compared in constant time, scoped to a tenant."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.verify_service.api_keys import ApiKeys, issue_api_key, secret_sha256
from streams.cli.main import app
from streams.core.errors import SetupError


def test_a_secret_is_stored_as_its_sha256_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "api-keys.json"

    issued = issue_api_key(path, "acme")

    stored = json.loads(path.read_text())
    assert stored == {
        issued.key_id: {
            "tenant": "acme",
            "sha256": hashlib.sha256(issued.secret.encode()).hexdigest(),
        }
    }
    assert issued.secret not in path.read_text()
    assert issued.token == f"{issued.key_id}.{issued.secret}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_are_added_to_the_file_never_replacing_others(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"

    first = issue_api_key(path, "acme")
    second = issue_api_key(path, "globex")

    keys = ApiKeys(path)
    assert len(keys) == 2
    assert keys.tenant_of(f"Bearer {first.token}") == "acme"
    assert keys.tenant_of(f"bearer  {second.token}") == "globex"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ck_0123456789abcdef",
        "Basic abc",
        "Bearer a.b.c d",
        # A byte that is not UTF-8, as aiohttp hands it over (surrogate-escaped).
        "Bearer ck_0123456789abcdef.secret\udcff",
        "Bearer ck_0123456789abcdef.s\u00e9cret",
        "Bearer ck_0123456789abcdef." + "a" * 257,
    ],
)
def test_a_malformed_authorization_header_names_no_tenant(
    tmp_path: Path, authorization: str | None
) -> None:
    path = tmp_path / "api-keys.json"
    issue_api_key(path, "acme")

    assert ApiKeys(path).tenant_of(authorization) is None


def test_secrets_are_compared_in_constant_time_known_key_id_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "api-keys.json"
    issued = issue_api_key(path, "acme")
    keys = ApiKeys(path)
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    assert keys.tenant_of(f"Bearer {issued.key_id}.wrong") is None
    assert keys.tenant_of("Bearer ck_ffffffffffffffff.wrong") is None
    assert keys.tenant_of(f"Bearer {issued.token}") == "acme"

    assert len(compared) == 3
    assert all(len(presented) == len(stored) == 64 for presented, stored in compared)
    assert compared[0] == (secret_sha256("wrong"), secret_sha256(issued.secret))


def test_a_key_added_to_the_file_is_seen_without_reloading(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    issue_api_key(path, "acme")
    keys = ApiKeys(path)

    later = issue_api_key(path, "globex")

    assert keys.tenant_of(f"Bearer {later.token}") == "globex"


def test_a_broken_edit_keeps_the_keys_read_before(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    issued = issue_api_key(path, "acme")
    keys = ApiKeys(path)

    path.write_text('{"half an edit": ')

    assert keys.tenant_of(f"Bearer {issued.token}") == "acme"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("[]", "not a JSON object"),
        ('{"key-1": {"tenant": "acme", "sha256": "00"}}', "not a key id"),
        ('{"ck_0123456789abcdef": {"tenant": "acme", "sha256": "00"}}', "64 lowercase hex"),
        ('{"ck_0123456789abcdef": {"sha256": "' + "0" * 64 + '"}}', "tenant"),
    ],
)
def test_an_unusable_keys_file_is_a_setup_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "api-keys.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(SetupError, match=message):
        ApiKeys(path)


def test_credlink_keys_api_key_prints_the_key_once_and_keeps_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"

    result = CliRunner().invoke(app, ["keys", "api-key", "--tenant", "acme", "--file", str(path)])

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert ApiKeys(path).tenant_of(f"Bearer {token}") == "acme"
    assert token.split(".", 1)[1] not in path.read_text()
    assert "only its hash is kept" in result.stderr


def test_an_api_key_needs_a_tenant_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["keys", "api-key", "--tenant", "", "--file", str(tmp_path / "k.json")]
    )

    assert result.exit_code == 1
    assert "--tenant" in result.output
