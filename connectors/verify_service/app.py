"""The verify service's HTTP API on aiohttp: routes, API-key authentication, tenant scope and
JSON errors. `openapi.json` next to this module describes it and is served as it is."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from aiohttp import BodyPartReader, MultipartReader, web

from connectors.proof_index.store import ProofIndex
from connectors.verify_service.api_keys import ApiKeys
from streams.core.errors import ImageRejected, ImageTooLarge, TransientError
from streams.core.image_verifier import ProofSource, Verifier
from streams.core.proof_signature import verify_signed_proof
from streams.core.signing import KeySet
from streams.core.stores.base import ProofNotFound

__all__ = ["OPENAPI_PATH", "SERVICE", "ApiError", "VerifyService", "create_app"]

log = logging.getLogger(__name__)

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
IMAGE_FIELD = "image"
JWK_SET = "application/jwk-set+json"

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class VerifyService:
    """What the handlers use: the verifier, the index and proofs behind it, the key set, the
    API keys, and the threads that run the blocking work (hashing, database, store)."""

    verifier: Verifier
    index: ProofIndex
    proofs: ProofSource
    keyset: KeySet
    api_keys: ApiKeys
    executor: Executor
    max_request_bytes: int

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
    app = web.Application(client_max_size=service.max_request_bytes, middlewares=[_json_errors])
    app[SERVICE] = service
    openapi = OPENAPI_PATH.read_bytes()

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/openapi.json", openapi_document)
    app.router.add_get("/v1/keys", _keys)
    app.router.add_post("/v1/verify", _verify)
    app.router.add_get("/v1/proofs/{proof_id}", _proof)
    return app


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
        image = await _form_image(await request.multipart(), limit)
    else:
        image = await request.read()  # bounded by the application's client_max_size
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


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as a JSON object `{"error": code, "message": ...}`."""
    try:
        return await handler(request)
    except ApiError as error:
        return _json(error.status, error.code, error.message, error.headers)
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
