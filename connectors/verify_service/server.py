"""Running the verify service: its parts built from the settings, served until SIGTERM."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from connectors.proof_index.manifests import ManifestRepository
from connectors.proof_index.store import ProofIndex
from connectors.proof_index.verifying import build_verifier, stored_proofs
from connectors.verify_service.admission import Admission
from connectors.verify_service.api_keys import ApiKeys
from connectors.verify_service.app import VerifyService, create_app, manifest_path
from streams.core.signing import load_key_set
from streams.settings import Settings

__all__ = ["serve"]

log = logging.getLogger(__name__)


def serve(settings: Settings, conninfo: str, *, host: str, port: int) -> None:
    """Serve the verify service on `host:port` until SIGTERM or SIGINT.

    The key set, the API keys and the index are checked before the port opens: a missing file
    or an index that does not exist yet is a `SetupError`, not a service that answers 500.
    """
    keyset = load_key_set(settings.signing.keyset_file)
    api_keys = ApiKeys(settings.verify.api_keys_file)
    with (
        ProofIndex(conninfo) as index,
        ThreadPoolExecutor(settings.verify.concurrency, thread_name_prefix="verify") as executor,
    ):
        index.count()
        proofs = stored_proofs(settings, index)
        service = VerifyService(
            verifier=build_verifier(settings, index, keyset, proofs, manifest_url=manifest_path),
            index=index,
            proofs=proofs,
            manifests=ManifestRepository(index, proofs.store),
            keyset=keyset,
            api_keys=api_keys,
            executor=executor,
            max_request_bytes=settings.verify.max_request_bytes,
            admission=Admission(settings.verify.admitted_requests),
            body_timeout_seconds=settings.verify.body_timeout_seconds,
        )
        log.info(
            "verify service: %d API keys, %d public keys, %d requests at once, on http://%s:%d",
            len(api_keys),
            len(keyset),
            service.admission.limit,
            host,
            port,
        )
        # aiohttp's keep-alive timer runs from the connection's start and from each answer
        # until the next request's headers are in: it is the header timeout too.
        web.run_app(
            create_app(service),
            host=host,
            port=port,
            print=None,
            access_log=log,
            keepalive_timeout=settings.verify.header_timeout_seconds,
        )
