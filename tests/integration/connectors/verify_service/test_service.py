"""The verify service: a real `credlink serve-verify` process on loopback, spoken to over HTTP,
verifying against real signed proofs in a real PostgreSQL proof index."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors.verify_service.api_keys import issue_api_key
from streams.core.image_verifier import PERCEPTUAL_THRESHOLD
from streams.core.signing import KeySet
from streams.devtools.samples import cdn_copy
from tests.integration.connectors.verify_service.conftest import (
    MAX_REQUEST_BYTES,
    SIGNER,
    Deployment,
)
from tests.support.verify_service import serving_verify

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    log_path = tmp_path_factory.mktemp("service") / "serve-verify.log"
    with serving_verify(deployment.env(), log_path) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(
    client: httpx.Client, deployment: Deployment, image: bytes, tenant: str = "acme"
) -> httpx.Response:
    return client.post(
        "/v1/verify",
        files={"image": ("image.jpg", image)},
        headers=bearer(deployment.tokens[tenant]),
    )


class TestVerify:
    def test_the_proven_bytes_sent_as_the_body_are_verified_exactly(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        response = service.post(
            "/v1/verify",
            content=deployment.image("acme").read_bytes(),
            headers={**bearer(deployment.tokens["acme"]), "Content-Type": "image/jpeg"},
        )

        assert response.status_code == 200, response.text
        verdict = response.json()
        assert verdict["outcome"] == "verified_exact"
        assert verdict["exit_code"] == 0
        assert verdict["proof_id"] == deployment.documents["acme"].proof_id
        assert verdict["proof"] == deployment.documents["acme"].to_dict()

    def test_a_cdn_copy_uploaded_as_a_form_is_verified_by_similarity(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        copy = cdn_copy(deployment.image("acme").read_bytes())

        response = upload(service, deployment, copy)

        assert response.status_code == 200, response.text
        verdict = response.json()
        assert verdict["outcome"] == "verified_perceptual"
        assert verdict["proof_id"] == deployment.documents["acme"].proof_id
        assert 0 <= verdict["distance"] <= PERCEPTUAL_THRESHOLD
        assert f"pHash distance {verdict['distance']} " in verdict["message"]

    def test_an_unrelated_image_is_not_found(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        response = upload(service, deployment, deployment.image("unrelated").read_bytes())

        assert response.status_code == 200
        assert response.json()["outcome"] == "not_found"

    def test_a_tampered_stored_proof_has_an_invalid_signature(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        response = upload(service, deployment, deployment.image("acme-tampered").read_bytes())

        assert response.json()["outcome"] == "signature_invalid"
        assert response.json()["proof_id"] == deployment.documents["acme-tampered"].proof_id

    def test_another_tenants_image_and_its_copies_are_not_found_like_any_stranger(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        original = deployment.image("acme").read_bytes()
        stranger = upload(service, deployment, deployment.image("unrelated").read_bytes(), "globex")

        for image in (original, cdn_copy(original)):
            verdict = upload(service, deployment, image, "globex").json()

            assert verdict["outcome"] == "not_found"
            assert verdict["proof_id"] is None
            assert verdict["message"] == stranger.json()["message"]
            assert deployment.documents["acme"].proof_id not in str(verdict)

    def test_bytes_that_are_not_an_image_are_unprocessable(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        response = upload(service, deployment, b"%PDF-1.7 not a picture")

        assert response.status_code == 422
        assert response.json()["error"] == "image_rejected"

    def test_a_request_without_an_image_is_a_bad_request(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        response = service.post("/v1/verify", headers=bearer(deployment.tokens["acme"]))

        assert response.status_code == 400
        assert response.json()["error"] == "no_image"


class TestRequestSize:
    @pytest.mark.parametrize("form", [False, True], ids=["body", "form"])
    @pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
    def test_a_request_above_the_limit_is_refused_with_413(
        self, service: httpx.Client, deployment: Deployment, form: bool, chunked: bool
    ) -> None:
        oversize = b"\xff\xd8" + bytes(MAX_REQUEST_BYTES)
        if form:
            boundary = "credlink-test-boundary"
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                    f'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
                ).encode()
                + oversize
                + f"\r\n--{boundary}--\r\n".encode()
            )
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body, content_type = oversize, "image/jpeg"
        headers = {**bearer(deployment.tokens["acme"]), "Content-Type": content_type}

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 64 * 1024):
                yield body[start : start + 64 * 1024]

        try:
            response = service.post(
                "/v1/verify", content=chunks() if chunked else body, headers=headers
            )
        except httpx.WriteError:
            pytest.fail("the service closed the connection instead of answering 413")

        assert response.status_code == 413
        assert response.json()["error"] == "too_large"
        assert str(MAX_REQUEST_BYTES) in response.json()["message"]


class TestAuthentication:
    @pytest.mark.parametrize(
        "authorization",
        [
            None,
            "Bearer",
            "Basic YWNtZTpzZWNyZXQ=",
            "Bearer ck_0000000000000000.no-such-key",
            "Bearer not-even-a-token",
        ],
    )
    def test_a_request_without_a_valid_key_is_unauthorized(
        self, service: httpx.Client, deployment: Deployment, authorization: str | None
    ) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        proof_id = deployment.documents["acme"].proof_id

        for response in (
            service.post("/v1/verify", content=b"x", headers=headers),
            service.get(f"/v1/proofs/{proof_id}", headers=headers),
        ):
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json()["error"] == "unauthorized"

    def test_a_known_key_id_with_a_wrong_secret_is_unauthorized(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        key_id = deployment.tokens["acme"].split(".")[0]

        response = service.post(
            "/v1/verify", content=b"x", headers=bearer(f"{key_id}.wrong-secret")
        )

        assert response.status_code == 401

    def test_a_key_added_while_the_service_runs_works_at_once(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        token = issue_api_key(deployment.settings.verify.api_keys_file, "globex").token

        response = service.post(
            "/v1/verify", content=deployment.image("globex").read_bytes(), headers=bearer(token)
        )

        assert response.status_code == 200
        assert response.json()["outcome"] == "verified_exact"

    def test_health_keys_and_the_description_need_no_key(self, service: httpx.Client) -> None:
        assert service.get("/healthz").json() == {"status": "alive"}
        keys = service.get("/v1/keys")
        assert keys.status_code == 200
        assert keys.headers["Content-Type"].startswith("application/jwk-set+json")
        assert list(KeySet.from_json(keys.text)) == [SIGNER.key_id]
        assert service.get("/openapi.json").json()["openapi"].startswith("3.")


class TestProofs:
    def test_a_tenant_reads_its_own_proof_with_its_signature_checked(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        document = deployment.documents["acme"]

        response = service.get(
            f"/v1/proofs/{document.proof_id}", headers=bearer(deployment.tokens["acme"])
        )

        assert response.status_code == 200
        body = response.json()
        assert body["signed_proof"]["proof"] == document.to_dict()
        assert body["signed_proof"]["signature"]["key_id"] == SIGNER.key_id
        assert body["verdict"] == {
            "outcome": "valid",
            "valid": True,
            "reason": f"signed by key {SIGNER.key_id!r}",
            "key_id": SIGNER.key_id,
        }

    def test_a_tampered_proof_is_returned_with_its_bad_signature(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        document = deployment.documents["acme-tampered"]

        body = service.get(
            f"/v1/proofs/{document.proof_id}", headers=bearer(deployment.tokens["acme"])
        ).json()

        assert body["verdict"]["outcome"] == "bad_signature"
        assert body["signed_proof"]["proof"]["source_uri"] == "https://attacker.example/mine.jpg"

    def test_another_tenants_proof_is_not_found_exactly_like_a_missing_one(
        self, service: httpx.Client, deployment: Deployment
    ) -> None:
        theirs = deployment.documents["acme"].proof_id
        missing = "0" * 32

        other_tenant = service.get(
            f"/v1/proofs/{theirs}", headers=bearer(deployment.tokens["globex"])
        )
        nobody = service.get(f"/v1/proofs/{missing}", headers=bearer(deployment.tokens["globex"]))

        assert other_tenant.status_code == nobody.status_code == 404
        assert other_tenant.json()["error"] == nobody.json()["error"] == "not_found"
        assert other_tenant.json()["message"].replace(theirs, missing) == nobody.json()["message"]


def test_a_route_that_does_not_exist_answers_in_json(service: httpx.Client) -> None:
    response = service.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
