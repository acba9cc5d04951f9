"""Specification of `streams.kafka.app`: what a worker's app owns is released when it stops, the
credentials workers form an app of their own, and a worker loads the libraries its settings
need and no others."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from streams.core.assembly import WorkerPools, build_worker_pools
from streams.core.certificates import write_development_certificates
from streams.core.errors import SetupError
from streams.core.signing import load_private_key_pem
from streams.kafka import app as app_module
from streams.kafka.app import create_app, create_credentials_app, credentials_app_id
from streams.settings import Settings
from tests.support.fresh_python import fresh_python_output

PEM = (
    Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)


@pytest.fixture
def built_pools(monkeypatch: pytest.MonkeyPatch) -> list[WorkerPools]:
    """The thread pools of every app created in the test, in order."""
    built: list[WorkerPools] = []

    def build(settings: Settings) -> WorkerPools:
        built.append(build_worker_pools(settings))
        return built[-1]

    monkeypatch.setattr(app_module, "build_worker_pools", build)
    return built


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A worker's settings with nothing from the shell: its app is stopped without starting, so
    no broker needs to be up."""
    for name in list(os.environ):
        if name.startswith("CREDLINK_"):
            monkeypatch.delenv(name)
    return Settings(_env_file=None).updated(
        signing={"key_pem": SecretStr(PEM)}, store={"root": tmp_path / "proofs"}
    )


def test_the_app_proves_on_its_thread_pools_until_it_stops(
    settings: Settings, built_pools: list[WorkerPools]
) -> None:
    app = create_app(settings)
    [pools] = built_pools

    assert pools.prove.submit(len, b"before").result() == len(b"before")
    assert pools.hashing.submit(len, b"before").result() == len(b"before")

    asyncio.run(app.stop())

    for pool in (pools.prove, pools.hashing):
        with pytest.raises(RuntimeError, match="shutdown"):
            pool.submit(len, b"after")


def test_a_credentials_worker_refuses_to_start_while_content_credentials_are_off(
    settings: Settings,
) -> None:
    with pytest.raises(SetupError, match="CREDLINK_C2PA_ENABLED"):
        create_credentials_app(settings)


def test_the_credentials_app_is_a_group_of_its_own_with_a_table_counting_credentials(
    settings: Settings, tmp_path: Path
) -> None:
    key = load_private_key_pem(PEM)
    certificates = write_development_certificates(key.public_key(), tmp_path)
    credentials = settings.updated(
        c2pa={"enabled": True, "certificate_chain_file": certificates.certificate_chain}
    )

    app = create_credentials_app(credentials)

    assert app.conf.id == f"{settings.kafka.app_id}-credentials" == credentials_app_id(settings)
    assert list(app.tables) == ["credentials-counted"]
    assert [agent.name for agent in app.agents.values()] == ["credentials"]
    asyncio.run(app.stop())


# What a worker on local files, without Content Credentials, Sentry or a schema registry, has no
# use for: the S3 client, the C2PA and ISCC libraries, the Sentry SDK, the registry's client.
OPTIONAL_LIBRARIES = ("boto3", "c2pa", "iscc_core", "sentry_sdk", "confluent_kafka.schema_registry")

# Builds an app in a fresh interpreter from the settings of no environment but `changes`, and
# prints which of OPTIONAL_LIBRARIES it loaded, or the error that stopped it.
BUILD = """
import json, os, sys
for name in [name for name in os.environ if name.startswith("CREDLINK_") or name == "SENTRY_DSN"]:
    del os.environ[name]
{before}
from streams.kafka import app
from streams.settings import Settings
settings = Settings(_env_file=None).updated(**json.loads({changes!r}))
try:
    getattr(app, {factory!r})(settings)
except Exception as error:
    print(type(error).__name__)
else:
    print(json.dumps([name for name in {libraries!r} if name in sys.modules]))
"""


def built_in_fresh_python(
    factory: str, changes: dict[str, dict[str, object]], before: str = ""
) -> str:
    """What BUILD prints: the optional libraries loaded building the app, or the error."""
    code = BUILD.format(
        before=before,
        changes=json.dumps({"signing": {"key_pem": PEM}, **changes}, default=str),
        factory=factory,
        libraries=OPTIONAL_LIBRARIES,
    )
    return fresh_python_output(code, timeout=120).strip()


def credential_changes(tmp_path: Path) -> dict[str, dict[str, object]]:
    certificates = write_development_certificates(load_private_key_pem(PEM).public_key(), tmp_path)
    return {"c2pa": {"enabled": True, "certificate_chain_file": certificates.certificate_chain}}


def test_a_proving_worker_on_local_files_loads_none_of_the_optional_libraries(
    tmp_path: Path,
) -> None:
    local_files = {"backend": "filesystem", "root": tmp_path / "proofs"}

    loaded = built_in_fresh_python("create_app", {"store": local_files, "c2pa": {"enabled": False}})

    assert json.loads(loaded) == []


@pytest.mark.parametrize(
    ("changes", "needed"),
    [
        ({"store": {"backend": "s3"}}, ["boto3"]),
        ({"fetch": {"allowed_buckets": "images"}}, ["boto3"]),
        ({"monitoring": {"sentry_dsn": "http://public@127.0.0.1:9/1"}}, ["sentry_sdk"]),
        (
            {"kafka": {"schema_registry_url": "mock://registry"}},
            ["confluent_kafka.schema_registry"],
        ),
    ],
    ids=["S3 proof store", "s3:// images", "Sentry DSN", "schema registry"],
)
def test_a_proving_worker_loads_the_library_its_settings_need(
    tmp_path: Path, changes: dict[str, dict[str, object]], needed: list[str]
) -> None:
    loaded = built_in_fresh_python(
        "create_app", {"store": {"root": tmp_path / "proofs"}, **changes}
    )

    assert json.loads(loaded) == needed


def test_a_credentials_worker_loads_the_c2pa_and_iscc_libraries(tmp_path: Path) -> None:
    loaded = built_in_fresh_python("create_credentials_app", credential_changes(tmp_path))

    assert json.loads(loaded) == ["c2pa", "iscc_core"]


def test_a_credentials_worker_without_the_c2pa_library_fails_as_it_is_built(
    tmp_path: Path,
) -> None:
    stopped = built_in_fresh_python(
        "create_credentials_app",
        credential_changes(tmp_path),
        before='sys.modules["c2pa"] = None  # as if it were not installed',
    )

    assert stopped == "ModuleNotFoundError"
