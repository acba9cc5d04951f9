"""Verifying an image against the stored proofs: by its exact bytes, else by its pHash, else by
the windows and local features a CDN's crop, pad or overlay leaves recognisable.

Plain synchronous Python, the domain behind the verification CLI and HTTP service. Lookups
(exact, perceptual, by window) only propose proofs; what a verdict says about the image is
taken from the signed proof document (and the feature blob its digest covers), never from an
index. docs/verification.md describes the procedure,
the threshold and how it was measured, and the exit codes. With a `CredentialVerifier`, a
verdict also reports the image's Content Credentials (`streams.core.credential_verifier`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Protocol

from PIL import Image

from streams.core.clock import from_epoch_millis, iso_utc
from streams.core.credential_verifier import ContentCredentials, CredentialVerifier
from streams.core.imaging import ImageFacts, hamming_distance, inspect_image_luma
from streams.core.local_features import (
    GeometricMatch,
    LocalFeatures,
    MalformedFeatures,
    local_features,
    match_geometry,
)
from streams.core.memory_budget import MemoryBudget
from streams.core.perceptual_index import Match
from streams.core.proof_document import ProofDocument
from streams.core.proof_signature import SignatureCheck, verify_signed_proof
from streams.core.signing import KeySet
from streams.core.stores.base import ProofNotFound, ProofStore, features_key
from streams.core.window_hashes import (
    WindowComparison,
    WindowHash,
    comparable_windows,
    compare_windows,
    geometric_candidates,
    query_windows,
)
from streams.core.window_index import WINDOW_SEARCH_DISTANCE, WindowSearch, window_comparisons

__all__ = [
    "DHASH_THRESHOLD",
    "MAX_CANDIDATES",
    "PERCEPTUAL_THRESHOLD",
    "ExactLookup",
    "FeatureSource",
    "Finding",
    "Lookalike",
    "PerceptualSearch",
    "ProofSource",
    "Similarity",
    "StoredProofs",
    "Verdict",
    "Verifier",
]

# pHash bits (out of 64) within which a copy still counts as the proven image, and the radius
# of the perceptual index search. bench/perceptual_threshold.py measured CDN-style copies at
# most 4 bits from their original and the nearest unrelated picture 10 bits away;
# docs/verification.md has the tables and the reasoning.
PERCEPTUAL_THRESHOLD = 8

# dHash bits a perceptual match must also be within: a second, independent check. Copies drift
# a little more in dHash than in pHash (at most 5 bits measured), while unrelated pictures that
# come near in pHash are far apart in dHash (18 bits or more for all within 14 bits in pHash).
DHASH_THRESHOLD = 12

# Most proofs fetched and checked for one query, so a crowd of near-duplicates in the index
# cannot turn one verification into hundreds of store reads.
MAX_CANDIDATES = 8

ExactLookup = Callable[[str | None, str], str | None]
"""(tenant or None for any tenant, image SHA-256) -> id of a proof of those bytes, or None."""

ProofSource = Callable[[str], bytes]
"""proof id -> the stored envelope bytes; raises `ProofNotFound` when there is none."""

FeatureSource = Callable[[ProofDocument], bytes]
"""a version 2 proof's document -> its stored feature blob; raises `ProofNotFound` when there
is none."""


class PerceptualSearch(Protocol):
    """Proofs by pHash within a Hamming radius: a `PerceptualIndex` in memory, or the proof
    index in PostgreSQL (`connectors.proof_index.ProofIndex`)."""

    def nearest(
        self,
        phash: str,
        max_distance: int,
        tenant: str | None = None,
        *,
        dhash: str | None = None,
    ) -> Sequence[Match]:
        """Every entry within `max_distance` pHash bits (of `tenant` when given), nearest
        first, with its dHash distance to `dhash` when that is given."""
        ...


class Finding(enum.Enum):
    """What verifying an image found, the `outcome` of its `Verdict`; `exit_code` is what a
    command-line verifier exits with."""

    VERIFIED_EXACT = "verified_exact"
    VERIFIED_PERCEPTUAL = "verified_perceptual"
    NOT_FOUND = "not_found"
    SIGNATURE_INVALID = "signature_invalid"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED_PROOF = "malformed_proof"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]

    @property
    def verified(self) -> bool:
        return self in (Finding.VERIFIED_EXACT, Finding.VERIFIED_PERCEPTUAL)


# 0 only for the strongest claim, so a script that checks for success never takes a lookalike
# for the original; one decade per kind of answer (1x verified by similarity, 2x nothing to
# check against, 3x a proof that cannot be trusted); 1 and 2 stay free for the command's own
# failures (an unreadable image, a usage error).
_EXIT_CODES = {
    Finding.VERIFIED_EXACT: 0,
    Finding.VERIFIED_PERCEPTUAL: 10,
    Finding.NOT_FOUND: 20,
    Finding.SIGNATURE_INVALID: 30,
    Finding.UNKNOWN_KEY: 31,
    Finding.MALFORMED_PROOF: 32,
}

_FAILURES = {
    SignatureCheck.BAD_SIGNATURE: Finding.SIGNATURE_INVALID,
    SignatureCheck.UNKNOWN_KEY: Finding.UNKNOWN_KEY,
    SignatureCheck.MALFORMED: Finding.MALFORMED_PROOF,
}


@dataclass(frozen=True, slots=True)
class Similarity:
    """What a verification by similarity rests on.

    `method` is `global_hashes` (the image's pHash and dHash near the proof's), `window_hashes`
    (a window of the image near `window`, a window the proof signs, at `window_distances`:
    pHash and dHash bits) or `local_features` (`geometry`: the similarity transform that maps
    the image's keypoints onto those of the proof's picture).
    """

    method: str
    window: str | None = None
    window_distances: tuple[int, int] | None = None
    geometry: GeometricMatch | None = None

    def to_json(self) -> dict[str, Any]:
        geometry = self.geometry
        return {
            "method": self.method,
            "window": self.window,
            "window_phash_distance": self.window_distances[0] if self.window_distances else None,
            "window_dhash_distance": self.window_distances[1] if self.window_distances else None,
            "inliers": geometry.inliers if geometry else None,
            "scale": round(geometry.scale, 4) if geometry else None,
            "rotation_degrees": round(geometry.rotation_degrees, 2) if geometry else None,
        }


_BY_GLOBAL_HASHES = Similarity("global_hashes")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What verifying one image found, with a one-line `message` for people.

    `image` holds the facts of the image verified. `proof_id` names the proof the verdict is
    about (none for `NOT_FOUND`). Only when verified: `document` is the signed proof document,
    `distance` and `dhash_distance` the Hamming distances between the image's hashes and the
    document's (0 and 0 for the very same bytes), and, when verified by similarity,
    `similarity` what the match rests on. `key_id` is the key the proof names, when the proof
    could be read. `content_credentials` is the C2PA manifest the image carries or the one
    recovered through its proof, when the verifier checks them and there is one.
    """

    outcome: Finding
    message: str
    image: ImageFacts
    proof_id: str | None = None
    document: ProofDocument | None = None
    distance: int | None = None
    dhash_distance: int | None = None
    key_id: str | None = None
    content_credentials: ContentCredentials | None = None
    similarity: Similarity | None = None

    @property
    def verified(self) -> bool:
        return self.outcome.verified

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def to_json(self) -> dict[str, Any]:
        """The verdict as a JSON object: what `credlink verify --json` prints and the verify
        service returns."""
        return {
            "outcome": self.outcome.value,
            "verified": self.verified,
            "exit_code": self.exit_code,
            "message": self.message,
            "proof_id": self.proof_id,
            "distance": self.distance,
            "dhash_distance": self.dhash_distance,
            "similarity": self.similarity.to_json() if self.similarity is not None else None,
            "key_id": self.key_id,
            "image": self.image.to_dict(),
            "proof": self.document.to_dict() if self.document is not None else None,
            "content_credentials": (
                self.content_credentials.to_json() if self.content_credentials is not None else None
            ),
        }


@dataclass(frozen=True, slots=True)
class Lookalike:
    """A proof the lookups propose for an image, before its signed document is read."""

    proof_id: str
    distance: int
    """pHash bits between the image and the proof's image; 0 for the proof of these bytes."""


@dataclass(frozen=True, slots=True)
class StoredProofs:
    """A `ProofSource` over a `ProofStore`, which keeps proofs by storage key, not by id.

    `key_of` maps a proof id to its storage key (the `location.key` of its `ProofCreated`
    event), or None when it does not know the proof.
    """

    store: ProofStore
    key_of: Callable[[str], str | None]

    def __call__(self, proof_id: str) -> bytes:
        key = self.key_of(proof_id)
        if key is None:
            raise ProofNotFound(proof_id)
        return self.store.get(key)

    def features(self, document: ProofDocument) -> bytes:
        """The feature blob stored beside the proof of `document` (a `FeatureSource`)."""
        return self.store.get(features_key(document.proof_id, document.issued_at))


class Verifier:
    """Finds the proof of an image and checks it against a key set.

    Candidates are taken in stages, each only when the ones before verified nothing:

    1. the proof the exact lookup names for the image's SHA-256, then the perceptual index's
       matches within the thresholds, nearest first, `max_candidates` in all. Such a candidate
       verifies when its signed document covers the image: the same SHA-256, or pHash and
       dHash within the thresholds;
    2. with `windows`, the proofs one of whose windows the image's windows come within both
       window thresholds of (`streams.core.window_hashes`), nearest first, `max_candidates` in
       all; a candidate verifies when a window its document signs is that close;
    3. with `windows` and `features`, the `GEOMETRIC_CANDIDATES` proofs whose windows come
       nearest without matching; a candidate verifies when its feature blob is the one its
       document signs and the image's keypoints map onto it under a plausible similarity
       transform (`streams.core.local_features`).

    A candidate of another tenant than the one asked for says nothing. When no candidate
    verifies, the first whose proof could not be trusted is the verdict (a forged or unreadable
    proof is worth reporting), and otherwise `NOT_FOUND`. A candidate whose proof is missing
    from the store counts as not found.

    `window_search_distance` is the radius of the window search (`WINDOW_SEARCH_DISTANCE`
    unless a measurement asks for another). With `credentials`, the verdict also reports the
    image's Content Credentials: the manifest it carries, or the one recovered through the
    proof the verdict found.
    """

    def __init__(
        self,
        *,
        exact: ExactLookup,
        perceptual: PerceptualSearch,
        proofs: ProofSource,
        keyset: KeySet,
        max_image_bytes: int,
        max_image_pixels: int,
        max_candidates: int = MAX_CANDIDATES,
        decode_budget: MemoryBudget | None = None,
        credentials: CredentialVerifier | None = None,
        windows: WindowSearch | None = None,
        features: FeatureSource | None = None,
        window_search_distance: int = WINDOW_SEARCH_DISTANCE,
    ) -> None:
        if max_candidates < 1:
            raise ValueError("max_candidates must be at least 1")
        self._exact = exact
        self._perceptual = perceptual
        self._proofs = proofs
        self._keyset = keyset
        self._max_image_bytes = max_image_bytes
        self._max_image_pixels = max_image_pixels
        self._max_candidates = max_candidates
        self._decode_budget = decode_budget
        self._credentials = credentials
        self._windows = windows
        self._features = features
        self._window_search_distance = window_search_distance

    def verify(
        self,
        image_bytes: bytes,
        *,
        tenant: str | None = None,
        max_distance: int = PERCEPTUAL_THRESHOLD,
        max_dhash_distance: int = DHASH_THRESHOLD,
    ) -> Verdict:
        """The verdict on `image_bytes`: proven by which proof, exactly or by similarity.

        Only proofs of `tenant` count when it is given. A perceptual match of the whole image
        is within `max_distance` bits in pHash and `max_dhash_distance` bits in dHash. Raises
        `ImageRejected` (or its `ImageTooLarge`) when the bytes are not an acceptable image,
        and lets the proof source's errors other than `ProofNotFound` (such as
        `TransientError`) through.
        """
        facts, luma = inspect_image_luma(
            image_bytes,
            max_bytes=self._max_image_bytes,
            max_pixels=self._max_image_pixels,
            reserve=self._decode_budget.reserve if self._decode_budget else None,
        )
        query = _Query(
            image=facts,
            luma=luma,
            tenant=tenant,
            max_distance=max_distance,
            max_dhash_distance=max_dhash_distance,
        )
        verdict = self._verdict(query)
        if self._credentials is None:
            return verdict
        found = verdict.proof_id if verdict.verified else None
        return replace(verdict, content_credentials=self._credentials.check(image_bytes, found))

    def inspect(self, image_bytes: bytes) -> ImageFacts:
        """The facts of `image_bytes` within the verifier's image limits and decode budget;
        raises `ImageRejected` (or its `ImageTooLarge`) for bytes that are no acceptable image."""
        facts, _ = inspect_image_luma(
            image_bytes,
            max_bytes=self._max_image_bytes,
            max_pixels=self._max_image_pixels,
            reserve=self._decode_budget.reserve if self._decode_budget else None,
        )
        return facts

    def lookalikes(
        self,
        image: ImageFacts,
        *,
        tenant: str | None = None,
        max_distance: int = PERCEPTUAL_THRESHOLD,
        max_dhash_distance: int = DHASH_THRESHOLD,
        limit: int = MAX_CANDIDATES,
    ) -> Iterator[Lookalike]:
        """The proofs the lookups propose for `image`, at most `limit`: the proof of its exact
        bytes, then those within the pHash and dHash distances, nearest first. Only proofs of
        `tenant` when it is given. The perceptual index is read only if more are asked for."""
        tried: set[str] = set()
        exact = self._exact(tenant, image.sha256)
        if exact is not None:
            tried.add(exact)
            yield Lookalike(exact, 0)
        matches = self._perceptual.nearest(image.phash, max_distance, tenant, dhash=image.dhash)
        for match in matches:
            if len(tried) >= limit:
                return
            proof_id = match.entry.proof_id
            if proof_id in tried or (match.dhash_distance or 0) > max_dhash_distance:
                continue
            tried.add(proof_id)
            yield Lookalike(proof_id, match.distance)

    def _verdict(self, query: _Query) -> Verdict:
        """The verdict of the first candidate that says something about the image."""
        failures: list[Verdict] = []
        tried: set[str] = set()
        candidates = self.lookalikes(
            query.image,
            tenant=query.tenant,
            max_distance=query.max_distance,
            max_dhash_distance=query.max_dhash_distance,
            limit=self._max_candidates,
        )
        verdict = self._first_verified(
            _noting(candidates, tried), query, partial(_by_hashes, query), failures
        )
        if verdict is None and self._windows is not None:
            verdict = self._verdict_by_windows(self._windows, query, tried, failures)
        if verdict is not None:
            return verdict
        if failures:
            return failures[0]
        scope = f" of tenant {query.tenant!r}" if query.tenant is not None else ""
        return Verdict(
            Finding.NOT_FOUND,
            f"no proof found: no proof{scope} of these bytes, and none of an image within "
            f"pHash distance {query.max_distance} and dHash distance {query.max_dhash_distance}"
            + ("; nor do its windows or keypoints match one" if self._windows is not None else ""),
            query.image,
        )

    def _verdict_by_windows(
        self, windows: WindowSearch, query: _Query, tried: set[str], failures: list[Verdict]
    ) -> Verdict | None:
        """Stages 2 and 3: the first proof verified by a window, else by its local features,
        among the proofs `windows` finds that stage 1 has not `tried`."""
        copy_windows = query_windows(query.luma)
        matches = windows.near_windows(copy_windows, self._window_search_distance, query.tenant)
        comparisons = {
            proof_id: comparison
            for proof_id, comparison in window_comparisons(copy_windows, matches).items()
            if proof_id not in tried
        }
        by_window = sorted(
            (comparison.nearest, proof_id)
            for proof_id, comparison in comparisons.items()
            if comparison.matching_window is not None
        )
        verdict = self._first_verified(
            (proof_id for _, proof_id in by_window[: self._max_candidates]),
            query,
            partial(_by_windows, copy_windows),
            failures,
        )
        if verdict is not None or self._features is None:
            return verdict
        unmatched = {
            proof_id: comparison
            for proof_id, comparison in comparisons.items()
            if comparison.matching_window is None
        }
        return self._first_verified(
            geometric_candidates(unmatched), query, partial(self._by_features, query), failures
        )

    def _first_verified(
        self, proof_ids: Iterable[str], query: _Query, rule: _Rule, failures: list[Verdict]
    ) -> Verdict | None:
        """The first of `proof_ids` that verifies the image by `rule`; the verdicts of proofs
        that cannot be trusted on the way are added to `failures`."""
        for proof_id in proof_ids:
            verdict = self._judge(proof_id, query, rule)
            if verdict is None:
                continue
            if verdict.verified:
                return verdict
            failures.append(verdict)
        return None

    def _judge(self, proof_id: str, query: _Query, rule: _Rule) -> Verdict | None:
        """The verdict this one proof gives, or None when it says nothing about the image.

        `rule` decides, from the signed document, whether a proof of other bytes covers the
        image; a reason it gives why the proof cannot be used is a `MALFORMED_PROOF` verdict.
        """
        try:
            envelope = self._proofs(proof_id)
        except ProofNotFound:
            return None
        result = verify_signed_proof(envelope, self._keyset)
        if result.document is None:
            return Verdict(
                _FAILURES[result.outcome],
                _failure_message(result.outcome, proof_id, result.key_id, result.reason),
                query.image,
                proof_id=proof_id,
                key_id=result.key_id,
            )
        document = result.document
        if query.tenant is not None and document.tenant != query.tenant:
            return None
        distance = hamming_distance(query.image.phash, document.image.phash)
        dhash_distance = hamming_distance(query.image.dhash, document.image.dhash)
        if document.image.sha256 == query.image.sha256:
            outcome, similarity = Finding.VERIFIED_EXACT, None
            claim = "verified: these exact bytes are"
        else:
            found = rule(document)
            if found is None:
                return None
            if isinstance(found, str):
                return Verdict(
                    Finding.MALFORMED_PROOF,
                    f"proof {proof_id} cannot be used: {found}",
                    query.image,
                    proof_id=proof_id,
                    key_id=result.key_id,
                )
            outcome, similarity = Finding.VERIFIED_PERCEPTUAL, found
            evidence = _evidence(found, distance, dhash_distance)
            claim = f"verified by similarity: not the same bytes, but {evidence}"
        return Verdict(
            outcome,
            f"{claim} the image of proof {document.proof_id} (tenant {document.tenant!r}, "
            f"issued {iso_utc(from_epoch_millis(document.issued_at))}), "
            f"signed by key {result.key_id}",
            query.image,
            proof_id=document.proof_id,
            document=document,
            distance=distance,
            dhash_distance=dhash_distance,
            key_id=result.key_id,
            similarity=similarity,
        )

    def _by_features(self, query: _Query, document: ProofDocument) -> Similarity | str | None:
        """Whether the image's keypoints map onto those of the proof's signed feature blob."""
        if document.features is None or self._features is None:
            return None
        try:
            blob = self._features(document)
        except ProofNotFound:
            return None
        if not document.features.covers(blob):
            return "its stored feature blob is not the one it signs"
        try:
            features = LocalFeatures.from_bytes(blob)
        except MalformedFeatures as error:
            return f"its feature blob cannot be read: {error}"
        geometry = match_geometry(query.features(), features)
        return Similarity("local_features", geometry=geometry) if geometry.confirms else None


_Rule = Callable[[ProofDocument], "Similarity | str | None"]
"""Whether a signed document covers the image: the similarity found, None when it does not, or
why the proof cannot be used."""


def _noting(candidates: Iterable[Lookalike], tried: set[str]) -> Iterator[str]:
    """The proof ids of `candidates`, each added to `tried` as it is taken."""
    for candidate in candidates:
        tried.add(candidate.proof_id)
        yield candidate.proof_id


def _by_hashes(query: _Query, document: ProofDocument) -> Similarity | None:
    """Whether the document's global hashes are within the query's thresholds of the image's."""
    distance = hamming_distance(query.image.phash, document.image.phash)
    dhash_distance = hamming_distance(query.image.dhash, document.image.dhash)
    if distance <= query.max_distance and dhash_distance <= query.max_dhash_distance:
        return _BY_GLOBAL_HASHES
    return None


def _by_windows(copy_windows: Sequence[WindowHash], document: ProofDocument) -> Similarity | None:
    """Whether a window the document signs is within the window thresholds of the image's."""
    if document.windows is None:
        return None
    comparison = compare_windows(copy_windows, document.windows)
    if comparison is None or comparison.matching_window is None:
        return None
    return Similarity(
        "window_hashes",
        window=str(comparison.matching_window),
        window_distances=_window_distances(copy_windows, document.windows, comparison),
    )


def _window_distances(
    copy_windows: Sequence[WindowHash],
    proof_windows: Sequence[WindowHash],
    comparison: WindowComparison,
) -> tuple[int, int]:
    """The pHash and dHash distances of the closest pair of windows that matched."""
    (matched,) = (w for w in proof_windows if w.window is comparison.matching_window)
    return min(
        ((c.phash ^ matched.phash).bit_count(), (c.dhash ^ matched.dhash).bit_count())
        for c in copy_windows
        if comparable_windows(c.window, matched.window)
    )


def _evidence(similarity: Similarity, distance: int, dhash_distance: int) -> str:
    if similarity.geometry is not None:
        geometry = similarity.geometry
        return (
            f"{geometry.inliers} of its keypoints map, at scale {geometry.scale:.2f} and rotation"
            f" {geometry.rotation_degrees:.1f}°, onto those of"
        )
    if similarity.window_distances is not None:
        phash, dhash = similarity.window_distances
        return (
            f"a window of it is at pHash distance {phash} and dHash distance {dhash} from"
            f" the {similarity.window} window of"
        )
    return f"at pHash distance {distance} and dHash distance {dhash_distance} from"


@dataclass
class _Query:
    image: ImageFacts
    luma: Image.Image
    tenant: str | None
    max_distance: int
    max_dhash_distance: int
    _features: LocalFeatures | None = None

    def features(self) -> LocalFeatures:
        """The image's keypoints, found once and only when a geometric check needs them."""
        if self._features is None:
            self._features = local_features(self.luma)
        return self._features


def _failure_message(outcome: SignatureCheck, proof_id: str, kid: str | None, reason: str) -> str:
    if outcome is SignatureCheck.BAD_SIGNATURE:
        return f"proof {proof_id} is not genuine: its signature does not match it (key {kid})"
    if outcome is SignatureCheck.UNKNOWN_KEY:
        return f"proof {proof_id} cannot be checked: its key {kid} is not in the key set"
    return f"proof {proof_id} cannot be read: {reason}"
