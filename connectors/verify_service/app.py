"""The verify service's HTTP API on aiohttp: routes (the verify API and the C2PA Soft Binding
Resolution API of the manifest repository), API-key authentication, tenant scope, admission
control, body deadlines and JSON errors. `openapi.json` next to this module describes it and is
served as it is."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.proof_index.manifests import ManifestRepository
from connectors.proof_index.store import ProofIndex
from connectors.verify_service.admission import Admission, Busy
from connectors.verify_service.api_keys import ApiKeys
from connectors.verify_service.soft_binding import (
    MAX_RESULTS,
    STRONGEST_MATCH,
    SUPPORTED_ALGORITHMS,
    InvalidQuery,
    SoftBindingMatch,
    algorithm,
    binding_value,
    manifest_id,
    matches_json,
    max_results,
    similarity_score,
)
from streams.core.content_credentials import MANIFEST_MEDIA_TYPE
from streams.core.errors import ImageRejected, ImageTooLarge, TransientError
from streams.core.image_verifier import ProofSource, Verifier
from streams.core.imaging import ImageFacts
from streams.core.proof_signature import verify_signed_proof
from streams.core.signing import KeySet
from streams.core.stores.base import ProofNotFound
from streams.ops.metrics import ServiceMetrics, new_registry

__all__ = [
    "OPENAPI_PATH",
    "RETRY_AFTER_SECONDS",
    "SERVICE",
    "ApiError",
    "VerifyService",
    "create_app",
    "manifest_path",
]

log = logging.getLogger(__name__)

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
IMAGE_FIELD = "image"
JWK_SET = "application/jwk-set+json"
# A soft-binding query document is two short strings.
MAX_QUERY_BYTES = 16 * 1024
# The media types `/v1/matches/byContent` takes: the raw bytes of an image.
_CONTENT_TYPES = ("image/", "application/octet-stream")
# A place frees up when a verification ends: well within a second for all but the largest images.
RETRY_AFTER_SECONDS = 1

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class VerifyService:
    """What the handlers use: the verifier, the index, proofs and manifests behind it, the key
    set, the API keys, the threads that run the blocking work (hashing, database, store), and
    the limits on requests: their size, how many are at work at once (which also bounds the
    jobs queued for the threads), and how long a client may take to send a body."""

    verifier: Verifier
    index: ProofIndex
    proofs: ProofSource
    manifests: ManifestRepository
    keyset: KeySet
    api_keys: ApiKeys
    executor: Executor
    max_request_bytes: int
    admission: Admission
    body_timeout_seconds: float
    metrics: ServiceMetrics = field(default_factory=lambda: ServiceMetrics(new_registry()))

    async def run(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function)


SERVICE = web.AppKey("service", VerifyService)


class ApiError(Exception):
    """An answer other than 200, sent as `{"error": code, "message": message}`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def create_app(service: VerifyService) -> web.Application:
    """The service's application: every route the OpenAPI description lists."""
    app = web.Application(
        client_max_size=service.max_request_bytes, middlewares=[_measured, _json_errors]
    )
    app[SERVICE] = service
    openapi = OPENAPI_PATH.read_bytes()

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/openapi.json", openapi_document)
    app.router.add_get("/v1/keys", _keys)
    app.router.add_post("/v1/verify", _admitted(_verify))
    app.router.add_get("/v1/proofs/{proof_id}", _admitted(_proof))
    app.router.add_get("/v1/services/supportedAlgorithms", _supported_algorithms)
    app.router.add_get("/v1/matches/byBinding", _admitted(_matches_by_binding))
    app.router.add_post("/v1/matches/byBinding", _admitted(_matches_by_large_binding))
    app.router.add_post("/v1/matches/byContent", _admitted(_matches_by_content))
    app.router.add_get("/v1/manifests/{manifestId}", _admitted(_manifest))
    return app


def manifest_path(manifest_id: str) -> str:
    """The path the manifest store of `manifest_id` is served at."""
    return f"/v1/manifests/{quote(manifest_id, safe=':')}"


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def _keys(request: web.Request) -> web.Response:
    return web.Response(text=request.app[SERVICE].keyset.to_json(), content_type=JWK_SET)


async def _verify(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    tenant = _tenant(request)
    if request.content_length is not None and request.content_length > service.max_request_bytes:
        raise ApiError(413, "too_large", _too_large(service.max_request_bytes))
    image = await _image(request)
    try:
        verdict = await service.run(partial(service.verifier.verify, image, tenant=tenant))
    except ImageTooLarge as error:
        raise ApiError(413, "image_too_large", str(error)) from None
    except ImageRejected as error:
        raise ApiError(422, "image_rejected", str(error)) from None
    return web.json_response(verdict.to_json())


async def _proof(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    tenant = _tenant(request)
    proof_id = request.match_info["proof_id"]
    # One answer for "no such proof" and "another tenant's proof": ids reveal nothing.
    not_found = ApiError(404, "not_found", f"no proof {proof_id} of this tenant")
    indexed = await service.run(partial(service.index.by_proof_id, proof_id))
    if indexed is None or indexed.proof.tenant != tenant:
        raise not_found
    try:
        envelope = await service.run(partial(service.proofs, proof_id))
    except ProofNotFound:
        raise ApiError(
            404, "not_stored", f"proof {proof_id} is indexed but not in the store"
        ) from None
    result = verify_signed_proof(envelope, service.keyset)
    if result.document is not None and result.document.tenant != tenant:
        raise not_found
    try:
        signed_proof = json.loads(envelope)
    except ValueError:
        signed_proof = None
    return web.json_response(
        {
            "proof_id": proof_id,
            "signed_proof": signed_proof,
            "verdict": {
                "outcome": result.outcome.value,
                "valid": result.is_valid,
                "reason": result.reason,
                "key_id": result.key_id,
            },
        }
    )


async def _supported_algorithms(request: web.Request) -> web.Response:
    return web.json_response(SUPPORTED_ALGORITHMS)


async def _matches_by_binding(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    tenant = _tenant(request)
    alg = algorithm(request.query.get("alg"))
    value = binding_value(request.query.get("value"))
    limit = max_results(request.query.get("maxResults"))
    found = await service.run(partial(_by_binding, service, tenant, alg, value, limit))
    return web.json_response(matches_json(found, limit))


async def _matches_by_large_binding(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    tenant = _tenant(request)
    limit = max_results(request.query.get("maxResults"))
    body = await _received(request, request.read())  # bounded by the client_max_size
    if len(body) > MAX_QUERY_BYTES:
        raise ApiError(413, "too_large", _too_large(MAX_QUERY_BYTES))
    try:
        query: Any = json.loads(body)
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is no JSON document") from None
    if not isinstance(query, dict):
        raise ApiError(400, "invalid_query", 'the body is no object {"alg": ..., "value": ...}')
    alg = algorithm(query.get("alg"))
    value = binding_value(query.get("value"))
    found = await service.run(partial(_by_binding, service, tenant, alg, value, limit))
    return web.json_response(matches_json(found, limit))


async def _matches_by_content(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    tenant = _tenant(request)
    if "alg" in request.query:
        algorithm(request.query["alg"])
    limit = max_results(request.query.get("maxResults"))
    hint: tuple[str, bytes] | None = None
    if "hintAlg" in request.query or "hintValue" in request.query:
        hint = (
            algorithm(request.query.get("hintAlg"), parameter="hintAlg"),
            binding_value(request.query.get("hintValue"), parameter="hintValue"),
        )
    if not request.content_type.startswith(_CONTENT_TYPES):
        raise ApiError(415, "unsupported_media_type", "send the image's bytes as image/*")
    if request.content_length is not None and request.content_length > service.max_request_bytes:
        raise ApiError(413, "too_large", _too_large(service.max_request_bytes))
    image = await _image(request)
    try:
        facts = await service.run(partial(service.verifier.inspect, image))
    except ImageTooLarge as error:
        raise ApiError(413, "image_too_large", str(error)) from None
    except ImageRejected as error:
        raise ApiError(415, "image_rejected", str(error)) from None
    found = await service.run(partial(_by_content, service, tenant, image, facts, hint))
    return web.json_response(matches_json(found, limit))


async def _manifest(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    tenant = _tenant(request)
    wanted = manifest_id(request.match_info["manifestId"])
    if request.query.get("returnActiveManifest", "false") not in {"true", "false"}:
        raise InvalidQuery("invalid_parameter", "returnActiveManifest must be true or false")
    try:
        store = await service.run(partial(service.manifests.manifest_store, wanted, tenant))
    except ProofNotFound:
        raise ApiError(
            404, "not_stored", f"manifest {wanted} is indexed but not in the store"
        ) from None
    if store is None:
        # One answer for "no such manifest" and "another tenant's": ids reveal nothing.
        raise ApiError(404, "not_found", f"no manifest {wanted} of this tenant")
    return web.Response(body=store, content_type=MANIFEST_MEDIA_TYPE)


def _by_binding(
    service: VerifyService, tenant: str, alg: str, value: bytes, limit: int
) -> list[SoftBindingMatch]:
    """The tenant's manifests whose soft binding is exactly `value`."""
    credentials = service.index.credentials_by_soft_binding(tenant, alg, value, limit)
    return [SoftBindingMatch(credential.manifest_id, STRONGEST_MATCH) for credential in credentials]


def _by_content(
    service: VerifyService,
    tenant: str,
    image: bytes,
    facts: ImageFacts,
    hint: tuple[str, bytes] | None,
) -> list[SoftBindingMatch]:
    """The tenant's manifests of the proofs the verifier's lookups propose for the image,
    nearest first, after those of the client's hint. When they propose none with a manifest
    (a cropped, padded or overlaid copy), the manifest of the proof the verifier verifies the
    image by, through its windows and keypoints, if any."""
    found = _by_binding(service, tenant, *hint, MAX_RESULTS) if hint is not None else []
    lookalikes = list(service.verifier.lookalikes(facts, tenant=tenant, limit=MAX_RESULTS))
    credentials = service.index.credentials_of_proofs(
        tenant, [lookalike.proof_id for lookalike in lookalikes]
    )
    by_hashes = [
        SoftBindingMatch(
            credentials[lookalike.proof_id].manifest_id, similarity_score(lookalike.distance)
        )
        for lookalike in lookalikes
        if lookalike.proof_id in credentials
    ]
    if by_hashes:
        return found + by_hashes
    verdict = service.verifier.verify(image, tenant=tenant)
    if not verdict.verified or verdict.proof_id is None:
        return found
    credential = service.index.credentials_of_proofs(tenant, [verdict.proof_id])
    if verdict.proof_id in credential:
        found.append(
            SoftBindingMatch(
                credential[verdict.proof_id].manifest_id,
                similarity_score(verdict.distance or 0),
            )
        )
    return found


def _admitted(handler: Handler) -> Handler:
    """`handler`, run while it holds one of the service's places: a request that finds none
    free is answered 503 at once, before any of its body is read."""

    async def admitted(request: web.Request) -> web.StreamResponse:
        with request.app[SERVICE].admission.admitted():
            return await handler(request)

    return admitted


def _tenant(request: web.Request) -> str:
    tenant = request.app[SERVICE].api_keys.tenant_of(request.headers.get("Authorization"))
    if tenant is None:
        raise ApiError(
            401,
            "unauthorized",
            "send a valid API key: `Authorization: Bearer <key id>.<secret>`",
            headers={"WWW-Authenticate": 'Bearer realm="credlink-verify"'},
        )
    return tenant


async def _image(request: web.Request) -> bytes:
    """The uploaded image: the `image` part of a multipart form, or else the whole body."""
    limit = request.app[SERVICE].max_request_bytes
    if request.content_type == "multipart/form-data":
        image = await _received(request, _form_image(await request.multipart(), limit))
    else:
        image = await _received(request, request.read())  # bounded by the client_max_size
    if not image:
        raise ApiError(400, "no_image", "the request carries no image")
    return bytes(image)


async def _form_image(reader: MultipartReader, limit: int) -> bytes:
    # Multipart parts are streamed past aiohttp's body limit, so the part is bounded here.
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == IMAGE_FIELD:
            chunks, size = [], 0
            while chunk := await part.read_chunk():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "too_large", _too_large(limit))
                chunks.append(chunk)
            return b"".join(chunks)
    raise ApiError(400, "no_image", f"no form field {IMAGE_FIELD!r}")


async def _received(request: web.Request, read: Awaitable[T]) -> T:
    """What `read` reads of the body, or a 408 once the client has taken the body timeout to
    send it: a client dripping its upload holds its place no longer."""
    timeout = request.app[SERVICE].body_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            return await read
    except TimeoutError:
        raise ApiError(
            408, "request_timeout", f"the body did not arrive within {timeout:g} s"
        ) from None


@web.middleware
async def _measured(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every answer, by the route it matched."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[SERVICE].metrics.answered(
            route, request.method, status, time.perf_counter() - started
        )


async def _metrics(request: web.Request) -> web.Response:
    """The service's metrics in Prometheus' text format (no API key: like /healthz, for the
    scraper; nothing in them names a tenant, a key or an image)."""
    body = generate_latest(request.app[SERVICE].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as a JSON object `{"error": code, "message": ...}`."""
    try:
        return await handler(request)
    except ApiError as error:
        return _json(error.status, error.code, error.message, error.headers)
    except InvalidQuery as error:
        return _json(400, error.code, str(error))
    except Busy:
        return _json(
            503,
            "busy",
            f"the service is at its limit of requests at once; retry in {RETRY_AFTER_SECONDS} s",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if isinstance(error, web.HTTPRequestEntityTooLarge):
            message = _too_large(request.app[SERVICE].max_request_bytes)
            return _json(error.status, "too_large", message)
        headers = {
            name: value
            for name, value in error.headers.items()
            if name.lower() not in {"content-type", "content-length"}
        }
        code = error.reason.lower().replace(" ", "_")
        return _json(error.status, code, error.reason, headers)
    except TransientError as error:
        log.warning("verify service: %s %s: %s", request.method, request.path, error)
        return _json(503, "unavailable", "the proof index or the proof store is unavailable")
    except Exception:
        log.exception("verify service: %s %s failed", request.method, request.path)
        return _json(500, "internal_error", "the service failed; its log says why")


def _json(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


def _too_large(limit: int) -> str:
    return f"the request is larger than {limit} bytes"
