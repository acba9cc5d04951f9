"""The verify service: images verified over HTTP against the proof index, per tenant.

`api_keys` holds the tenant-scoped API keys, `admission` bounds the requests at work at once,
`app` the aiohttp routes (described by `openapi.json`), `server` builds and runs the service,
and `cli` is `credlink serve-verify`.
"""

from __future__ import annotations

from connectors.verify_service.api_keys import ApiKeys, IssuedKey, issue_api_key
from connectors.verify_service.app import VerifyService, create_app
from connectors.verify_service.server import serve

__all__ = ["ApiKeys", "IssuedKey", "VerifyService", "create_app", "issue_api_key", "serve"]
