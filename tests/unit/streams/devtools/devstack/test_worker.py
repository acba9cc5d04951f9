"""The environment of `credlink` processes started by the dev tooling: their settings alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.devtools.devstack.worker import credlink_env, settings_env
from streams.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CREDLINK_") or name == "SENTRY_DSN":
            monkeypatch.delenv(name)


def test_settings_env_is_the_variables_that_reproduce_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(_env_file=None).updated(
        kafka={
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_username": "alice",
            "sasl_password": SecretStr("pa55"),
            "topic_prefix": "test.",
        },
        s3={"object_lock_days": 30},
        fetch={"allowed_buckets": frozenset({"a", "b"}), "file_roots": (Path("/srv/images"),)},
        monitoring={"sentry_dsn": SecretStr("https://key@sentry.test/1")},
        dev={"home": Path("/tmp/stack")},
    )
    env = settings_env(settings)
    assert env["CREDLINK_SENTRY_DSN"] == "https://key@sentry.test/1"
    assert env["CREDLINK_FETCH_ALLOWED_BUCKETS"] == "a,b"
    assert "CREDLINK_SCHEMA_REGISTRY_URL" not in env

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None) == settings


def test_credlink_env_drops_what_the_calling_shell_would_configure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDLINK_TOPIC_PREFIX", "from-the-shell.")
    monkeypatch.setenv("SENTRY_DSN", "https://key@shell.test/1")
    env = credlink_env(Settings(_env_file=None).updated(kafka={"topic_prefix": "own."}))
    assert env["CREDLINK_TOPIC_PREFIX"] == "own."
    assert "SENTRY_DSN" not in env
    assert env["PATH"] == os.environ["PATH"]
