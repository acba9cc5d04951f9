"""The verify service's routes and its OpenAPI description, kept in step, and the C2PA Soft
Binding Resolution API's answers over an index and a store in memory (loopback HTTP only)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.proof_index import IndexedCredential, ManifestRepository, ProofIndex
from connectors.verify_service.admission import Admission
from connectors.verify_service.api_keys import ApiKeys, issue_api_key
from connectors.verify_service.app import (
    OPENAPI_PATH,
    RETRY_AFTER_SECONDS,
    VerifyService,
    create_app,
    manifest_path,
)
from streams.core.content_credentials import manifest_id_for
from streams.core.image_fingerprint import ISCC_ALGORITHM
from streams.core.image_verifier import StoredProofs, Verifier
from streams.core.imaging import inspect_image
from streams.core.perceptual_index import IndexEntry, PerceptualIndex
from streams.core.signing import KeySet, Signer
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.window_index import WindowIndex
from streams.devtools.benchmarking.cdn_copies import CopyFamily
from streams.devtools.benchmarking.cdn_copies import cdn_copy as cdn_variant
from streams.devtools.samples import camera_jpeg, cdn_copy
from tests.support.images import encode, textured
from tests.support.proving import prove_image

OPENAPI = json.loads(OPENAPI_PATH.read_text())
Client = TestClient[web.Request, web.Application]
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4_000_000
SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def pid(number: int) -> str:
    """A proof id."""
    return f"{number:032x}"


def no_proof(proof_id: str) -> bytes:
    raise AssertionError("no proof is read here")


class CredentialsInMemory(ProofIndex):
    """The credential lookups of the proof index over a list; it never connects."""

    def __init__(self) -> None:
        super().__init__("host=127.0.0.1 port=1 dbname=unused user=unused")
        self.credentials: list[tuple[IndexedCredential, bytes | None]] = []

    def credential(self, manifest_id: str) -> IndexedCredential | None:
        found = [c for c, _ in self.credentials if c.manifest_id == manifest_id]
        return found[0] if found else None

    def credential_of_proof(self, proof_id: str) -> IndexedCredential | None:
        found = [c for c, _ in self.credentials if c.proof_id == proof_id]
        return found[0] if found else None

    def credentials_of_proofs(
        self, tenant: str, proof_ids: Sequence[str]
    ) -> dict[str, IndexedCredential]:
        return {
            c.proof_id: c
            for c, _ in self.credentials
            if c.tenant == tenant and c.proof_id in proof_ids
        }

    def credentials_by_soft_binding(
        self, tenant: str, alg: str, value: bytes, limit: int
    ) -> list[IndexedCredential]:
        assert alg == ISCC_ALGORITHM
        return [c for c, v in self.credentials if c.tenant == tenant and v == value][:limit]


@dataclass
class Repository:
    """Proven images, their credentials in the index and manifest stores in the store."""

    index: CredentialsInMemory
    perceptual: PerceptualIndex
    store: FilesystemProofStore
    exact: dict[tuple[str | None, str], str]

    def credential(
        self, image: bytes, *, proof_id: str, tenant: str, fingerprint: bytes | None = None
    ) -> str:
        """Index the proof of `image` and its credential; return the manifest id."""
        facts = inspect_image(image, max_bytes=len(image), max_pixels=MAX_PIXELS)
        self.exact.setdefault((tenant, facts.sha256), proof_id)
        self.perceptual.add(
            IndexEntry(proof_id=proof_id, tenant=tenant, phash=facts.phash, dhash=facts.dhash)
        )
        manifest_id = manifest_id_for(proof_id)
        key = f"manifests/2024/06/10/{proof_id}.c2pa"
        self.store.put(key, f"manifest store of {proof_id}".encode(), {})
        credential = IndexedCredential(manifest_id, proof_id, tenant, key)
        self.index.credentials.append((credential, fingerprint))
        return manifest_id


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    return Repository(
        CredentialsInMemory(), PerceptualIndex(), FilesystemProofStore(tmp_path / "store"), {}
    )


@pytest.fixture
def tokens(tmp_path: Path) -> dict[str, str]:
    keys_file = tmp_path / "api-keys.json"
    return {tenant: issue_api_key(keys_file, tenant).token for tenant in ("acme", "globex")}


@pytest.fixture
def service(
    tmp_path: Path, repository: Repository, tokens: dict[str, str]
) -> Iterator[VerifyService]:
    verifier = Verifier(
        exact=lambda tenant, sha256: repository.exact.get((tenant, sha256)),
        perceptual=repository.perceptual,
        proofs=no_proof,
        keyset=KeySet(),
        max_image_bytes=MAX_REQUEST_BYTES,
        max_image_pixels=MAX_PIXELS,
    )
    with service_of(tmp_path, repository, verifier) as service:
        yield service


@contextmanager
def service_of(
    tmp_path: Path, repository: Repository, verifier: Verifier
) -> Iterator[VerifyService]:
    """The service over `repository`, verifying with `verifier`."""
    with ThreadPoolExecutor(1) as executor:
        yield VerifyService(
            verifier=verifier,
            index=repository.index,
            proofs=no_proof,
            manifests=ManifestRepository(repository.index, repository.store),
            keyset=KeySet(),
            api_keys=ApiKeys(tmp_path / "api-keys.json"),
            executor=executor,
            max_request_bytes=MAX_REQUEST_BYTES,
            admission=Admission(4),
            body_timeout_seconds=30,
        )


@pytest.fixture
def application(service: VerifyService) -> web.Application:
    return create_app(service)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: CIMultiDictProxy[str]

    def json(self) -> Any:
        return json.loads(self.body)


def call(service: VerifyService, method: str, path: str, **kwargs: Any) -> Answer:
    """One request to the application of `service`, served on loopback."""

    async def request() -> Answer:
        async with TestClient(TestServer(create_app(service))) as client:
            response = await client.request(method, path, **kwargs)
            return Answer(response.status, await response.read(), response.headers)

    return asyncio.run(request())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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


def test_only_health_metrics_keys_and_the_description_are_open_to_anyone() -> None:
    open_routes = {
        (method, path)
        for path, item in OPENAPI["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }

    assert open_routes == {
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
        ("get", "/v1/keys"),
        ("get", "/v1/services/supportedAlgorithms"),
    }
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            if (method, path) not in open_routes:
                assert "401" in operation["responses"], (method, path)


def test_the_soft_binding_routes_bear_the_specifications_operation_ids() -> None:
    operations = {
        operation["operationId"]: (method, path)
        for path, item in OPENAPI["paths"].items()
        for method, operation in item.items()
        if "operationId" in operation
    }

    assert operations == {
        "queryByBinding": ("get", "/v1/matches/byBinding"),
        "queryByLargeBinding": ("post", "/v1/matches/byBinding"),
        "uploadFile": ("post", "/v1/matches/byContent"),
        "getManifestById": ("get", "/v1/manifests/{manifestId}"),
        "getSupportedBindings": ("get", "/v1/services/supportedAlgorithms"),
    }


def test_anyone_may_ask_which_algorithms_are_resolved(service: VerifyService) -> None:
    answer = call(service, "GET", "/v1/services/supportedAlgorithms")

    assert answer.status == 200
    assert answer.json() == {"fingerprints": [{"alg": ISCC_ALGORITHM}]}


class TestMatchesByBinding:
    FINGERPRINT = bytes(range(34))

    def query(self, value: bytes = FINGERPRINT, **extra: str) -> dict[str, str]:
        return {"alg": ISCC_ALGORITHM, "value": base64.b64encode(value).decode(), **extra}

    def credential(self, repository: Repository, number: int) -> str:
        return repository.credential(
            camera_jpeg(320, 240, number),
            proof_id=pid(number),
            tenant="acme",
            fingerprint=self.FINGERPRINT,
        )

    def lookup(self, service: VerifyService, token: str, params: dict[str, str]) -> Answer:
        return call(service, "GET", "/v1/matches/byBinding", params=params, headers=bearer(token))

    def test_the_tenants_manifest_with_exactly_that_binding_is_found(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        manifest_id = self.credential(repository, 1)

        answer = self.lookup(service, tokens["acme"], self.query())

        assert answer.status == 200, answer.body
        assert answer.json() == {"matches": [{"manifestId": manifest_id, "similarityScore": 100}]}

    def test_the_large_binding_form_takes_the_query_as_a_json_document(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        self.credential(repository, 1)
        self.credential(repository, 2)

        answer = call(
            service,
            "POST",
            "/v1/matches/byBinding",
            params={"maxResults": "1"},
            json=self.query(),
            headers=bearer(tokens["acme"]),
        )

        assert answer.status == 200, answer.body
        assert [match["manifestId"] for match in answer.json()["matches"]] == [
            manifest_id_for(pid(1))
        ]

    def test_another_tenants_manifest_is_not_found(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        self.credential(repository, 1)

        answer = self.lookup(service, tokens["globex"], self.query())

        assert answer.json() == {"matches": []}

    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"alg": "com.adobe.trustmark.Q", "value": "AAAA"}, "unsupported_alg"),
            ({"value": "AAAA"}, "missing_alg"),
            ({"alg": ISCC_ALGORITHM}, "missing_value"),
            ({"alg": ISCC_ALGORITHM, "value": "not base64!"}, "invalid_value"),
            ({"alg": ISCC_ALGORITHM, "value": "AAAA", "maxResults": "0"}, "invalid_max_results"),
        ],
    )
    def test_a_query_that_cannot_be_answered_is_a_400_saying_why(
        self,
        service: VerifyService,
        tokens: dict[str, str],
        params: dict[str, str],
        code: str,
    ) -> None:
        answer = self.lookup(service, tokens["acme"], params)

        assert answer.status == 400
        assert answer.json()["error"] == code

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            (b"{", 400, "invalid_json"),
            (b"[]", 400, "invalid_query"),
            (b'{"alg": "io.iscc.v0", "value": "' + b"A" * 20_000 + b'"}', 413, "too_large"),
        ],
        ids=["not-json", "not-an-object", "too-large"],
    )
    def test_a_body_that_is_no_query_document_is_refused(
        self,
        service: VerifyService,
        tokens: dict[str, str],
        body: bytes,
        status: int,
        code: str,
    ) -> None:
        answer = call(
            service,
            "POST",
            "/v1/matches/byBinding",
            data=body,
            headers={**bearer(tokens["acme"]), "Content-Type": "application/json"},
        )

        assert (answer.status, answer.json()["error"]) == (status, code)

    def test_without_an_api_key_nothing_is_looked_up(self, service: VerifyService) -> None:
        answer = call(service, "GET", "/v1/matches/byBinding", params=self.query())

        assert answer.status == 401


class TestMatchesByContent:
    def upload(self, service: VerifyService, token: str, image: bytes, **params: str) -> Answer:
        return call(
            service,
            "POST",
            "/v1/matches/byContent",
            params=params,
            data=image,
            headers={**bearer(token), "Content-Type": "image/jpeg"},
        )

    def test_a_cropped_copy_finds_its_originals_manifest_through_the_proofs_windows(
        self, tmp_path: Path, repository: Repository, tokens: dict[str, str]
    ) -> None:
        picture = textured(1200, 800, seed=2)
        proven = prove_image(
            repository.store,
            encode(picture, "JPEG", quality=92),
            event_id="e-cover",
            tenant="acme",
            signer=SIGNER,
            submitted_at_ms=1_718_000_000_000,
        )
        proof_id = proven.document.proof_id
        windows = WindowIndex()
        assert proven.document.windows is not None
        windows.add(proof_id, "acme", proven.document.windows)
        manifest_id = repository.credential(
            encode(picture, "PNG"), proof_id=proof_id, tenant="acme"
        )
        stored = StoredProofs(repository.store, {proof_id: proven.stored.key}.get)
        # Cut to 1:1 and re-encoded: no lookup by its global hashes finds the original.
        copy = cdn_variant(picture, CopyFamily.COVER_1_1, 2)
        verifier = Verifier(
            exact=lambda tenant, sha256: repository.exact.get((tenant, sha256)),
            perceptual=repository.perceptual,
            proofs=stored,
            keyset=KeySet([SIGNER.public_key]),
            max_image_bytes=MAX_REQUEST_BYTES,
            max_image_pixels=MAX_PIXELS,
            windows=windows,
            features=stored.features,
        )
        copy_facts = inspect_image(copy, max_bytes=len(copy), max_pixels=MAX_PIXELS)
        assert list(verifier.lookalikes(copy_facts, tenant="acme")) == []

        with service_of(tmp_path, repository, verifier) as service:
            answer = self.upload(service, tokens["acme"], copy)
            other_tenant = self.upload(service, tokens["globex"], copy)

        assert answer.status == 200, answer.body
        [match] = answer.json()["matches"]
        assert match["manifestId"] == manifest_id
        assert 0 < match["similarityScore"] < 100
        assert other_tenant.json() == {"matches": []}

    def test_a_stripped_resized_copy_finds_the_manifest_of_its_original(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        original = camera_jpeg(480, 360, 3)
        manifest_id = repository.credential(original, proof_id=pid(3), tenant="acme")
        repository.credential(camera_jpeg(480, 360, 4), proof_id=pid(4), tenant="acme")

        answer = self.upload(service, tokens["acme"], cdn_copy(original))

        assert answer.status == 200, answer.body
        [match] = answer.json()["matches"]
        assert match["manifestId"] == manifest_id
        assert 88 <= match["similarityScore"] <= 100

    def test_the_very_bytes_proven_match_with_the_strongest_score(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        original = camera_jpeg(480, 360, 3)
        manifest_id = repository.credential(original, proof_id=pid(3), tenant="acme")

        answer = self.upload(service, tokens["acme"], original, alg=ISCC_ALGORITHM)

        assert answer.json() == {"matches": [{"manifestId": manifest_id, "similarityScore": 100}]}

    def test_the_manifests_of_the_clients_hint_come_first(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        original = camera_jpeg(480, 360, 3)
        found_by_content = repository.credential(original, proof_id=pid(3), tenant="acme")
        hinted = repository.credential(
            camera_jpeg(480, 360, 5), proof_id=pid(5), tenant="acme", fingerprint=b"\x01\x02"
        )

        answer = self.upload(
            service,
            tokens["acme"],
            original,
            hintAlg=ISCC_ALGORITHM,
            hintValue=base64.b64encode(b"\x01\x02").decode(),
        )

        assert [match["manifestId"] for match in answer.json()["matches"]] == [
            hinted,
            found_by_content,
        ]

    def test_proofs_without_a_credential_and_other_tenants_credentials_are_not_matches(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        original = camera_jpeg(480, 360, 3)
        repository.credential(original, proof_id=pid(3), tenant="globex")
        repository.perceptual.add(
            IndexEntry(
                proof_id=pid(99),
                tenant="acme",
                phash=inspect_image(original, max_bytes=len(original), max_pixels=MAX_PIXELS).phash,
                dhash="0" * 16,
            )
        )

        answer = self.upload(service, tokens["acme"], original)

        assert answer.json() == {"matches": []}

    @pytest.mark.parametrize(
        ("content_type", "body", "code"),
        [
            ("text/plain", b"hello", "unsupported_media_type"),
            ("image/jpeg", b"not a picture", "image_rejected"),
        ],
    )
    def test_what_is_no_image_is_an_invalid_asset_type(
        self,
        service: VerifyService,
        tokens: dict[str, str],
        content_type: str,
        body: bytes,
        code: str,
    ) -> None:
        answer = call(
            service,
            "POST",
            "/v1/matches/byContent",
            data=body,
            headers={**bearer(tokens["acme"]), "Content-Type": content_type},
        )

        assert (answer.status, answer.json()["error"]) == (415, code)

    def test_a_body_above_the_request_limit_is_refused(
        self, service: VerifyService, tokens: dict[str, str]
    ) -> None:
        answer = self.upload(service, tokens["acme"], bytes(MAX_REQUEST_BYTES + 1))

        assert answer.status == 413


def credentialed(repository: Repository) -> str:
    return repository.credential(camera_jpeg(320, 240, 1), proof_id=pid(1), tenant="acme")


def fetch(service: VerifyService, manifest_id: str, token: str) -> Answer:
    return call(service, "GET", manifest_path(manifest_id), headers=bearer(token))


class TestManifests:
    def test_the_tenants_manifest_store_is_served_as_application_c2pa(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        manifest_id = credentialed(repository)

        answer = fetch(service, manifest_id, tokens["acme"])

        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/c2pa"
        assert answer.body == f"manifest store of {pid(1)}".encode()

    def test_another_tenants_manifest_is_not_found_like_an_unknown_one(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        manifest_id = credentialed(repository)

        others = fetch(service, manifest_id, tokens["globex"])
        unknown = fetch(service, manifest_id_for(pid(98)), tokens["acme"])

        assert (others.status, others.json()["error"]) == (404, "not_found")
        assert (unknown.status, unknown.json()["error"]) == (404, "not_found")

    def test_a_manifest_indexed_but_missing_from_the_store_says_so(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        manifest_id = credentialed(repository)
        repository.index.credentials[0] = (
            IndexedCredential(manifest_id, pid(1), "acme", "manifests/2024/06/10/gone.c2pa"),
            None,
        )

        answer = fetch(service, manifest_id, tokens["acme"])

        assert (answer.status, answer.json()["error"]) == (404, "not_stored")

    @pytest.mark.parametrize(
        ("path", "code"),
        [
            ("/v1/manifests/proofs.json", "invalid_manifest_id"),
            (
                manifest_path(manifest_id_for(pid(1))) + "?returnActiveManifest=maybe",
                "invalid_parameter",
            ),
        ],
    )
    def test_an_invalid_request_is_a_400(
        self, service: VerifyService, tokens: dict[str, str], path: str, code: str
    ) -> None:
        answer = call(service, "GET", path, headers=bearer(tokens["acme"]))

        assert (answer.status, answer.json()["error"]) == (400, code)

    def test_without_an_api_key_no_manifest_is_served(
        self, service: VerifyService, repository: Repository
    ) -> None:
        manifest_id = credentialed(repository)

        assert call(service, "GET", manifest_path(manifest_id)).status == 401


@asynccontextmanager
async def uploading(
    server: BaseTestServer, token: str, declared: int, sent: bytes = b""
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A `POST /v1/verify` on a connection of its own whose headers announce `declared` bytes of
    body, of which only `sent` are sent; the connection is closed at the end."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        head = (
            "POST /v1/verify HTTP/1.1\r\n"
            f"Host: {server.host}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: image/jpeg\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        )
        writer.write(head.encode() + sent)
        await writer.drain()
        yield reader, writer
    finally:
        writer.close()


async def answer_to(reader: asyncio.StreamReader) -> Answer:
    """The answer on a connection of `uploading`, waited for at most 5 s."""
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode().split("\r\n")
        headers = CIMultiDict[str]()
        for line in filter(None, lines):
            name, value = line.split(": ", 1)
            headers.add(name, value)
        body = await reader.readexactly(int(headers["Content-Length"]))
    return Answer(int(status_line.split()[1]), body, CIMultiDictProxy(headers))


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


def served(service: VerifyService, scenario: Callable[[Client], Awaitable[None]]) -> None:
    """`scenario` run against the application of `service`, served on loopback."""

    async def run() -> None:
        async with TestClient(TestServer(create_app(service))) as client:
            await scenario(client)

    asyncio.run(run())


class TestMetrics:
    def test_answers_are_counted_by_route_pattern_method_and_status(
        self, service: VerifyService, repository: Repository, tokens: dict[str, str]
    ) -> None:
        manifest_id = credentialed(repository)
        fetch(service, manifest_id, tokens["acme"])
        fetch(service, manifest_id, "no.key")
        call(service, "GET", "/nowhere")

        text = call(service, "GET", "/metrics").body.decode()

        def answered(route: str, status: int) -> float:
            match = re.search(
                rf'credlink_verify_requests_total\{{method="GET",route="{re.escape(route)}",'
                rf'status="{status}"\}} (\S+)',
                text,
            )
            return float(match.group(1)) if match else 0.0

        assert answered("/v1/manifests/{manifestId}", 200) == 1
        assert answered("/v1/manifests/{manifestId}", 401) == 1
        assert answered("unmatched", 404) == 1
        assert 'credlink_verify_request_duration_seconds_count{method="GET"' in text
        # A route's pattern, never the path asked for: no id, tenant or key becomes a label.
        assert manifest_id not in text
        assert "acme" not in text
        assert "process_resident_memory_bytes" in text


class TestAdmission:
    PICTURE = camera_jpeg(480, 360, 3)

    @pytest.fixture
    def limited(self, service: VerifyService) -> VerifyService:
        """The service with one place."""
        return replace(service, admission=Admission(1))

    @asynccontextmanager
    async def holding_the_place(
        self, client: Client, service: VerifyService, token: str
    ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        """An upload of `PICTURE` admitted to the one place of `service`, its first half sent."""
        half = len(self.PICTURE) // 2
        async with uploading(client.server, token, len(self.PICTURE), self.PICTURE[:half]) as (
            reader,
            writer,
        ):
            await until(lambda: service.admission.in_flight == 1)
            yield reader, writer

    async def verify(self, client: Client, token: str) -> Answer:
        response = await client.post(
            "/v1/verify",
            data=self.PICTURE,
            headers={**bearer(token), "Content-Type": "image/jpeg"},
        )
        return Answer(response.status, await response.read(), response.headers)

    def test_a_request_beyond_the_limit_is_answered_503_before_its_body_is_read(
        self, limited: VerifyService, tokens: dict[str, str]
    ) -> None:
        async def scenario(client: Client) -> None:
            async with self.holding_the_place(client, limited, tokens["acme"]):
                async with uploading(client.server, tokens["acme"], MAX_REQUEST_BYTES) as (
                    reader,
                    _,
                ):
                    answer = await answer_to(reader)

                assert answer.status == 503
                assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
                assert answer.json()["error"] == "busy"
                assert limited.admission.in_flight == 1

        served(limited, scenario)

    def test_health_metrics_and_keys_answer_while_every_place_is_taken(
        self, limited: VerifyService, tokens: dict[str, str]
    ) -> None:
        async def scenario(client: Client) -> None:
            async with self.holding_the_place(client, limited, tokens["acme"]):
                health = await client.get("/healthz")
                metrics = await client.get("/metrics")
                keys = await client.get("/v1/keys")

                assert (health.status, metrics.status, keys.status) == (200, 200, 200)

        served(limited, scenario)

    def test_a_place_is_given_back_once_its_request_is_answered(
        self, limited: VerifyService, tokens: dict[str, str]
    ) -> None:
        async def scenario(client: Client) -> None:
            async with self.holding_the_place(client, limited, tokens["acme"]) as (
                reader,
                writer,
            ):
                writer.write(self.PICTURE[len(self.PICTURE) // 2 :])
                first = await answer_to(reader)

            second = await self.verify(client, tokens["acme"])

            assert first.status == 200, first.body
            assert second.status == 200, second.body
            assert limited.admission.in_flight == 0

        served(limited, scenario)

    def test_a_client_that_goes_away_mid_upload_gives_its_place_back(
        self, limited: VerifyService, tokens: dict[str, str]
    ) -> None:
        async def scenario(client: Client) -> None:
            async with self.holding_the_place(client, limited, tokens["acme"]):
                pass

            await until(lambda: limited.admission.in_flight == 0)
            answer = await self.verify(client, tokens["acme"])

            assert answer.status == 200, answer.body

        served(limited, scenario)

    def test_a_body_not_sent_within_the_body_timeout_is_a_408_that_gives_the_place_back(
        self, limited: VerifyService, tokens: dict[str, str]
    ) -> None:
        impatient = replace(limited, body_timeout_seconds=0.5)

        async def scenario(client: Client) -> None:
            async with self.holding_the_place(client, impatient, tokens["acme"]) as (reader, _):
                answer = await answer_to(reader)

                assert (answer.status, answer.json()["error"]) == (408, "request_timeout")
                assert impatient.admission.in_flight == 0

        served(impatient, scenario)


def test_every_route_that_takes_a_place_describes_its_503_and_retry_after() -> None:
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            if operation.get("security") == []:
                continue
            busy = operation["responses"]["503"]
            assert "Retry-After" in busy["headers"], (method, path)
            if "requestBody" in operation:
                assert "408" in operation["responses"], (method, path)
