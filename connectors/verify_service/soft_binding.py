"""The C2PA Soft Binding Resolution API's vocabulary: the algorithms the service resolves, the
query parameters read from requests, and the match lists it answers with.

The shapes are those of the C2PA 2.2 specification's OpenAPI document (`c2pa.softBindingQuery`,
`c2pa.softBindingQueryResult`, `c2pa.softBindingAlgList`); the routes are in `app`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.core.image_fingerprint import ISCC_ALGORITHM

__all__ = [
    "DEFAULT_RESULTS",
    "MAX_BINDING_BYTES",
    "MAX_RESULTS",
    "STRONGEST_MATCH",
    "SUPPORTED_ALGORITHMS",
    "InvalidQuery",
    "SoftBindingMatch",
    "algorithm",
    "binding_value",
    "manifest_id",
    "matches_json",
    "max_results",
    "similarity_score",
]

SUPPORTED_ALGORITHMS: dict[str, Any] = {"fingerprints": [{"alg": ISCC_ALGORITHM}]}
"""`c2pa.softBindingAlgList`: the soft bindings our manifests carry and the service looks up."""

DEFAULT_RESULTS = 10
"""The specification's default of `maxResults`."""
MAX_RESULTS = 100
"""A larger `maxResults` is answered with this many at most: one query reads a bounded number
of rows."""
MAX_BINDING_BYTES = 1024
"""The largest soft-binding value looked up; an `io.iscc.v0` value of one unit has 34 bytes."""
STRONGEST_MATCH = 100
"""The `similarityScore` of an exact soft binding, or of the very bytes proven."""

_PHASH_BITS = 64
_MANIFEST_ID = re.compile(
    r"urn:(?:c2pa|uuid):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}(?::[\w.-]{1,64}){0,2}"
)


class InvalidQuery(ValueError):
    """A query the service cannot answer: a 400 with `code` and the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SoftBindingMatch:
    """One manifest that matches a query, and how strongly (0 to 100)."""

    manifest_id: str
    similarity_score: int

    def to_json(self) -> dict[str, Any]:
        # No `endpoint`: every manifest found is served by this service's /manifests.
        return {"manifestId": self.manifest_id, "similarityScore": self.similarity_score}


def max_results(text: str | None) -> int:
    """`maxResults` as given (an integer of at least 1, `DEFAULT_RESULTS` when absent), capped
    at `MAX_RESULTS`."""
    if text is None:
        return DEFAULT_RESULTS
    try:
        wanted = int(text)
    except ValueError:
        raise InvalidQuery("invalid_max_results", "maxResults must be an integer") from None
    if wanted < 1:
        raise InvalidQuery("invalid_max_results", "maxResults must be at least 1")
    return min(wanted, MAX_RESULTS)


def algorithm(name: object, *, parameter: str = "alg") -> str:
    """`name`, if it is an algorithm the service resolves."""
    if not isinstance(name, str) or not name:
        raise InvalidQuery("missing_alg", f"{parameter} is required")
    if name != ISCC_ALGORITHM:
        raise InvalidQuery(
            "unsupported_alg",
            f"{parameter} {name[:64]!r} is not resolved here; supported: {ISCC_ALGORITHM}",
        )
    return name


def binding_value(text: object, *, parameter: str = "value") -> bytes:
    """The bytes of a base64 soft-binding value, standard or URL-safe, padded or not, with a
    `+` that arrived as a space (an unencoded query) read as `+`."""
    if not isinstance(text, str) or not text:
        raise InvalidQuery("missing_value", f"{parameter} is required")
    if len(text) > 4 * MAX_BINDING_BYTES:
        raise InvalidQuery("value_too_long", f"{parameter} is longer than the service looks up")
    normalised = text.replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        value = base64.b64decode(normalised + "=" * (-len(normalised) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidQuery("invalid_value", f"{parameter} is not base64") from None
    if not value:
        raise InvalidQuery("invalid_value", f"{parameter} is empty")
    if len(value) > MAX_BINDING_BYTES:
        raise InvalidQuery("value_too_long", f"{parameter} is longer than the service looks up")
    return value


def manifest_id(text: str) -> str:
    """`text`, if it has the form of a C2PA manifest id (`urn:c2pa:<UUID>`, optionally with a
    claim generator and version suffix)."""
    if not _MANIFEST_ID.fullmatch(text):
        raise InvalidQuery("invalid_manifest_id", "not a C2PA manifest id (urn:c2pa:<UUID>)")
    return text


def similarity_score(phash_distance: int) -> int:
    """The strength of a match found `phash_distance` pHash bits away: 100 for the same
    picture, one point less per 1/100 of the hash's bits apart."""
    return max(0, round(STRONGEST_MATCH * (1 - phash_distance / _PHASH_BITS)))


def matches_json(matches: Iterable[SoftBindingMatch], limit: int) -> dict[str, Any]:
    """`c2pa.softBindingQueryResult`: the first `limit` distinct manifests of `matches`."""
    seen: set[str] = set()
    found: list[dict[str, Any]] = []
    for match in matches:
        if len(found) == limit:
            break
        if match.manifest_id not in seen:
            seen.add(match.manifest_id)
            found.append(match.to_json())
    return {"matches": found}
