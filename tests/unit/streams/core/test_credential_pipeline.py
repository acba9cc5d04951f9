"""Specification of `streams.core.credential_pipeline`: a proof becomes a stored C2PA manifest,
once, and only for the bytes that were proven."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from streams.core.codecs import ImageReference, ProofCreated
from streams.core.content_credentials import (
    CredentialIssuer,
    iscc_fingerprint,
    manifest_id_for,
    read_credential,
)
from streams.core.credential_pipeline import CredentialPipeline, ImageChanged, ProofUnavailable
from streams.core.errors import UnsupportedMediaType
from streams.core.fetching import FetchPolicy, ImageFetcher
from streams.core.observing import Stage
from streams.core.stores.base import manifest_key, signed_image_key
from tests.support.credentials import development_pki
from tests.support.images import encode, photo
from tests.support.pipeline_fakes import (
    LIMITS,
    RETENTION_DAYS,
    SUBMITTED_AT_MS,
    InlineExecutor,
    MemoryStore,
    make_pipeline,
)

JPEG = encode(photo(96, 64, seed=7), "JPEG", quality=90)
PNG = encode(photo(80, 60, seed=8), "PNG")


@dataclasses.dataclass
class Proven:
    """A proof of an image file, proven into `store`, and the pipeline that credentials it."""

    store: MemoryStore
    image_path: Path
    proof: ProofCreated
    trust_anchor: bytes
    fetcher: ImageFetcher

    def pipeline(self, *, embed: bool = False) -> CredentialPipeline:
        return CredentialPipeline(
            fetcher=self.fetcher,
            issuer=ISSUER,
            store=self.store,
            limits=LIMITS,
            retention_days=RETENTION_DAYS,
            embed=embed,
            hashing=InlineExecutor(),
        )


PKI = development_pki()
ISSUER = CredentialIssuer(PKI.signing_key, PKI.chain_pem)


def proven(tmp_path: Path, image: bytes, name: str) -> Iterator[Proven]:
    store = MemoryStore()
    path = tmp_path / name
    path.write_bytes(image)
    with ImageFetcher(FetchPolicy(file_roots=(tmp_path,))) as fetcher:
        event = ImageReference(
            event_id=f"evt-{name}",
            tenant="acme",
            uri=path.as_uri(),
            submitted_at=SUBMITTED_AT_MS,
        )
        proof = make_pipeline(store, fetcher).prove(event)
        yield Proven(store, path, proof, PKI.ca_pem, fetcher)


@pytest.fixture
def jpeg(tmp_path: Path) -> Iterator[Proven]:
    yield from proven(tmp_path, JPEG, "photo.jpg")


@pytest.fixture
def png(tmp_path: Path) -> Iterator[Proven]:
    yield from proven(tmp_path, PNG, "photo.png")


@pytest.fixture
def gif(tmp_path: Path) -> Iterator[Proven]:
    yield from proven(tmp_path, encode(photo(40, 30, seed=5), "GIF"), "photo.gif")


def test_a_proof_gets_a_manifest_stored_under_its_own_date_and_id(jpeg: Proven) -> None:
    issued = jpeg.pipeline().issue(jpeg.proof)

    key = manifest_key(jpeg.proof.proof_id, jpeg.proof.issued_at)
    assert issued.manifest_store.key == key
    assert issued.manifest_id == manifest_id_for(jpeg.proof.proof_id)
    assert (issued.proof_id, issued.event_id, issued.tenant) == (
        jpeg.proof.proof_id,
        jpeg.proof.event_id,
        "acme",
    )
    assert (issued.media_type, issued.image_sha256) == ("image/jpeg", jpeg.proof.sha256)
    assert issued.manifest_bytes == len(jpeg.store.objects[key])
    assert issued.signed_image is None
    assert issued.fingerprint == iscc_fingerprint(Image.open(io.BytesIO(JPEG)))
    assert jpeg.store.content_types[key] == "application/c2pa"
    metadata = jpeg.store.metadata[key]
    assert metadata["manifest-id"] == issued.manifest_id
    assert metadata["image-sha256"] == jpeg.proof.sha256
    assert metadata["expires-at"].startswith("2024-07-10T")  # the proof's date + 30 days


def test_the_stored_manifest_validates_the_proven_bytes_and_links_the_proof(
    jpeg: Proven,
) -> None:
    issued = jpeg.pipeline().issue(jpeg.proof)

    reading = read_credential(
        JPEG,
        manifest_store=jpeg.store.objects[issued.manifest_store.key],
        trust_anchors_pem=jpeg.trust_anchor,
    )
    assert reading.validation_state == "Trusted"
    assert reading.manifest_id == issued.manifest_id
    assert reading.link is not None
    assert reading.link.proof_id == jpeg.proof.proof_id


def test_with_embedding_the_signed_image_is_stored_with_its_media_type(png: Proven) -> None:
    issued = png.pipeline(embed=True).issue(png.proof)

    key = signed_image_key(png.proof.proof_id, png.proof.issued_at, "png")
    assert issued.signed_image is not None
    assert issued.signed_image.key == key
    assert png.store.content_types[key] == "image/png"
    reading = read_credential(png.store.objects[key], trust_anchors_pem=png.trust_anchor)
    assert reading.validation_state == "Trusted"


def test_with_embedding_the_manifest_store_validates_the_signed_image(png: Proven) -> None:
    issued = png.pipeline(embed=True).issue(png.proof)

    assert issued.signed_image is not None
    reading = read_credential(
        png.store.objects[issued.signed_image.key],
        manifest_store=png.store.objects[issued.manifest_store.key],
    )
    assert reading.validation_state == "Valid"


def test_a_replayed_proof_announces_the_stored_credential_without_signing_again(
    png: Proven,
) -> None:
    first = png.pipeline(embed=True).issue(png.proof)
    stored = dict(png.store.objects)
    png.image_path.write_bytes(b"gone")  # nothing is fetched for a credential already issued

    again = png.pipeline(embed=True).issue(png.proof)

    assert again == first
    assert png.store.objects == stored


def test_an_image_changed_after_proving_is_refused_at_the_hash_stage(jpeg: Proven) -> None:
    jpeg.image_path.write_bytes(encode(photo(96, 64, seed=99), "JPEG", quality=90))

    with pytest.raises(ImageChanged, match="changed after it was proven") as raised:
        jpeg.pipeline().issue(jpeg.proof)

    assert raised.value.stage == Stage.HASH
    assert not any(key.startswith("manifests/") for key in jpeg.store.objects)


def test_an_image_of_a_type_without_credentials_is_refused_before_signing(gif: Proven) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        gif.pipeline().issue(gif.proof)

    assert raised.value.stage == Stage.HASH
    assert not any(key.startswith(("manifests/", "signed/")) for key in gif.store.objects)


def test_a_proof_event_whose_proof_document_is_missing_is_refused(jpeg: Proven) -> None:
    del jpeg.store.objects[jpeg.proof.location.key]

    with pytest.raises(ProofUnavailable, match="no proof document"):
        jpeg.pipeline().issue(jpeg.proof)
