"""The one settings object: `CREDLINK_*` variables, `.env`, and README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.settings import Settings
from tests.support.paths import REPO

README = REPO / "README.md"


def test_environment_variables_with_the_credlink_prefix_configure_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDLINK_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("CREDLINK_TOPIC_PREFIX", "prod.")
    settings = Settings(_env_file=None)
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.topic("images.submitted") == "prod.images.submitted"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CREDLINK_S3_BUCKET=proofs-from-dotenv\n")
    assert Settings(_env_file=env_file).s3_bucket == "proofs-from-dotenv"


def test_invalid_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINK_TOPIC_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="topic_partitions"):
        Settings(_env_file=None)


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINK_S3_SECRET_ACCESS_KEY", "s3cr3t-value-123")
    settings = Settings(_env_file=None)
    assert "s3cr3t-value-123" not in repr(settings)
    assert "s3cr3t-value-123" not in str(settings.model_dump())


def test_readme_configuration_table_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `(CREDLINK_[A-Z0-9_]+)` \|", README.read_text(), re.M))
    fields = {f"CREDLINK_{name.upper()}" for name in Settings.model_fields}
    assert documented == fields
