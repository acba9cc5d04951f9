"""The one settings object: its groups, `CREDLINK_*` variables, `.env`, and README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from streams.settings import Settings
from tests.support.paths import REPO

README = REPO / "README.md"


def test_environment_variables_with_the_credlink_prefix_configure_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDLINK_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("CREDLINK_TOPIC_PREFIX", "prod.")
    settings = Settings(_env_file=None)
    assert settings.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.kafka.topic("images.submitted") == "prod.images.submitted"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CREDLINK_S3_BUCKET=proofs-from-dotenv\n")
    assert Settings(_env_file=env_file).s3.bucket == "proofs-from-dotenv"


def test_the_environment_wins_over_the_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CREDLINK_S3_BUCKET=from-dotenv\nCREDLINK_S3_REGION=eu-west-1\n")
    monkeypatch.setenv("CREDLINK_S3_BUCKET", "from-environment")
    settings = Settings(_env_file=env_file)
    assert (settings.s3.bucket, settings.s3.region) == ("from-environment", "eu-west-1")


def test_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("credlink_app_id", "lower-case")
    assert Settings(_env_file=None).kafka.app_id == "lower-case"


def test_settings_outside_the_kafka_prefix_belong_to_their_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDLINK_MAX_IMAGE_BYTES", "1000")
    monkeypatch.setenv("CREDLINK_PROOF_STORE", "s3")
    monkeypatch.setenv("CREDLINK_KAFKA_CACHE_DIR", "/var/cache/kafka")
    settings = Settings(_env_file=None)
    assert settings.fetch.max_image_bytes == 1000
    assert settings.store.backend == "s3"
    assert settings.dev.kafka_cache_dir == Path("/var/cache/kafka")


def test_comma_separated_variables_are_sets_and_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINK_FETCH_ALLOWED_BUCKETS", "ingest, uploads,")
    monkeypatch.setenv("CREDLINK_FETCH_FILE_ROOTS", "/srv/images,/mnt/images")
    monkeypatch.setenv("CREDLINK_METRICS_TENANTS", "acme")
    settings = Settings(_env_file=None)
    assert settings.fetch.allowed_buckets == frozenset({"ingest", "uploads"})
    assert settings.fetch.file_roots == (Path("/srv/images"), Path("/mnt/images"))
    assert settings.monitoring.metrics_tenants == frozenset({"acme"})


def test_sentry_dsn_is_read_from_either_name_sentry_dsn_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    monkeypatch.setenv("CREDLINK_SENTRY_DSN", "https://key@credlink.test/1")
    dsn = Settings(_env_file=None).monitoring.sentry_dsn
    assert dsn == SecretStr("https://key@credlink.test/1")
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.test/2")
    assert Settings(_env_file=None).monitoring.sentry_dsn == SecretStr("https://key@sentry.test/2")


def test_s3_object_lock_is_off_unless_days_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).s3.object_lock_days is None
    monkeypatch.setenv("CREDLINK_S3_OBJECT_LOCK_DAYS", "3650")
    assert Settings(_env_file=None).s3.object_lock_days == 3650
    monkeypatch.setenv("CREDLINK_S3_OBJECT_LOCK_DAYS", "0")
    with pytest.raises(ValidationError, match="object_lock_days"):
        Settings(_env_file=None)


def test_content_credentials_are_off_until_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None).c2pa
    assert (defaults.enabled, defaults.embed, defaults.certificate_chain_file) == (
        False,
        False,
        None,
    )
    monkeypatch.setenv("CREDLINK_C2PA_ENABLED", "true")
    monkeypatch.setenv("CREDLINK_C2PA_EMBED", "1")
    monkeypatch.setenv("CREDLINK_C2PA_CERTIFICATE_CHAIN_FILE", "/etc/credlink/chain.pem")
    monkeypatch.setenv("CREDLINK_C2PA_TRUST_ANCHORS_FILE", "/etc/credlink/anchors.pem")
    c2pa = Settings(_env_file=None).c2pa
    assert (c2pa.enabled, c2pa.embed) == (True, True)
    assert c2pa.certificate_chain_file == Path("/etc/credlink/chain.pem")
    assert c2pa.trust_anchors_file == Path("/etc/credlink/anchors.pem")


def test_the_verify_service_admits_twice_its_threads_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDLINK_VERIFY_CONCURRENCY", "3")
    assert Settings(_env_file=None).verify.admitted_requests == 6
    monkeypatch.setenv("CREDLINK_VERIFY_MAX_IN_FLIGHT", "20")
    assert Settings(_env_file=None).verify.admitted_requests == 20
    monkeypatch.setenv("CREDLINK_VERIFY_MAX_IN_FLIGHT", "0")
    with pytest.raises(ValidationError, match="max_in_flight"):
        Settings(_env_file=None)


def test_an_updated_copy_changes_only_the_named_fields() -> None:
    settings = Settings(_env_file=None)
    updated = settings.updated(kafka={"topic_prefix": "test.", "topic_partitions": 3})
    assert (updated.kafka.topic_prefix, updated.kafka.topic_partitions) == ("test.", 3)
    assert updated.kafka.bootstrap_servers == settings.kafka.bootstrap_servers
    assert updated.s3 == settings.s3
    assert settings.kafka.topic_prefix == ""


def test_an_updated_copy_is_validated_like_the_environment() -> None:
    settings = Settings(_env_file=None)
    with pytest.raises(ValidationError, match="topic_partitons"):
        settings.updated(kafka={"topic_partitons": 3})
    with pytest.raises(ValidationError, match="needs CREDLINK_KAFKA_SASL_USERNAME"):
        settings.updated(kafka={"security_protocol": "SASL_SSL"})


def test_invalid_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINK_TOPIC_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="topic_partitions"):
        Settings(_env_file=None)


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDLINK_S3_SECRET_ACCESS_KEY", "s3cr3t-value-123")
    monkeypatch.setenv("CREDLINK_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("CREDLINK_KAFKA_SASL_USERNAME", "alice")
    monkeypatch.setenv("CREDLINK_KAFKA_SASL_PASSWORD", "s3cr3t-value-123")
    settings = Settings(_env_file=None)
    assert "s3cr3t-value-123" not in repr(settings)
    assert "s3cr3t-value-123" not in str(settings.model_dump())


def test_readme_configuration_table_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `(CREDLINK_[A-Z0-9_]+)` \|", README.read_text(), re.M))
    variables = [variable.name for variable in Settings.variables()]
    assert len(variables) == len(set(variables))
    assert documented == set(variables)
