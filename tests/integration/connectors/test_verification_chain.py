"""Verification through the whole chain: images ingested with `credlink ingest`, proved by a
real worker, indexed into PostgreSQL by the proof index service, then their CDN copies and
unrelated images judged by the verifier `credlink verify` runs over that index (and, for a
sample, by the command itself and by the verify service).

The same measurement at the domain level is in tests/unit/streams/core/test_image_verifier.py;
this one shows that nothing on the way (event encoding, the worker's decoding policy, the stored
proofs, the index's band rows) loses what the domain promises.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from connectors.output_topics import read_dead_letters, read_proofs
from connectors.proof_index import ProofIndex, ProofIndexService
from connectors.proof_index.verifying import build_verifier, stored_proofs
from connectors.verify_service.api_keys import issue_api_key
from streams.core.image_verifier import Finding, Verifier
from streams.core.signing import load_key_set
from streams.devtools.benchmarking.cdn_copies import CopyFamily, cdn_copy
from streams.devtools.devstack.stack import LocalStack
from streams.devtools.devstack.worker import CREDLINK, credlink_env
from streams.devtools.samples import CDN_TRANSFORMS, camera_picture
from streams.settings import Settings
from tests.support.images import encode, textured
from tests.support.pipeline_scenarios import new_scenario, running_worker
from tests.support.verify_service import serving_verify

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORIGINALS = range(1000, 1100)
STRANGERS = range(2000, 2100)
TENANT = "acme"
VERIFIED_PERCEPTUAL, NOT_FOUND = 10, 20  # `credlink verify` exit codes


def ingest_directory(settings: Settings, directory: Path) -> str:
    """`credlink ingest dir` as an operator runs it: the console script, settings from env."""
    result = subprocess.run(
        [CREDLINK, "ingest", "dir", str(directory), "--tenant", TENANT, "--quiet"],
        env=credlink_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def index_proofs(settings: Settings, dsn: str, count: int) -> int:
    """Run the proof index service until it has read `count` proof events; how many it wrote."""
    service = ProofIndexService(
        settings, dsn, f"proof-index-{uuid.uuid4().hex[:8]}", poll_timeout=0.5
    )
    return service.run(stop_after=count, idle_timeout=30).written


def verifier_over(settings: Settings, index: ProofIndex) -> Verifier:
    """What `credlink verify` builds for each image, built once for hundreds of them."""
    return build_verifier(
        settings, index, load_key_set(settings.signing.keyset_file), stored_proofs(settings, index)
    )


def credlink_verify(settings: Settings, dsn: str, image: Path) -> tuple[int, dict[str, object]]:
    """`credlink verify --json` as a user runs it: the console script, settings from env."""
    result = subprocess.run(
        [CREDLINK, "verify", str(image), "--dsn", dsn, "--json"],
        env=credlink_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


def test_cdn_copies_of_ingested_images_are_verified_and_unrelated_images_are_not(
    local_stack: LocalStack, index_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = new_scenario(local_stack, tmp_path)
    settings = scenario.settings
    originals = {seed: camera_picture(seed) for seed in ORIGINALS}
    for seed, data in originals.items():
        (scenario.image_root / f"photo-{seed}.jpg").write_bytes(data)

    with running_worker(settings, tmp_path):
        summary = ingest_directory(settings, scenario.image_root)
        assert f"sent {len(ORIGINALS)}, failed 0" in summary
        proofs = read_proofs(settings, count=len(ORIGINALS), timeout=180)
    assert read_dead_letters(settings, count=1, timeout=2) == []
    proof_of = {proof.sha256: proof.proof_id for proof in proofs}
    assert len(proof_of) == len(ORIGINALS)

    assert index_proofs(settings, index_dsn, len(proofs)) == len(ORIGINALS)

    copies = tmp_path / "copies"
    copies.mkdir()
    recalled: Counter[str] = Counter()
    false_positives: list[str] = []
    with ProofIndex(index_dsn) as index:
        verifier = verifier_over(settings, index)
        for data in originals.values():
            expected = proof_of[hashlib.sha256(data).hexdigest()]
            for name, transform in CDN_TRANSFORMS.items():
                verdict = verifier.verify(transform(data))
                if verdict.outcome is Finding.VERIFIED_PERCEPTUAL and (
                    verdict.proof_id == expected
                ):
                    recalled[name] += 1
        for seed in STRANGERS:
            verdict = verifier.verify(camera_picture(seed))
            if verdict.verified:
                false_positives.append(f"{seed}: {verdict.message}")

    # The command itself gives the same verdicts: one copy of each kind, one unrelated image.
    sample = originals[ORIGINALS[0]]
    for number, transform in enumerate(CDN_TRANSFORMS.values()):
        copy = copies / f"copy-{number}"
        copy.write_bytes(transform(sample))
        code, printed = credlink_verify(settings, index_dsn, copy)
        assert (code, printed["proof_id"]) == (
            VERIFIED_PERCEPTUAL,
            proof_of[hashlib.sha256(sample).hexdigest()],
        )
    stranger = copies / "stranger.jpg"
    stranger.write_bytes(camera_picture(STRANGERS[0]))
    assert credlink_verify(settings, index_dsn, stranger)[0] == NOT_FOUND

    total = len(ORIGINALS) * len(CDN_TRANSFORMS)
    recall = sum(recalled.values()) / total
    per_transform = ", ".join(
        f"{name} {recalled[name] / len(ORIGINALS):.2f}" for name in CDN_TRANSFORMS
    )
    print(
        f"\nthrough ingest → worker → index → verify: recall {recall:.3f} of {total} copies "
        f"({per_transform}); false-positive rate {len(false_positives) / len(STRANGERS):.2f} "
        f"of {len(STRANGERS)} unrelated images"
    )
    assert recall >= 0.95
    assert false_positives == []


# Copies a CDN or a platform crops, pads, turns or overlays: each moves the whole picture's
# hashes, so only the windows a proof signs or its keypoints can find it.
GEOMETRIC_FAMILIES = (
    CopyFamily.COVER_16_9,
    CopyFamily.COVER_1_1,
    CopyFamily.COVER_4_5,
    CopyFamily.PAD_1_1,
    CopyFamily.CROP_10,
    CopyFamily.ROTATE_FILL,
    CopyFamily.CORNER_LOGO,
    CopyFamily.CROP_LOGO_JPEG,
)
TEXTURED = range(1, 13)
TEXTURED_STRANGERS = range(101, 113)


def textured_jpeg(seed: int) -> bytes:
    return encode(textured(960, 640, seed=seed), "JPEG", quality=92)


def test_cropped_padded_and_overlaid_copies_are_verified_through_the_chain(
    local_stack: LocalStack, index_dsn: str, tmp_path: Path
) -> None:
    """Proofs of format 2 from a real worker, their windows in PostgreSQL, their feature blobs
    in the proof store: the verifier, the command and the verify service find cropped, padded,
    rotated and overlaid copies, and nothing for unrelated pictures."""
    scenario = new_scenario(local_stack, tmp_path)
    api_keys = tmp_path / "api-keys.json"
    settings = scenario.settings.updated(verify={"api_keys_file": api_keys})
    pictures = {seed: textured(960, 640, seed=seed) for seed in TEXTURED}
    for seed in TEXTURED:
        (scenario.image_root / f"textured-{seed}.jpg").write_bytes(textured_jpeg(seed))

    with running_worker(settings, tmp_path):
        assert f"sent {len(TEXTURED)}, failed 0" in ingest_directory(settings, scenario.image_root)
        proofs = read_proofs(settings, count=len(TEXTURED), timeout=180)
    assert {proof.schema_version for proof in proofs} == {2}
    proof_of = {proof.sha256: proof.proof_id for proof in proofs}
    assert index_proofs(settings, index_dsn, len(proofs)) == len(TEXTURED)

    found: dict[CopyFamily, list[bool]] = {family: [] for family in GEOMETRIC_FAMILIES}
    methods: Counter[str] = Counter()
    with ProofIndex(index_dsn) as index:
        verifier = verifier_over(settings, index)
        for seed, picture in pictures.items():
            expected = proof_of[hashlib.sha256(textured_jpeg(seed)).hexdigest()]
            for family in GEOMETRIC_FAMILIES:
                verdict = verifier.verify(cdn_copy(picture, family, seed))
                found[family].append(verdict.proof_id == expected and verdict.verified)
                if verdict.similarity is not None:
                    methods[verdict.similarity.method] += 1
        strangers = [verifier.verify(textured_jpeg(seed)) for seed in TEXTURED_STRANGERS]

    recall = {family: sum(hits) / len(hits) for family, hits in found.items()}
    print(f"\nthrough the chain, by family: {recall}; verified by {dict(methods)}")
    assert [verdict.message for verdict in strangers if verdict.verified] == []
    assert sum(sum(hits) for hits in found.values()) >= 0.95 * len(TEXTURED) * len(
        GEOMETRIC_FAMILIES
    )
    assert methods["window_hashes"] > 0
    assert methods["local_features"] > 0

    # The command and the service answer as the verifier did, for a copy of every family.
    seed = TEXTURED[0]
    expected = proof_of[hashlib.sha256(textured_jpeg(seed)).hexdigest()]
    token = issue_api_key(api_keys, TENANT).token
    env = {**credlink_env(settings), "CREDLINK_INDEX_DSN": index_dsn}
    with serving_verify(env, tmp_path / "serve-verify.log") as client:
        for family in GEOMETRIC_FAMILIES:
            if not found[family][0]:
                continue
            copy = tmp_path / f"copy-{family}.jpg"
            copy.write_bytes(cdn_copy(pictures[seed], family, seed))
            code, printed = credlink_verify(settings, index_dsn, copy)
            answer = client.post(
                "/v1/verify",
                files={"image": (copy.name, copy.read_bytes())},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
            assert (code, printed["proof_id"]) == (VERIFIED_PERCEPTUAL, expected)
            assert answer.json()["proof_id"] == expected
            assert answer.json()["similarity"] == printed["similarity"]
