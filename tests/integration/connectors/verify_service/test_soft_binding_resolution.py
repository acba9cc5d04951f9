"""The manifest repository as an outside client meets it: an image proven and credentialed by
the running stack (broker, S3 endpoint, proving and credentials workers), indexed in a real
PostgreSQL, served by a real `credlink serve-verify`. The client knows only the service's
OpenAPI document: every path, parameter, media type and credential it sends is read from it.

A publisher serves the image with its manifest embedded; a CDN serves a metadata-stripped,
resized copy. The copy finds its manifest through `/matches/byContent`, and `credlink verify`
recovers it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.output_topics import read_credentials, read_proofs
from connectors.proof_index import ProofIndexService
from connectors.verify_service.api_keys import issue_api_key
from streams.core.certificates import write_development_certificates
from streams.core.codecs.records import CredentialIssued, ProofCreated
from streams.core.content_credentials import read_credential
from streams.core.signing import load_private_key
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import CREDLINK, credlink_env
from streams.devtools.samples import camera_jpeg, cdn_copy
from streams.kafka.topics import SUBMITTED
from tests.support.kafka_io import produce
from tests.support.pipeline_scenarios import new_scenario, running_worker
from tests.support.postgres_server import PostgresServer
from tests.support.stacks import free_port
from tests.support.verify_service import serving_verify

pytestmark = pytest.mark.integration

TENANT = "acme"
HARD_BINDING_MISMATCH = "assertion.dataHash.mismatch"


@dataclass
class Newsroom:
    """One photograph through the whole stack, and what the outside world sees of it."""

    proof: ProofCreated
    credential: CredentialIssued
    published: bytes
    """The image as the newsroom serves it: the manifest embedded."""
    cdn_copy: Path
    """What a CDN serves: resized, re-encoded, every metadata segment and the manifest gone."""
    trust_anchor: bytes
    env: dict[str, str]
    token: str
    client: httpx.Client


@pytest.fixture(scope="module")
def newsroom(
    local_stack: LocalStack, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Newsroom]:
    workdir = tmp_path_factory.mktemp("newsroom")
    scenario = new_scenario(local_stack, workdir)
    key = load_private_key(scenario.settings.signing.key_file or Path())
    certificates = write_development_certificates(key.public_key(), workdir)
    settings = scenario.settings.updated(
        c2pa={
            "enabled": True,
            "embed": True,
            "certificate_chain_file": certificates.certificate_chain,
            "trust_anchors_file": certificates.ca_certificate,
        },
        verify={"api_keys_file": workdir / "api-keys.json"},
    )
    photograph = scenario.image_root / "harbour.jpg"
    photograph.write_bytes(camera_jpeg(1024, 768, 31))
    reference = scenario.reference(0, TENANT, photograph.as_uri(), event_id="evt-harbour")
    with running_worker(settings, workdir, "prove"):
        produce(
            settings,
            settings.kafka.topic(SUBMITTED),
            [(b"evt-harbour", scenario.encode(reference))],
        )
        (proof,) = read_proofs(settings, count=1, timeout=120)
    credentials_worker = settings.updated(worker={"web_port": free_port()})
    with running_worker(credentials_worker, workdir, "credentials", options=("--credentials",)):
        (credential,) = read_credentials(settings, count=1, timeout=120)
    dsn = postgres.create_database()
    indexed = ProofIndexService(settings, dsn, f"{settings.kafka.app_id}-proof-index").run(
        stop_after=2, idle_timeout=60
    )
    assert indexed.written == 2
    assert credential.signed_image is not None
    published = (
        local_stack.s3.client()
        .get_object(Bucket=settings.s3.bucket, Key=credential.signed_image.key)["Body"]
        .read()
    )
    copy = workdir / "cdn-copy.jpg"
    copy.write_bytes(cdn_copy(published))
    token = issue_api_key(settings.verify.api_keys_file, TENANT).token
    env = {**credlink_env(settings), "CREDLINK_INDEX_DSN": dsn}
    with serving_verify(env, workdir / "serve-verify.log") as client:
        yield Newsroom(
            proof=proof,
            credential=credential,
            published=published,
            cdn_copy=copy,
            trust_anchor=certificates.ca_certificate.read_bytes(),
            env=env,
            token=token,
            client=client,
        )


class OpenApiClient:
    """Calls operations by their `operationId`, as the service's OpenAPI document describes
    them: path, method, parameters, request and response media types, and security."""

    def __init__(self, client: httpx.Client, token: str) -> None:
        self._client = client
        self._token = token
        response = client.get("/openapi.json")
        response.raise_for_status()
        self.document: dict[str, Any] = response.json()

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if operation.get("operationId") == operation_id:
                    return method.upper(), path, operation
        raise AssertionError(f"the document has no operation {operation_id}")

    def call(
        self,
        operation_id: str,
        *,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: bytes | None = None,
        body_type: str | None = None,
    ) -> httpx.Response:
        method, path, operation = self.operation(operation_id)
        declared = {parameter["name"]: parameter for parameter in operation.get("parameters", [])}
        for name, value in (path_parameters or {}).items():
            assert declared[name]["in"] == "path"
            path = path.replace(f"{{{name}}}", value)
        for name in query or {}:
            assert declared[name]["in"] == "query", name
        headers = self._credentials(operation)
        if body is not None:
            assert body_type is not None
            accepted = operation["requestBody"]["content"]
            assert any(_media_type_matches(body_type, declared) for declared in accepted)
            headers["Content-Type"] = body_type
        response = self._client.request(method, path, params=query, content=body, headers=headers)
        if response.status_code == 200:
            produced = operation["responses"]["200"]["content"]
            assert response.headers["Content-Type"].split(";")[0] in produced
        return response

    def _credentials(self, operation: dict[str, Any]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for requirement in operation.get("security", []):
            for name in requirement:
                scheme = self.document["components"]["securitySchemes"][name]
                assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
                headers["Authorization"] = f"Bearer {self._token}"
        return headers


def _media_type_matches(media_type: str, declared: str) -> bool:
    kind, _, subtype = declared.partition("/")
    return declared == media_type or (subtype == "*" and media_type.startswith(f"{kind}/"))


@pytest.fixture(scope="module")
def api(newsroom: Newsroom) -> OpenApiClient:
    return OpenApiClient(newsroom.client, newsroom.token)


def test_the_service_resolves_the_iscc_fingerprint_our_manifests_carry(
    api: OpenApiClient,
) -> None:
    response = api.call("getSupportedBindings")

    assert response.status_code == 200
    assert {"alg": "io.iscc.v0"} in response.json()["fingerprints"]


def test_a_stripped_resized_copy_finds_its_manifest_by_content(
    api: OpenApiClient, newsroom: Newsroom
) -> None:
    response = api.call(
        "uploadFile",
        query={"maxResults": "5"},
        body=newsroom.cdn_copy.read_bytes(),
        body_type="image/jpeg",
    )

    assert response.status_code == 200, response.text
    matches = response.json()["matches"]
    assert [match["manifestId"] for match in matches] == [newsroom.credential.manifest_id]
    assert 0 < matches[0]["similarityScore"] <= 100
    assert "endpoint" not in matches[0]


def test_the_manifest_found_is_fetched_and_read_by_the_c2pa_reader(
    api: OpenApiClient, newsroom: Newsroom
) -> None:
    manifest_id = newsroom.credential.manifest_id

    response = api.call("getManifestById", path_parameters={"manifestId": manifest_id})

    assert response.status_code == 200, response.text
    on_the_copy = read_credential(
        newsroom.cdn_copy.read_bytes(),
        manifest_store=response.content,
        trust_anchors_pem=newsroom.trust_anchor,
    )
    assert on_the_copy.manifest_id == manifest_id
    assert on_the_copy.link is not None
    assert (on_the_copy.link.proof_id, on_the_copy.link.tenant) == (
        newsroom.proof.proof_id,
        TENANT,
    )
    assert on_the_copy.validation_state == "Invalid"
    assert set(on_the_copy.failures) == {HARD_BINDING_MISMATCH}
    on_the_published_image = read_credential(
        newsroom.published,
        manifest_store=response.content,
        trust_anchors_pem=newsroom.trust_anchor,
    )
    assert on_the_published_image.validation_state == "Trusted"


def test_another_tenant_finds_nothing_and_fetches_nothing(newsroom: Newsroom) -> None:
    other = OpenApiClient(
        newsroom.client,
        issue_api_key(Path(newsroom.env["CREDLINK_VERIFY_API_KEYS_FILE"]), "globex").token,
    )

    found = other.call("uploadFile", body=newsroom.cdn_copy.read_bytes(), body_type="image/jpeg")
    fetched = other.call(
        "getManifestById", path_parameters={"manifestId": newsroom.credential.manifest_id}
    )

    assert found.json() == {"matches": []}
    assert fetched.status_code == 404


def credlink_verify(newsroom: Newsroom, image: Path) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [CREDLINK, "verify", str(image), "--tenant", TENANT, "--json"],
        env=newsroom.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout, result.stderr
    verdict: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, verdict


def test_credlink_verify_recovers_the_manifest_of_a_stripped_resized_copy(
    newsroom: Newsroom,
) -> None:
    code, verdict = credlink_verify(newsroom, newsroom.cdn_copy)

    assert code == 10, verdict
    assert verdict["proof_id"] == newsroom.proof.proof_id
    credentials = verdict["content_credentials"]
    assert credentials["recovered"] is True
    assert credentials["manifest_id"] == newsroom.credential.manifest_id
    assert credentials["proof_id"] == newsroom.proof.proof_id
    assert credentials["validation_state"] == "Invalid"
    assert set(credentials["failures"]) == {HARD_BINDING_MISMATCH}


def test_credlink_verify_reads_the_manifest_the_published_image_carries(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    published = tmp_path / "published.jpg"
    published.write_bytes(newsroom.published)

    code, verdict = credlink_verify(newsroom, published)

    assert code == 10, verdict  # the manifest changed the bytes, not the picture
    assert verdict["content_credentials"] == {
        "manifest_id": newsroom.credential.manifest_id,
        "validation_state": "Trusted",
        "failures": [],
        "recovered": False,
        "proof_id": newsroom.proof.proof_id,
    }


def test_the_verify_service_points_a_recovered_manifest_to_where_it_is_served(
    api: OpenApiClient, newsroom: Newsroom
) -> None:
    response = newsroom.client.post(
        "/v1/verify",
        content=newsroom.cdn_copy.read_bytes(),
        headers={"Authorization": f"Bearer {newsroom.token}", "Content-Type": "image/jpeg"},
    )

    assert response.status_code == 200, response.text
    credentials = response.json()["content_credentials"]
    assert credentials["recovered"] is True
    _, path, _ = api.operation("getManifestById")
    assert credentials["manifest_url"] == path.replace(
        "{manifestId}", newsroom.credential.manifest_id
    )
    assert (
        newsroom.client.get(
            credentials["manifest_url"], headers={"Authorization": f"Bearer {newsroom.token}"}
        ).headers["Content-Type"]
        == "application/c2pa"
    )
