"""The verify service's routes and its OpenAPI description, kept in step (no network)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web

from connectors.proof_index import ProofIndex
from connectors.verify_service.api_keys import ApiKeys, issue_api_key
from connectors.verify_service.app import OPENAPI_PATH, VerifyService, create_app
from streams.core.image_verifier import Verifier
from streams.core.perceptual_index import PerceptualIndex
from streams.core.signing import KeySet

OPENAPI = json.loads(OPENAPI_PATH.read_text())


def no_proof(proof_id: str) -> bytes:
    raise AssertionError("no proof is read here")


@pytest.fixture
def application(tmp_path: Path) -> Iterator[web.Application]:
    keys_file = tmp_path / "api-keys.json"
    issue_api_key(keys_file, "acme")
    with ThreadPoolExecutor(1) as executor:
        yield create_app(
            VerifyService(
                verifier=Verifier(
                    exact=lambda tenant, sha256: None,
                    perceptual=PerceptualIndex(),
                    proofs=no_proof,
                    keyset=KeySet(),
                    max_image_bytes=1024,
                    max_image_pixels=1024,
                ),
                # Never connected: the routes are listed, not called.
                index=ProofIndex("host=127.0.0.1 port=1 dbname=unused user=unused"),
                proofs=no_proof,
                keyset=KeySet(),
                api_keys=ApiKeys(keys_file),
                executor=executor,
                max_request_bytes=4096,
            )
        )


def served_routes(application: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in application.router.routes():
        if route.method == "HEAD":  # aiohttp adds HEAD to every GET
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        assert isinstance(path, str)
        routes.add((route.method.lower(), path))
    return routes


def described_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, item in OPENAPI["paths"].items() for method in item}


def test_the_description_lists_every_route_the_service_serves(
    application: web.Application,
) -> None:
    assert served_routes(application) == described_routes()


def test_the_description_is_openapi_3_with_its_path_parameters_declared() -> None:
    assert OPENAPI["openapi"].startswith("3.")
    for path, item in OPENAPI["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), path
            assert operation["responses"], path


def test_only_health_keys_and_the_description_are_open_to_anyone() -> None:
    open_routes = {
        (method, path)
        for path, item in OPENAPI["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }

    assert open_routes == {
        ("get", "/healthz"),
        ("get", "/openapi.json"),
        ("get", "/v1/keys"),
    }
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            if (method, path) not in open_routes:
                assert "401" in operation["responses"], (method, path)
