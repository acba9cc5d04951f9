"""Specification of `streams.core.image_verifier`: the verdict on an image, exact or perceptual."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from streams.core.content_credentials import CredentialIssuer, ProofLink
from streams.core.credential_verifier import CredentialVerifier
from streams.core.errors import ImageRejected, ImageTooLarge
from streams.core.image_fingerprint import iscc_fingerprint
from streams.core.image_verifier import (
    MAX_CANDIDATES,
    PERCEPTUAL_THRESHOLD,
    Finding,
    Lookalike,
    Similarity,
    StoredProofs,
    Verdict,
    Verifier,
)
from streams.core.imaging import ImageFacts, hamming_distance, inspect_image, inspect_image_luma
from streams.core.local_features import MIN_INLIERS
from streams.core.memory_budget import MemoryBudget
from streams.core.perceptual_index import IndexEntry, PerceptualIndex
from streams.core.proof_document import ProofDocument, derive_proof_id, sign_proof, storage_key
from streams.core.signing import KeySet, Signer
from streams.core.stores.base import features_key
from streams.core.stores.filesystem import FilesystemProofStore
from streams.core.window_hashes import query_windows
from streams.core.window_index import WindowIndex
from streams.devtools.benchmarking.cdn_copies import CopyFamily
from streams.devtools.benchmarking.cdn_copies import cdn_copy as cdn_variant
from streams.devtools.samples import (
    CDN_TRANSFORMS,
    camera_picture,
    cdn_copy,
    decoded,
    stripped,
)
from tests.support.credentials import development_pki
from tests.support.images import encode, textured
from tests.support.pipeline_fakes import RecordingBudget
from tests.support.proving import prove_image

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 4_000_000
SUBMITTED_AT_MS = 1_718_000_000_000
KEY_PREFIX = "proofs/"

SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
OUTSIDER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64))))
KEYSET = KeySet([SIGNER.public_key])

# A picture whose CDN copy differs from it in both pHash and dHash.
SEED_OF_A_DRIFTING_COPY = 25


def facts(data: bytes) -> ImageFacts:
    return inspect_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)


@dataclass
class Proofs:
    """The proof side of a deployment: a real store, and the indexes a consumer would build."""

    store: FilesystemProofStore
    index: PerceptualIndex = field(default_factory=PerceptualIndex)
    windows: WindowIndex = field(default_factory=WindowIndex)
    by_sha256: dict[tuple[str | None, str], str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def prove(
        self, image: bytes, *, event_id: str, tenant: str = "acme", signer: Signer = SIGNER
    ) -> ProofDocument:
        proven = prove_image(
            self.store,
            image,
            event_id=event_id,
            tenant=tenant,
            signer=signer,
            submitted_at_ms=SUBMITTED_AT_MS,
            key_prefix=KEY_PREFIX,
        )
        self._index(proven.document, proven.stored.key)
        return proven.document

    def file(self, document: ProofDocument, body: bytes) -> None:
        """Store and index a proof made by hand (of another format version, say)."""
        key = storage_key(KEY_PREFIX, document.proof_id, document.issued_at)
        self.store.put(key, body, {})
        self._index(document, key)

    def _index(self, document: ProofDocument, key: str) -> None:
        self.keys[document.proof_id] = key
        tenant = document.tenant
        if document.windows is not None:
            self.windows.add(document.proof_id, tenant, document.windows)
        self.by_sha256.setdefault((tenant, document.image.sha256), document.proof_id)
        self.by_sha256.setdefault((None, document.image.sha256), document.proof_id)
        self.index.add(
            IndexEntry(
                proof_id=document.proof_id,
                tenant=tenant,
                phash=document.image.phash,
                dhash=document.image.dhash,
            )
        )

    def replace_stored(self, proof_id: str, body: bytes) -> None:
        self.store.put(self.keys[proof_id], body, {})

    def tamper(self, proof_id: str) -> None:
        """Change what the stored proof says, keeping its signature."""
        envelope = json.loads(self.store.get(self.keys[proof_id]))
        envelope["proof"]["source_uri"] = "https://attacker.example/mine.jpg"
        self.replace_stored(proof_id, json.dumps(envelope).encode())

    def exact(self, tenant: str | None, sha256: str) -> str | None:
        return self.by_sha256.get((tenant, sha256))

    def verifier(
        self,
        keyset: KeySet = KEYSET,
        decode_budget: MemoryBudget | None = None,
        credentials: CredentialVerifier | None = None,
        *,
        by_windows: bool = True,
    ) -> Verifier:
        stored = StoredProofs(self.store, self.keys.get)
        return Verifier(
            exact=self.exact,
            perceptual=self.index,
            proofs=stored,
            keyset=keyset,
            max_image_bytes=MAX_BYTES,
            max_image_pixels=MAX_PIXELS,
            decode_budget=decode_budget,
            credentials=credentials,
            windows=self.windows if by_windows else None,
            features=stored.features if by_windows else None,
        )


@pytest.fixture
def proofs(tmp_path: Path) -> Proofs:
    return Proofs(FilesystemProofStore(tmp_path / "store"))


def assert_one_line(verdict: Verdict) -> None:
    assert verdict.message
    assert "\n" not in verdict.message


class TestVerdicts:
    def test_the_image_to_verify_is_decoded_inside_a_reservation_of_the_decode_budget(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(1)
        proofs.prove(original, event_id="e-1")
        budget = RecordingBudget()

        verdict = proofs.verifier(decode_budget=budget).verify(original)

        assert verdict.verified
        assert len(budget.reserved) == 1
        assert budget.reserved[0] > 0
        assert budget.held == 0

    def test_the_proven_bytes_themselves_are_verified_exactly(self, proofs: Proofs) -> None:
        original = camera_picture(1)
        document = proofs.prove(original, event_id="e-1")

        verdict = proofs.verifier().verify(original)

        assert verdict.outcome is Finding.VERIFIED_EXACT
        assert verdict.exit_code == 0
        assert verdict.verified
        assert verdict.document == document
        assert verdict.proof_id == document.proof_id
        assert (verdict.distance, verdict.dhash_distance) == (0, 0)
        assert verdict.key_id == SIGNER.key_id
        assert verdict.image.sha256 == document.image.sha256
        assert verdict.message.startswith("verified: these exact bytes")
        assert_one_line(verdict)

    def test_a_resized_recompressed_stripped_copy_is_verified_perceptually_with_its_distance(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(2)
        document = proofs.prove(original, event_id="e-2")
        copy = cdn_copy(original)

        verdict = proofs.verifier().verify(copy)

        assert verdict.outcome is Finding.VERIFIED_PERCEPTUAL
        assert verdict.exit_code == 10
        assert verdict.verified
        assert verdict.proof_id == document.proof_id
        assert verdict.distance == hamming_distance(document.image.phash, facts(copy).phash)
        assert verdict.distance is not None
        assert verdict.distance <= PERCEPTUAL_THRESHOLD
        assert verdict.dhash_distance == hamming_distance(document.image.dhash, facts(copy).dhash)
        assert f"pHash distance {verdict.distance} " in verdict.message
        assert_one_line(verdict)

    def test_an_unrelated_image_is_not_found(self, proofs: Proofs) -> None:
        proofs.prove(camera_picture(3), event_id="e-3")

        verdict = proofs.verifier().verify(camera_picture(4))

        assert verdict.outcome is Finding.NOT_FOUND
        assert verdict.exit_code == 20
        assert not verdict.verified
        assert (verdict.proof_id, verdict.document, verdict.distance) == (None, None, None)
        assert f"within pHash distance {PERCEPTUAL_THRESHOLD} " in verdict.message
        assert_one_line(verdict)

    def test_a_tampered_proof_has_an_invalid_signature(self, proofs: Proofs) -> None:
        original = camera_picture(5)
        document = proofs.prove(original, event_id="e-5")
        proofs.tamper(document.proof_id)

        for image in (original, cdn_copy(original)):
            verdict = proofs.verifier().verify(image)

            assert verdict.outcome is Finding.SIGNATURE_INVALID
            assert verdict.exit_code == 30
            assert verdict.proof_id == document.proof_id
            assert verdict.document is None
            assert "not genuine" in verdict.message
            assert_one_line(verdict)

    def test_a_proof_signed_by_a_key_outside_the_key_set_is_unknown_key(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(6)
        document = proofs.prove(original, event_id="e-6", signer=OUTSIDER)

        verdict = proofs.verifier().verify(original)

        assert verdict.outcome is Finding.UNKNOWN_KEY
        assert verdict.exit_code == 31
        assert verdict.proof_id == document.proof_id
        assert verdict.key_id == OUTSIDER.key_id
        assert OUTSIDER.key_id in verdict.message
        assert_one_line(verdict)

    @pytest.mark.parametrize(
        "body",
        [b"not json at all", b'{"proof": {}, "signature": {}}', b"\xff\xfe"],
        ids=["not-json", "not-an-envelope", "not-utf8"],
    )
    def test_a_stored_proof_that_cannot_be_parsed_is_malformed(
        self, proofs: Proofs, body: bytes
    ) -> None:
        original = camera_picture(7)
        document = proofs.prove(original, event_id="e-7")
        proofs.replace_stored(document.proof_id, body)

        verdict = proofs.verifier().verify(original)

        assert verdict.outcome is Finding.MALFORMED_PROOF
        assert verdict.exit_code == 32
        assert verdict.proof_id == document.proof_id
        assert_one_line(verdict)

    def test_every_outcome_has_its_own_exit_code_and_only_verified_ones_are_below_20(
        self,
    ) -> None:
        codes = {outcome: outcome.exit_code for outcome in Finding}

        assert len(set(codes.values())) == len(Finding)
        assert {o for o, code in codes.items() if code < 20} == {
            Finding.VERIFIED_EXACT,
            Finding.VERIFIED_PERCEPTUAL,
        }
        assert {o for o in Finding if o.verified} == {
            Finding.VERIFIED_EXACT,
            Finding.VERIFIED_PERCEPTUAL,
        }
        assert not {1, 2} & set(codes.values())

    def test_a_copy_with_its_metadata_stripped_is_a_perceptual_match_at_distance_0(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(19)
        proofs.prove(original, event_id="e-19")
        copy = stripped(original)

        verdict = proofs.verifier().verify(copy)

        assert "exif" in decoded(original).info
        assert "exif" not in decoded(copy).info
        assert decoded(copy).tobytes() == decoded(original).tobytes()
        assert verdict.outcome is Finding.VERIFIED_PERCEPTUAL
        assert (verdict.distance, verdict.dhash_distance) == (0, 0)


class TestTheSignedDocumentIsTheAuthority:
    def test_an_index_entry_that_misstates_the_phash_does_not_make_a_match(
        self, proofs: Proofs
    ) -> None:
        query = camera_picture(8)
        other = proofs.prove(camera_picture(9), event_id="e-9")
        proofs.index.add(
            IndexEntry(other.proof_id, "acme", phash=facts(query).phash, dhash=facts(query).dhash)
        )

        verdict = proofs.verifier().verify(query)

        assert verdict.outcome is Finding.NOT_FOUND

    def test_an_exact_lookup_that_names_the_wrong_proof_does_not_make_a_match(
        self, proofs: Proofs
    ) -> None:
        query = camera_picture(10)
        other = proofs.prove(camera_picture(11), event_id="e-11")
        proofs.by_sha256[(None, facts(query).sha256)] = other.proof_id

        verdict = proofs.verifier().verify(query)

        assert verdict.outcome is Finding.NOT_FOUND

    def test_a_forged_proof_does_not_hide_a_genuine_one_of_the_same_image(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(12)
        forged = proofs.prove(original, event_id="e-12a")
        genuine = proofs.prove(original, event_id="e-12b")
        proofs.tamper(forged.proof_id)

        verdict = proofs.verifier().verify(original)

        assert proofs.exact(None, facts(original).sha256) == forged.proof_id
        assert verdict.outcome is Finding.VERIFIED_EXACT
        assert verdict.proof_id == genuine.proof_id

    def test_a_proof_missing_from_the_store_counts_as_not_found(self, proofs: Proofs) -> None:
        original = camera_picture(13)
        document = proofs.prove(original, event_id="e-13")
        del proofs.keys[document.proof_id]

        verdict = proofs.verifier().verify(original)

        assert verdict.outcome is Finding.NOT_FOUND


class TestTenants:
    def test_only_the_requested_tenants_proofs_count(self, proofs: Proofs) -> None:
        original = camera_picture(14)
        document = proofs.prove(original, event_id="e-14", tenant="globex")
        verifier = proofs.verifier()

        assert verifier.verify(original, tenant="acme").outcome is Finding.NOT_FOUND
        assert verifier.verify(cdn_copy(original), tenant="acme").outcome is Finding.NOT_FOUND
        assert verifier.verify(original, tenant="globex").proof_id == document.proof_id
        assert verifier.verify(original).proof_id == document.proof_id

    def test_a_proof_of_another_tenant_found_by_a_lookup_is_not_a_match(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(15)
        document = proofs.prove(original, event_id="e-15", tenant="globex")
        proofs.by_sha256[("acme", document.image.sha256)] = document.proof_id

        verdict = proofs.verifier().verify(original, tenant="acme")

        assert verdict.outcome is Finding.NOT_FOUND


class TestTheImageVerified:
    def test_bytes_that_are_not_an_image_are_rejected(self, proofs: Proofs) -> None:
        with pytest.raises(ImageRejected):
            proofs.verifier().verify(b"%PDF-1.7 definitely not a picture")

    def test_an_image_above_the_byte_limit_is_rejected_before_decoding(
        self, proofs: Proofs
    ) -> None:
        with pytest.raises(ImageTooLarge):
            proofs.verifier().verify(b"\xff\xd8" + bytes(MAX_BYTES))

    def test_a_smaller_threshold_turns_a_match_of_the_global_hashes_away(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(SEED_OF_A_DRIFTING_COPY)
        proofs.prove(original, event_id="e-16")
        copy = cdn_copy(original)
        verifier = proofs.verifier(by_windows=False)
        verified = verifier.verify(copy)
        assert verified.distance is not None
        assert verified.dhash_distance is not None

        assert verifier.verify(copy, max_distance=verified.distance - 1).outcome is (
            Finding.NOT_FOUND
        )
        assert verifier.verify(copy, max_dhash_distance=verified.dhash_distance - 1).outcome is (
            Finding.NOT_FOUND
        )


class TestCandidates:
    def test_at_most_max_candidates_proofs_are_fetched_for_one_image(self, proofs: Proofs) -> None:
        original = camera_picture(17)
        for number in range(MAX_CANDIDATES + 4):
            proofs.tamper(proofs.prove(original, event_id=f"e-17-{number}").proof_id)
        fetched: list[str] = []
        source = StoredProofs(proofs.store, proofs.keys.get)

        def counting_source(proof_id: str) -> bytes:
            fetched.append(proof_id)
            return source(proof_id)

        verifier = Verifier(
            exact=proofs.exact,
            perceptual=proofs.index,
            proofs=counting_source,
            keyset=KEYSET,
            max_image_bytes=MAX_BYTES,
            max_image_pixels=MAX_PIXELS,
        )

        verdict = verifier.verify(cdn_copy(original))

        assert verdict.outcome is Finding.SIGNATURE_INVALID
        assert len(fetched) == len(set(fetched)) == MAX_CANDIDATES

    def test_an_exact_match_does_not_search_the_index(self, proofs: Proofs) -> None:
        original = camera_picture(18)
        document = proofs.prove(original, event_id="e-18")
        proofs.index = PerceptualIndex(UnreadableBuckets())

        verdict = proofs.verifier().verify(original)

        assert verdict.proof_id == document.proof_id


class TestLookalikes:
    def test_the_proof_of_the_exact_bytes_comes_first_then_the_nearest_within_the_thresholds(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(19)
        copy = cdn_copy(original)
        of_copy = proofs.prove(copy, event_id="e-19-copy")
        of_original = proofs.prove(original, event_id="e-19")
        proofs.prove(camera_picture(20), event_id="e-20")
        verifier = proofs.verifier()

        found = list(verifier.lookalikes(verifier.inspect(copy)))

        assert found == [
            Lookalike(of_copy.proof_id, 0),
            Lookalike(
                of_original.proof_id, hamming_distance(of_original.image.phash, facts(copy).phash)
            ),
        ]

    def test_no_more_than_the_limit_are_proposed(self, proofs: Proofs) -> None:
        original = camera_picture(21)
        for number in range(5):
            proofs.prove(original, event_id=f"e-21-{number}")
        verifier = proofs.verifier()

        found = list(verifier.lookalikes(verifier.inspect(cdn_copy(original)), limit=3))

        assert len(found) == len({lookalike.proof_id for lookalike in found}) == 3

    def test_only_the_given_tenants_proofs_are_proposed(self, proofs: Proofs) -> None:
        original = camera_picture(22)
        proofs.prove(original, event_id="e-22", tenant="globex")
        verifier = proofs.verifier()

        assert list(verifier.lookalikes(verifier.inspect(original), tenant="acme")) == []


class TestContentCredentials:
    def test_without_a_credential_check_the_verdict_reports_none(self, proofs: Proofs) -> None:
        original = camera_picture(23)
        proofs.prove(original, event_id="e-23")

        verdict = proofs.verifier().verify(original)

        assert verdict.content_credentials is None
        assert verdict.to_json()["content_credentials"] is None

    def test_a_copy_verified_by_similarity_reports_the_manifest_recovered_through_its_proof(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(24)
        document = proofs.prove(original, event_id="e-24")
        pki = development_pki()
        credential = CredentialIssuer(pki.signing_key, pki.chain_pem).issue(
            original,
            ProofLink(document.proof_id, document.tenant, document.event_id),
            embed=False,
            fingerprint=iscc_fingerprint(decoded(original)),
        )
        manifests = {document.proof_id: credential.manifest_store}
        verifier = proofs.verifier(credentials=CredentialVerifier(manifests.get))

        verdict = verifier.verify(cdn_copy(original))

        assert verdict.outcome is Finding.VERIFIED_PERCEPTUAL
        reported = verdict.to_json()["content_credentials"]
        assert reported["manifest_id"] == credential.manifest_id
        assert reported["recovered"] is True
        assert reported["proof_id"] == document.proof_id

    def test_no_manifest_is_recovered_through_a_proof_that_cannot_be_trusted(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(25)
        document = proofs.prove(original, event_id="e-25")
        proofs.tamper(document.proof_id)
        asked: list[str] = []

        def manifest_of_proof(proof_id: str) -> bytes | None:
            asked.append(proof_id)
            return None

        verifier = proofs.verifier(credentials=CredentialVerifier(manifest_of_proof))

        verdict = verifier.verify(original)

        assert verdict.outcome is Finding.SIGNATURE_INVALID
        assert verdict.content_credentials is None
        assert asked == []


class UnreadableBuckets(dict[str, list[str]]):
    def get(self, key: str, default: object = None) -> list[str]:
        raise AssertionError(f"bucket {key} was read")


# A picture whose combined copy (5 % crop, corner logo, JPEG q50) matches no window of it but
# maps onto its keypoints.
SEED_OF_A_COPY_ONLY_KEYPOINTS_FIND = 1


def textured_original(seed: int) -> tuple[Image.Image, bytes]:
    picture = textured(1200, 800, seed=seed)
    return picture, encode(picture, "JPEG", quality=92)


def prove_a_copy_only_keypoints_find(proofs: Proofs) -> tuple[ProofDocument, bytes]:
    """A proof, and a copy of its picture that matches none of its windows."""
    seed = SEED_OF_A_COPY_ONLY_KEYPOINTS_FIND
    picture, upload = textured_original(seed)
    document = proofs.prove(upload, event_id="e-logo")
    return document, cdn_variant(picture, CopyFamily.CROP_LOGO_JPEG, seed)


class TestCopiesACdnCroppedPaddedOrOverlaid:
    def test_a_cover_crop_is_verified_by_a_window_the_proof_signs(self, proofs: Proofs) -> None:
        picture, upload = textured_original(2)
        document = proofs.prove(upload, event_id="e-cover")
        copy = cdn_variant(picture, CopyFamily.COVER_1_1, 2)

        verdict = proofs.verifier().verify(copy)

        assert proofs.verifier(by_windows=False).verify(copy).outcome is Finding.NOT_FOUND
        assert verdict.outcome is Finding.VERIFIED_PERCEPTUAL
        assert verdict.proof_id == document.proof_id
        assert verdict.similarity is not None
        assert verdict.similarity.method == "window_hashes"
        assert verdict.similarity.window == "1:1"
        assert f"from the 1:1 window of the image of proof {document.proof_id}" in verdict.message
        assert verdict.to_json()["similarity"]["window"] == "1:1"
        assert_one_line(verdict)

    def test_a_copy_whose_every_window_moved_is_verified_by_its_keypoints(
        self, proofs: Proofs
    ) -> None:
        document, copy = prove_a_copy_only_keypoints_find(proofs)

        verdict = proofs.verifier().verify(copy)

        assert verdict.outcome is Finding.VERIFIED_PERCEPTUAL
        assert verdict.proof_id == document.proof_id
        assert verdict.similarity is not None
        assert verdict.similarity.method == "local_features"
        assert verdict.similarity.geometry is not None
        assert verdict.similarity.geometry.inliers >= MIN_INLIERS
        assert "of its keypoints map, at scale " in verdict.message
        assert f"onto those of the image of proof {document.proof_id}" in verdict.message
        assert_one_line(verdict)

    def test_a_feature_blob_other_than_the_one_signed_is_reported_not_trusted(
        self, proofs: Proofs
    ) -> None:
        document, copy = prove_a_copy_only_keypoints_find(proofs)
        key = features_key(document.proof_id, document.issued_at)
        proofs.store.put(key, proofs.store.get(key)[:-32] + bytes(32), {})

        verdict = proofs.verifier().verify(copy)

        assert verdict.outcome is Finding.MALFORMED_PROOF
        assert verdict.proof_id == document.proof_id
        assert "feature blob is not the one it signs" in verdict.message

    def test_an_index_that_misstates_a_proofs_windows_cannot_make_it_vouch_for_a_copy(
        self, proofs: Proofs
    ) -> None:
        picture, _ = textured_original(2)
        stranger = proofs.prove(textured_original(3)[1], event_id="e-stranger")
        copy = cdn_variant(picture, CopyFamily.COVER_1_1, 2)
        proofs.windows.add(stranger.proof_id, "acme", query_windows(hashing_luma_of(copy)))

        assert proofs.verifier().verify(copy).outcome is Finding.NOT_FOUND

    def test_a_version_1_proof_still_verifies_by_its_bytes_and_its_global_hashes(
        self, proofs: Proofs
    ) -> None:
        original = camera_picture(SEED_OF_A_DRIFTING_COPY)
        document = ProofDocument(
            proof_id=derive_proof_id(tenant="acme", event_id="e-v1", sha256=facts(original).sha256),
            event_id="e-v1",
            tenant="acme",
            issued_at=SUBMITTED_AT_MS,
            source_uri="https://images.example.com/e-v1.jpg",
            image=facts(original),
            version=1,
        )
        proofs.file(document, sign_proof(document, SIGNER).body)
        verifier = proofs.verifier()

        assert verifier.verify(original).outcome is Finding.VERIFIED_EXACT
        assert verifier.verify(cdn_copy(original)).outcome is Finding.VERIFIED_PERCEPTUAL
        assert verifier.verify(cdn_copy(original)).similarity == Similarity("global_hashes")


def hashing_luma_of(data: bytes) -> Image.Image:
    return inspect_image_luma(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)[1]


def test_cdn_copies_of_a_hundred_images_are_verified_and_a_hundred_strangers_are_not(
    proofs: Proofs,
) -> None:
    originals = {seed: camera_picture(seed) for seed in range(1000, 1100)}
    proof_ids = {
        seed: proofs.prove(data, event_id=f"e-{seed}").proof_id for seed, data in originals.items()
    }
    verifier = proofs.verifier()

    recalled: dict[str, int] = dict.fromkeys(CDN_TRANSFORMS, 0)
    for seed, data in originals.items():
        for name, transform in CDN_TRANSFORMS.items():
            verdict = verifier.verify(transform(data))
            if verdict.outcome is Finding.VERIFIED_PERCEPTUAL and (
                verdict.proof_id == proof_ids[seed]
            ):
                recalled[name] += 1
    false_positives = [
        seed for seed in range(2000, 2100) if verifier.verify(camera_picture(seed)).verified
    ]

    copies = len(originals) * len(CDN_TRANSFORMS)
    recall = sum(recalled.values()) / copies
    per_transform = ", ".join(
        f"{name} {count / len(originals):.2f}" for name, count in recalled.items()
    )
    print(
        f"\nrecall {recall:.3f} of {copies} copies ({per_transform}); "
        f"false-positive rate {len(false_positives) / 100:.2f} of 100 unrelated images"
    )
    assert recall >= 0.95
    assert false_positives == []
