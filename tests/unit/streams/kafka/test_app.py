"""Specification of `streams.kafka.app`: what a worker's app owns is released when it stops, and
the credentials workers form an app of their own."""

from __future__ import annotations

import asyncio
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
